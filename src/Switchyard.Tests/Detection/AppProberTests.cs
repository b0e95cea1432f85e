using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Switchyard.Detection;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Detection;

public sealed class AppProberTests
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    // RFC 9113 §3.4: the client connection preface.
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    // An empty SETTINGS frame: length 0, type 0x4, flags 0, stream 0 (RFC 9113 §6.5).
    private static readonly byte[] EmptySettings = [0, 0, 0, 0x04, 0, 0, 0, 0, 0];

    // GOAWAY (type 0x7) on stream 0, last stream 0, PROTOCOL_ERROR (0x1): what an h2c server says to a non-preface.
    private static readonly byte[] GoAwayProtocolError = [0, 0, 8, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    private static readonly Lazy<SslStreamCertificateContext> ServerCertificate = new(() =>
    {
        using X509Certificate2 pem = X509Certificate2.CreateFromPem(TestPki.Shared.EcLeaf.CertificatePem, TestPki.Shared.EcLeaf.KeyPem(KeyFormat.Pkcs8));
        return SslStreamCertificateContext.Create(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null), null, offline: true);
    });

    [Theory]
    [InlineData("h2", HttpDetection.Http2, "tls_h2")]
    [InlineData("h2,http/1.1", HttpDetection.Http2, "tls_h2")]
    [InlineData("http/1.1", HttpDetection.Http1, "tls_http1")]
    [InlineData("", HttpDetection.Unknown, "tls")]
    public async Task A_tls_app_is_detected_with_the_protocol_its_alpn_picks(string serverAlpn, HttpDetection http, string result)
    {
        List<SslApplicationProtocol> protocols = [.. serverAlpn.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => new SslApplicationProtocol(p))];
        await using var app = new LoopbackServer(socket => ServeTlsAsync(socket, protocols));

        ProbeOutcome outcome = await ProbeAsync(app.Port, TlsDetection.Unknown, ProbeTimeout);

        Assert.Equal(new ProbeOutcome(true, TlsDetection.Tls, http, result, null, outcome.ElapsedMs), outcome);
    }

    [Fact]
    public async Task A_tls_app_known_to_be_tls_is_probed_for_alpn_only()
    {
        await using var app = new LoopbackServer(socket => ServeTlsAsync(socket, [SslApplicationProtocol.Http2]));

        ProbeOutcome outcome = await ProbeAsync(app.Port, TlsDetection.Tls, ProbeTimeout);

        Assert.True(outcome.Succeeded);
        Assert.Equal("tls_h2", outcome.Result);
        Assert.Equal(1, app.ConnectionCount);
    }

    [Fact]
    public async Task A_plaintext_app_that_answers_the_preface_with_settings_is_h2c()
    {
        var prefaces = new List<bool>();
        await using var app = new LoopbackServer(socket => ServeH2cAsync(socket, prefaces));

        ProbeOutcome outcome = await ProbeAsync(app.Port, TlsDetection.Unknown, ProbeTimeout);

        Assert.Equal(new ProbeOutcome(true, TlsDetection.Plaintext, HttpDetection.Http2, "h2c", null, outcome.ElapsedMs), outcome);
        lock (prefaces)
        {
            // first a TLS ClientHello (answered with GOAWAY), then the h2 preface
            Assert.Equal([false, true], prefaces);
        }
    }

    [Fact]
    public async Task A_port_known_to_be_plaintext_gets_the_h2c_probe_only()
    {
        var prefaces = new List<bool>();
        await using var app = new LoopbackServer(socket => ServeH2cAsync(socket, prefaces));

        ProbeOutcome outcome = await ProbeAsync(app.Port, TlsDetection.Plaintext, ProbeTimeout);

        Assert.Equal("h2c", outcome.Result);
        Assert.Equal(1, app.ConnectionCount);
        lock (prefaces)
        {
            Assert.Equal([true], prefaces);
        }
    }

    [Fact]
    public async Task A_plaintext_http1_app_that_answers_400_and_closes_is_plaintext_http1()
    {
        var requests = new List<string>();
        await using var app = new LoopbackServer(socket => ServeHttp1BadRequestAsync(socket, requests));

        ProbeOutcome outcome = await ProbeAsync(app.Port, TlsDetection.Unknown, ProbeTimeout);

        Assert.Equal(new ProbeOutcome(true, TlsDetection.Plaintext, HttpDetection.Http1, "plaintext", null, outcome.ElapsedMs), outcome);
        lock (requests)
        {
            Assert.Equal(2, requests.Count);
            Assert.StartsWith("PRI * HTTP/2.0\r\n", requests[1], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_plaintext_app_on_a_port_configured_as_tls_fails_the_probe()
    {
        await using var app = new LoopbackServer(socket => ServeHttp1BadRequestAsync(socket, []));

        ProbeOutcome outcome = await ProbeAsync(app.Port, TlsDetection.Tls, ProbeTimeout);

        Assert.False(outcome.Succeeded);
        Assert.Equal("failed", outcome.Result);
        Assert.Equal(TlsDetection.Unknown, outcome.Tls);
        Assert.Contains("did not complete a TLS handshake", outcome.Error, StringComparison.Ordinal);
        Assert.Equal(1, app.ConnectionCount);
    }

    [Fact]
    public async Task An_app_that_closes_every_connection_without_a_byte_fails_the_probe_so_it_is_tried_again()
    {
        await using var app = new LoopbackServer(socket =>
        {
            socket.Close();
            return Task.CompletedTask;
        });

        ProbeOutcome outcome = await ProbeAsync(app.Port, TlsDetection.Unknown, ProbeTimeout);

        Assert.False(outcome.Succeeded);
        Assert.Equal("failed", outcome.Result);
        Assert.Equal((TlsDetection.Unknown, HttpDetection.Unknown), (outcome.Tls, outcome.Http));
        // A close with our preface unread is a reset on Linux; either way the app said nothing.
        Assert.Matches("closed the connection without answering|reset", outcome.Error!);
        Assert.Equal(2, app.ConnectionCount); // the TLS probe, then the h2c probe
    }

    [Fact]
    public async Task A_closed_port_fails_the_probe_with_the_socket_error()
    {
        int port = Loopback.ClosedPort();

        ProbeOutcome outcome = await ProbeAsync(port, TlsDetection.Unknown, ProbeTimeout);

        Assert.False(outcome.Succeeded);
        Assert.Equal("failed", outcome.Result);
        Assert.Equal((TlsDetection.Unknown, HttpDetection.Unknown), (outcome.Tls, outcome.Http));
        Assert.StartsWith("connection refused", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_app_fails_the_h2c_probe_within_the_timeout()
    {
        TimeSpan timeout = TimeSpan.FromMilliseconds(300);
        await using var app = new LoopbackServer(ReadUntilClosedAsync);
        var clock = Stopwatch.StartNew();

        ProbeOutcome outcome = await ProbeAsync(app.Port, TlsDetection.Plaintext, timeout);

        clock.Stop();
        Assert.False(outcome.Succeeded);
        Assert.Equal("failed", outcome.Result);
        Assert.Equal("no answer within 300 ms", outcome.Error);
        Assert.InRange(clock.ElapsedMilliseconds, 250, 2_500);
        Assert.InRange(outcome.ElapsedMs, 250, 2_500);
    }

    /// <summary>
    /// The TLS half of the probe against an app that never answers the ClientHello (a Redis, a server waiting for a
    /// newline, an app still starting). The failure mode to rule out is the death of the process, so this runs the
    /// agent itself rather than the prober in the test host: the first connection starts the probe, and when
    /// probeTimeout cancels the handshake the agent must log a failed probe and keep serving. (Over
    /// Pipelines.Sockets.Unofficial's StreamConnection stream, the cancelled SslStream read surfaced as an unhandled
    /// OperationCanceledException on a thread-pool thread and the agent aborted with exit code 134.)
    /// </summary>
    [Fact]
    public async Task A_silent_app_probed_over_tls_fails_the_probe_without_taking_the_agent_down()
    {
        await using var app = new LoopbackServer(ReadUntilClosedAsync);
        using var dir = new TempDirectory();
        int listen = Loopback.ClosedPort();
        int admin = Loopback.ClosedPort();
        string config = dir.Write("config.json", $$"""
            { "version": 1,
              "admin": { "listen": "127.0.0.1:{{admin}}" },
              "ports": [ { "name": "web", "listen": "127.0.0.1:{{listen}}", "app": "127.0.0.1:{{app.Port}}", "probeTimeout": "300ms" } ] }
            """);
        await using AgentProcess agent = AgentProcess.Start(config);
        using Socket caller = await agent.ConnectAsync(listen, TimeSpan.FromSeconds(20)); // the first connection starts the probe

        bool exited = await agent.ExitsWithinAsync(TimeSpan.FromSeconds(3));

        Assert.False(exited, $"the agent exited (code {(exited ? agent.ExitCode : 0)}) when the probe timed out:\n{agent.Output}");
        Assert.Contains("no answer within 300 ms", agent.Output, StringComparison.Ordinal);
    }

    private static Task<ProbeOutcome> ProbeAsync(int port, TlsDetection knownTls, TimeSpan timeout) =>
        AppProber.ProbeAsync("127.0.0.1", port, serverName: null, knownTls, timeout, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

    private static async Task ServeTlsAsync(Socket socket, List<SslApplicationProtocol> alpn)
    {
        await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        var options = new SslServerAuthenticationOptions { ServerCertificateContext = ServerCertificate.Value };
        if (alpn.Count > 0)
        {
            options.ApplicationProtocols = alpn;
        }

        await ssl.AuthenticateAsServerAsync(options);
        await ReadUntilClosedAsync(ssl);
    }

    private static async Task ServeH2cAsync(Socket socket, List<bool> prefaces)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        byte[] first = new byte[Preface.Length];
        await stream.ReadExactlyAsync(first);
        bool isPreface = first.AsSpan().SequenceEqual(Preface);
        lock (prefaces)
        {
            prefaces.Add(isPreface);
        }

        if (!isPreface)
        {
            await stream.WriteAsync(GoAwayProtocolError);
            await LingeringCloseAsync(socket, stream);
            return;
        }

        await stream.WriteAsync(EmptySettings);
        await ReadUntilClosedAsync(stream);
    }

    private static async Task ServeHttp1BadRequestAsync(Socket socket, List<string> requests)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        byte[] buffer = new byte[4096];
        int n = await stream.ReadAsync(buffer);
        lock (requests)
        {
            requests.Add(Encoding.Latin1.GetString(buffer, 0, n));
        }

        await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request"u8.ToArray());
        await LingeringCloseAsync(socket, stream);
    }

    /// <summary>
    /// Closes the way nginx and Go's net/http do after an error response: FIN first, then read and discard what the
    /// peer still sends until it closes, so that unread input never turns the close into a reset.
    /// </summary>
    private static async Task LingeringCloseAsync(Socket socket, Stream stream)
    {
        socket.Shutdown(SocketShutdown.Send);
        await ReadUntilClosedAsync(stream);
    }

    private static async Task ReadUntilClosedAsync(Socket socket)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await ReadUntilClosedAsync(stream);
    }

    private static async Task ReadUntilClosedAsync(Stream stream)
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or AuthenticationException or ObjectDisposedException)
        {
            // the prober hung up hard: that is its business
        }
    }
}
