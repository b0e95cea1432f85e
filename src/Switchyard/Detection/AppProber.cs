using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Switchyard.Transport;

namespace Switchyard.Detection;

public readonly record struct ProbeOutcome(bool Succeeded, TlsDetection Tls, HttpDetection Http, string Result, string? Error, long ElapsedMs);

/// <summary>
/// Rule 4 of the detection order: ask the app itself. A TLS handshake offering ALPN h2,http/1.1 tells TLS and,
/// through ALPN, h2; a plaintext app gets the HTTP/2 connection preface and answers with SETTINGS if it
/// speaks h2c. The whole probe is bounded by the port's probeTimeout.
/// </summary>
public static class AppProber
{
    // RFC 9113 §3.4: the client connection preface, followed by a SETTINGS frame (empty payload).
    private static readonly byte[] H2Preface = [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0, 0, 0, 0x04, 0, 0, 0, 0, 0];

    private static readonly List<SslApplicationProtocol> ProbeAlpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    /// <param name="serverName">SNI for the TLS probe (upstreamTls.serverName); the host when null.</param>
    public static async Task<ProbeOutcome> ProbeAsync(string host, int port, string? serverName, TlsDetection knownTls, TimeSpan timeout, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        cts.CancelAfter(timeout);
        try
        {
            if (knownTls != TlsDetection.Plaintext)
            {
                (bool isTls, HttpDetection http) = await ProbeTlsAsync(host, port, serverName ?? host, timeout, cts.Token).ConfigureAwait(false);
                if (isTls)
                {
                    string result = http switch { HttpDetection.Http2 => "tls_h2", HttpDetection.Http1 => "tls_http1", _ => "tls" };
                    return new ProbeOutcome(true, TlsDetection.Tls, http, result, null, clock.ElapsedMilliseconds);
                }

                if (knownTls == TlsDetection.Tls)
                {
                    return new ProbeOutcome(false, TlsDetection.Unknown, HttpDetection.Unknown, "failed", "configured as TLS, but the app did not complete a TLS handshake", clock.ElapsedMilliseconds);
                }
            }

            bool h2c = await ProbeH2cAsync(host, port, timeout, cts.Token).ConfigureAwait(false);
            return new ProbeOutcome(true, TlsDetection.Plaintext, h2c ? HttpDetection.Http2 : HttpDetection.Http1, h2c ? "h2c" : "plaintext", null, clock.ElapsedMilliseconds);
        }
        catch (Exception e) when (e is TimeoutException || ConnectionErrors.IsExpected(e))
        {
            string reason = e switch
            {
                OperationCanceledException when !cancellation.IsCancellationRequested => $"no answer within {timeout.TotalMilliseconds:0} ms",
                SocketException s => Diagnostics.ErrorText.Socket(s.SocketErrorCode),
                _ => Diagnostics.ErrorText.Describe(e),
            };
            return new ProbeOutcome(false, TlsDetection.Unknown, HttpDetection.Unknown, "failed", reason, clock.ElapsedMilliseconds);
        }
    }

    private static async Task<(bool IsTls, HttpDetection Http)> ProbeTlsAsync(string host, int port, string serverName, TimeSpan timeout, CancellationToken cancellation)
    {
        await using SocketChannel channel = await SocketChannel.ConnectAsync(host, port, timeout, cancellation).ConfigureAwait(false);
        await using var ssl = new SslStream(channel.AsStream(), leaveInnerStreamOpen: true);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            ApplicationProtocols = ProbeAlpn,
            RemoteCertificateValidationCallback = static (_, _, _, _) => true, // the probe asks "TLS?", not "trusted?"
        };
        try
        {
            await ssl.AuthenticateAsClientAsync(options, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            return (false, HttpDetection.Unknown); // the app answered, but not with TLS
        }

        HttpDetection http = ssl.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2 ? HttpDetection.Http2
            : ssl.NegotiatedApplicationProtocol == SslApplicationProtocol.Http11 ? HttpDetection.Http1
            : HttpDetection.Unknown;
        return (true, http);
    }

    private static async Task<bool> ProbeH2cAsync(string host, int port, TimeSpan timeout, CancellationToken cancellation)
    {
        await using SocketChannel channel = await SocketChannel.ConnectAsync(host, port, timeout, cancellation).ConfigureAwait(false);
        await channel.Output.WriteAsync(H2Preface, cancellation).ConfigureAwait(false);
        while (true)
        {
            System.IO.Pipelines.ReadResult read = await channel.Input.ReadAsync(cancellation).ConfigureAwait(false);
            System.Buffers.ReadOnlySequence<byte> buffer = read.Buffer;
            if (buffer.Length >= 9)
            {
                // RFC 9113 §3.4: "the server connection preface consists of a potentially empty SETTINGS frame
                // that MUST be the first frame the server sends". Frame header: length(24) type(8) flags(8) stream(32).
                Span<byte> header = stackalloc byte[9];
                System.Buffers.BuffersExtensions.CopyTo(buffer.Slice(0, 9), header);
                bool settings = header[3] == 0x04 && (BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7fffffff) == 0;
                channel.Input.AdvanceTo(buffer.End);
                return settings;
            }

            channel.Input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                // Some bytes, then close: an HTTP/1 server refusing the preface. Nothing at all (to the TLS
                // probe before, and now to this one) tells nothing: the probe fails and is tried again later.
                return buffer.IsEmpty ? throw new IOException("the app closed the connection without answering") : false;
            }
        }
    }
}
