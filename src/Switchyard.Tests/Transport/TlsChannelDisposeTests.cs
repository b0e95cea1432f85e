using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;

namespace Switchyard.Tests.Transport;

/// <summary>
/// The server side of a TLS connection as the agent holds a caller's (<see cref="TlsChannel"/> over a
/// <see cref="SocketChannel"/> read directly by SslStream), on real loopback sockets.
/// </summary>
public sealed class TlsChannelDisposeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static readonly Lazy<SslStreamCertificateContext> ServerCertificate = new(() =>
    {
        using X509Certificate2 pem = X509Certificate2.CreateFromPem(TestPki.Shared.EcLeaf.CertificatePem, TestPki.Shared.EcLeaf.KeyPem(KeyFormat.Pkcs8));
        return SslStreamCertificateContext.Create(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null), null, offline: true);
    });

    /// <summary>
    /// The caller resets the connection and the agent's next flush fails: the output keeps the bytes that failed, so
    /// completing it on dispose fails once more. Dispose must still close the socket and not throw (it used to throw
    /// out of ConnectionHandler's cleanup, skipping the socket's close and the "ended" record: issue 11, defect 4).
    /// </summary>
    [Fact]
    public async Task DisposeAfterAFailedFlushClosesTheSocketWithoutThrowing()
    {
        (Socket caller, Socket accepted) = await Loopback.ConnectedPairAsync();
        using Socket callerSocket = caller;
        SocketChannel transport = SocketChannel.FromAccepted(accepted);
        var ssl = new SslStream(transport.AsStream(), leaveInnerStreamOpen: true);
        var channel = new TlsChannel(ssl, transport);
        await using (var callerTls = new SslStream(new NetworkStream(caller, ownsSocket: false), leaveInnerStreamOpen: true))
        {
            await Task.WhenAll(
                ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = ServerCertificate.Value }),
                callerTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "localhost",
                    RemoteCertificateValidationCallback = (_, _, _, _) => true,
                })).WaitAsync(Patience);
        }

        Loopback.Reset(caller);
        await FlushUntilItFailsAsync(channel).WaitAsync(Patience);

        await channel.DisposeAsync(); // must not throw

        Assert.True(accepted.SafeHandle.IsClosed, "the socket stayed open after the TLS channel was disposed");
    }

    /// <summary>Writes and flushes until the peer's reset makes a flush throw (the first one after the RST arrived).</summary>
    private static async Task FlushUntilItFailsAsync(TlsChannel channel)
    {
        byte[] chunk = new byte[1024];
        while (true)
        {
            channel.Output.Write(chunk);
            try
            {
                await channel.Output.FlushAsync();
            }
            catch (IOException)
            {
                return;
            }

            await Task.Yield();
        }
    }
}
