using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Switchyard.Admin;
using Switchyard.Tls;
using Switchyard.Transport;

namespace Switchyard.Demo;

/// <summary>
/// The demo's stand-in for a real workload: a TLS HTTP/1.1 server that requires a client certificate (an mTLS
/// app) and answers every request with its own name plus the method, path, headers and client certificate it saw.
/// </summary>
/// <param name="clientRoots">When given, a client certificate chaining to these roots is required (an mTLS app).</param>
internal sealed class DemoApp(string name, CertificateMaterial certificate, X509Certificate2Collection? clientRoots) : IDisposable
{
    private Listener? _listener;

    public IPEndPoint LocalEndPoint => _listener!.LocalEndPoint;

    public void Start(IPEndPoint endPoint)
    {
        _listener = Listener.Bind(endPoint, backlog: 128);
        _ = _listener.AcceptLoopAsync(ServeAsync);
    }

    private async Task ServeAsync(SocketChannel socket)
    {
        await using (socket.ConfigureAwait(false))
        {
            var ssl = new SslStream(socket.AsStream(), leaveInnerStreamOpen: true);
            await using var channel = new TlsChannel(ssl, socket);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = certificate.Context,
                    ApplicationProtocols = [SslApplicationProtocol.Http11],
                    ClientCertificateRequired = clientRoots is not null,
                    CertificateChainPolicy = TlsOptions.ChainPolicy(clientRoots),
                    RemoteCertificateValidationCallback = clientRoots is null ? null : static (_, cert, _, errors) => cert is not null && errors == SslPolicyErrors.None,
                }, timeout.Token).ConfigureAwait(false);
                await ServeRequestsAsync(channel, ssl.RemoteCertificate?.Subject ?? "none").ConfigureAwait(false);
            }
            catch (Exception e) when (e is FormatException || ConnectionErrors.IsHandshakeFailure(e))
            {
                // a demo app: a failed handshake or a broken request just ends that connection
            }
        }
    }

    private async Task ServeRequestsAsync(Channel channel, string clientSubject)
    {
        while (true)
        {
            ReadResult read = await channel.Input.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            if (!AdminRequest.TryRead(ref buffer, out AdminRequest? request))
            {
                channel.Input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }

                continue;
            }

            channel.Input.AdvanceTo(buffer.Start);
            var body = new StringBuilder();
            body.Append(name).Append(": ").Append(request!.Method).Append(' ').Append(request.Target).Append('\n');
            body.Append("client certificate: ").Append(clientSubject).Append('\n');
            foreach ((string header, string value) in request.Headers)
            {
                body.Append(header).Append(": ").Append(value).Append('\n');
            }

            byte[] payload = Encoding.UTF8.GetBytes(body.ToString());
            channel.Output.Write(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {payload.Length}\r\nX-Served-By: {name}\r\n\r\n"));
            channel.Output.Write(payload);
            await channel.Output.FlushAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => _listener?.Dispose();
}
