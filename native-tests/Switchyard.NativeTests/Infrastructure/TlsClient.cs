using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>Plain and TLS client connections from the test process.</summary>
public static class TlsClient
{
    /// <summary>A connected TCP socket to 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<Socket> ConnectAsync(int port, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>TLS over <paramref name="socket"/> for "localhost", verifying the server against <paramref name="ca"/>.</summary>
    public static async Task<SslStream> AuthenticateAsync(
        Socket socket,
        X509Certificate2 ca,
        string[]? alpn = null,
        CancellationToken cancellationToken = default)
    {
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None && TestPki.ChainsTo(cert, ca),
            ApplicationProtocols = alpn?.Select(a => new SslApplicationProtocol(a)).ToList(),
        }, cts.Token);
        return tls;
    }
}
