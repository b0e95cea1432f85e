using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Routing;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Tests.Upstream;

public sealed class UpstreamConnectorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static UpstreamConnector Connector(Func<string, InterceptSettings?>? intercepts = null) =>
        new(intercepts ?? (_ => null), NullLogger.Instance);

    private static UpstreamTlsSettings SkipVerify => new(null, [], InsecureSkipVerify: true, ServerName: null);

    /// <summary>A TLS server that answers the handshake with the given ALPN list and then holds the connection.</summary>
    private static LoopbackServer TlsServer(params SslApplicationProtocol[] alpn) => new(async socket =>
    {
        await using SslStream ssl = await TestTls.AcceptAsync(socket, alpn);
        _ = await ssl.ReadAsync(new byte[1]); // until the agent closes
    });

    /// <summary>A server that takes the TCP connection and closes it as soon as the ClientHello arrives.</summary>
    private static LoopbackServer ClosesDuringHandshake() => new(async socket =>
    {
        await socket.ReceiveAsync(new byte[16 * 1024], SocketFlags.None);
        socket.Close(0);
    });

    [Fact]
    public async Task An_app_nobody_listens_on_is_unreachable_with_the_socket_error_as_reason()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(Loopback.ClosedPort()));

        ConnectResult result = await Connector().ConnectAppAsync(context.Caller);

        Assert.Null(result.Channel);
        Assert.Equal(ConnectFailure.Unreachable, result.Failure);
        Assert.StartsWith("connection refused", result.Reason);
        Assert.Null(context.Detail); // the reason is returned, the shared context is not written
    }

    [Fact]
    public async Task A_plaintext_caller_gets_a_plaintext_app_connection()
    {
        await using var app = new LoopbackServer(socket => socket.ReceiveAsync(new byte[1], SocketFlags.None));
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(app.Port));

        ConnectResult result = await Connector().ConnectAppAsync(context.Caller);

        await using Channel channel = Assert.IsAssignableFrom<Channel>(result.Channel);
        Assert.Equal(ConnectFailure.None, result.Failure);
        Assert.False(channel.IsSecure);
    }

    [Theory]
    [InlineData("h2", AlpnProtocol.Http2)]
    [InlineData("http/1.1", AlpnProtocol.Http11)]
    public async Task A_tls_caller_is_re_encrypted_toward_the_app_offering_its_own_alpn(string callerAlpn, AlpnProtocol expected)
    {
        await using LoopbackServer app = TlsServer(SslApplicationProtocol.Http2, SslApplicationProtocol.Http11);
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(app.Port, upstreamTls: SkipVerify), tls: true, sni: "localhost",
            alpn: new SslApplicationProtocol(callerAlpn));

        ConnectResult result = await Connector().ConnectAppAsync(context.Caller).WaitAsync(Patience);

        await using Channel channel = Assert.IsAssignableFrom<Channel>(result.Channel);
        Assert.True(channel.IsSecure);
        Assert.Equal(expected, channel.NegotiatedProtocol);
    }

    [Fact]
    public async Task An_app_certificate_from_another_root_fails_with_the_verification_reason_and_is_counted()
    {
        await using LoopbackServer app = TlsServer(SslApplicationProtocol.Http11);
        var otherRoot = new UpstreamTlsSettings(null, [TestPki.Shared.OtherRoot], InsecureSkipVerify: false, ServerName: null);
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(app.Port, upstreamTls: otherRoot), tls: true, sni: "localhost");

        ConnectResult result = await Connector().ConnectAppAsync(context.Caller).WaitAsync(Patience);

        Assert.Null(result.Channel);
        Assert.Equal(ConnectFailure.TlsFailed, result.Failure);
        Assert.StartsWith("certificate not trusted", result.Reason);
        Assert.Equal(1, context.Port.Metrics.UpstreamTlsFailures.Get("untrusted_certificate"));
        Assert.Null(context.Detail);
    }

    [Fact]
    public async Task An_intercept_without_a_usable_target_says_so()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(Loopback.ClosedPort()));
        var badAddress = new InterceptRule("bad", "web", InterceptMode.Intercept, filter: null, target: "not an address");
        var tunnel = new InterceptRule("tunnel", "web", InterceptMode.Intercept, filter: null, target: null);

        ConnectResult noAddress = await Connector().ConnectTargetAsync(context.Caller, badAddress, offerH2: false);
        ConnectResult noTunnel = await Connector().ConnectTargetAsync(context.Caller, tunnel, offerH2: false);

        Assert.Equal((ConnectFailure.Unreachable, "no target address"), (noAddress.Failure, noAddress.Reason));
        Assert.Equal((ConnectFailure.Unreachable, "no developer connected through the tunnel"), (noTunnel.Failure, noTunnel.Reason));
    }

    [Theory]
    [InlineData(true, AlpnProtocol.Http2)]
    [InlineData(false, AlpnProtocol.Http11)]
    public async Task A_tls_target_is_offered_h2_only_for_http2_callers(bool offerH2, AlpnProtocol expected)
    {
        await using LoopbackServer target = TlsServer(SslApplicationProtocol.Http2, SslApplicationProtocol.Http11);
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(Loopback.ClosedPort()), tls: true, sni: "localhost");
        var rule = new InterceptRule("dev", "web", InterceptMode.Intercept, filter: null, target: $"127.0.0.1:{target.Port}");

        ConnectResult result = await Connector().ConnectTargetAsync(context.Caller, rule, offerH2).WaitAsync(Patience);

        await using Channel channel = Assert.IsAssignableFrom<Channel>(result.Channel);
        Assert.True(channel.IsSecure);
        Assert.Equal(expected, channel.NegotiatedProtocol);
    }

    [Fact]
    public async Task Delivery_plaintext_reaches_the_target_without_tls_although_the_caller_used_tls()
    {
        await using var target = new LoopbackServer(socket => socket.ReceiveAsync(new byte[1], SocketFlags.None));
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(Loopback.ClosedPort()), tls: true, sni: "localhost");
        var rule = new InterceptRule("dev", "web", InterceptMode.Intercept, filter: null, target: $"127.0.0.1:{target.Port}");
        var settings = new InterceptSettings("dev", "web", "intercept", rule.Target, FailOpen: true, rule, Plaintext: true);

        ConnectResult result = await Connector(id => id == "dev" ? settings : null).ConnectTargetAsync(context.Caller, rule, offerH2: true);

        await using Channel channel = Assert.IsAssignableFrom<Channel>(result.Channel);
        Assert.False(channel.IsSecure);
    }

    [Fact]
    public async Task A_target_that_breaks_the_handshake_fails_as_tls_with_its_reason()
    {
        await using LoopbackServer target = ClosesDuringHandshake();
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(Loopback.ClosedPort()), tls: true, sni: "localhost");
        var rule = new InterceptRule("dev", "web", InterceptMode.Intercept, filter: null, target: $"127.0.0.1:{target.Port}");

        ConnectResult result = await Connector().ConnectTargetAsync(context.Caller, rule, offerH2: false).WaitAsync(Patience);

        Assert.Null(result.Channel);
        Assert.Equal(ConnectFailure.TlsFailed, result.Failure);
        Assert.StartsWith("TLS to the target failed: ", result.Reason);
    }

    [Fact]
    public async Task Two_concurrent_failures_on_one_connection_keep_their_own_reasons()
    {
        // ConnectionContext.Detail used to carry the reason back, so concurrent HTTP/2 streams of one caller could
        // read each other's. Here the app dial is held in its TLS handshake until the target dial has failed.
        var helloArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = new LoopbackServer(async socket =>
        {
            await socket.ReceiveAsync(new byte[16 * 1024], SocketFlags.None);
            helloArrived.TrySetResult();
            await release.Task;
            socket.Close(0);
        });
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(app.Port, upstreamTls: SkipVerify), tls: true, sni: "localhost");
        var rule = new InterceptRule("dev", "web", InterceptMode.Intercept, filter: null, target: "no-port-here");
        UpstreamConnector connector = Connector();

        Task<ConnectResult> appDial = connector.ConnectAppAsync(context.Caller);
        await helloArrived.Task.WaitAsync(Patience);
        ConnectResult target = await connector.ConnectTargetAsync(context.Caller, rule, offerH2: true);
        release.SetResult();
        ConnectResult appResult = await appDial.WaitAsync(Patience);

        Assert.Equal("no target address", target.Reason);
        Assert.Equal(ConnectFailure.TlsFailed, appResult.Failure);
        Assert.NotEqual(target.Reason, appResult.Reason);
        Assert.False(string.IsNullOrEmpty(appResult.Reason));
        Assert.Null(context.Detail);
    }
}
