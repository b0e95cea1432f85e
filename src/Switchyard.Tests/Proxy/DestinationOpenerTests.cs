using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Routing;
using Switchyard.Tests.TestSupport;
using Switchyard.Upstream;

namespace Switchyard.Tests.Proxy;

public sealed class DestinationOpenerTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    /// <summary>A plaintext HTTP/1.1 app that holds each connection until the agent closes it.</summary>
    private readonly LoopbackServer _app = new(socket => socket.ReceiveAsync(new byte[1], SocketFlags.None));

    private readonly ConnectionPool _http1Pool = new();
    private readonly Http2ClientPool _http2Pool = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private DestinationOpener Opener(Func<string, InterceptSettings?>? intercepts = null)
    {
        intercepts ??= _ => null;
        return new DestinationOpener(new UpstreamConnector(intercepts, NullLogger.Instance), _http1Pool, _http2Pool, new Http2Translation(intercepts), NullLogger.Instance);
    }

    private static InterceptRule Intercept(string id, string? target, bool failOpen) =>
        new(id, "web", InterceptMode.Intercept, filter: null, target, failOpen);

    [Fact]
    public async Task An_unreachable_target_fails_open_to_the_app_and_is_counted()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(_app.Port));
        InterceptRule rule = Intercept("dev", $"127.0.0.1:{Loopback.ClosedPort()}", failOpen: true);

        Destination destination = await Opener().ConnectHttp1Async(context, rule);

        await using var channel = destination.Http1;
        Assert.Null(destination.Failure);
        Assert.True(destination.IsApp);
        Assert.NotNull(channel);
        Assert.Equal("app", destination.MetricLabel);
        Assert.Equal(DestinationOpener.Http1PoolKey(context, null), destination.PoolKey); // goes back to the app's pool
        Assert.Equal(1, context.Port.Metrics.FailOpen.Get("dev"));
    }

    [Fact]
    public async Task An_unreachable_target_that_does_not_fail_open_is_a_503_naming_the_target()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(_app.Port));
        int closed = Loopback.ClosedPort();
        InterceptRule rule = Intercept("dev", $"127.0.0.1:{closed}", failOpen: false);

        Destination destination = await Opener().ConnectHttp1Async(context, rule);

        Assert.Null(destination.Http1);
        Assert.Equal(503, destination.FailureStatus);
        Assert.Equal(ConnectionEndReason.InterceptUnavailable, destination.FailureEnd);
        Assert.StartsWith($"intercept dev: target 127.0.0.1:{closed} unavailable: connection refused", destination.Failure);
        Assert.Equal(0, context.Port.Metrics.FailOpen.Get("dev"));
    }

    [Fact]
    public async Task An_unreachable_app_is_a_502_naming_the_app()
    {
        int closed = Loopback.ClosedPort();
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(closed));

        Destination destination = await Opener().ConnectHttp1Async(context, null);

        Assert.Equal(502, destination.FailureStatus);
        Assert.Equal(ConnectionEndReason.AppUnreachable, destination.FailureEnd);
        Assert.StartsWith($"app 127.0.0.1:{closed} unavailable: connection refused", destination.Failure);
        Assert.Null(context.Detail);
    }

    [Fact]
    public async Task A_reachable_target_is_the_destination()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(Loopback.ClosedPort()));
        InterceptRule rule = Intercept("dev", $"127.0.0.1:{_app.Port}", failOpen: false);

        Destination destination = await Opener().ConnectHttp1Async(context, rule);

        await using var channel = destination.Http1;
        Assert.Null(destination.Failure);
        Assert.Equal("dev", destination.Id);
        Assert.Equal("dev", destination.MetricLabel);
        Assert.Equal(DestinationOpener.Http1PoolKey(context, rule), destination.PoolKey);
    }

    [Fact]
    public async Task A_returned_connection_is_rented_again_for_the_same_destination_only()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(_app.Port));
        DestinationOpener opener = Opener();
        Destination first = await opener.ConnectHttp1Async(context, null);
        _http1Pool.Return(first.PoolKey, first.Http1!);

        Assert.Null(opener.RentHttp1(context, Intercept("dev", "127.0.0.1:1", failOpen: true)));
        Destination? again = opener.RentHttp1(context, null);

        Assert.NotNull(again);
        Assert.Same(first.Http1, again.Value.Http1);
        Assert.True(again.Value.IsApp);
        await first.Http1!.DisposeAsync();
    }

    [Fact]
    public void Pool_keys_separate_destinations_tls_identities_and_http_versions()
    {
        PortSettings port = TestContexts.Port(8080);
        ConnectionContext plain = TestContexts.Caller(port);
        ConnectionContext tlsA = TestContexts.Caller(port, tls: true, sni: "a.local", alpn: SslApplicationProtocol.Http11);
        ConnectionContext tlsB = TestContexts.Caller(port, tls: true, sni: "b.local", alpn: SslApplicationProtocol.Http11);
        InterceptRule rule = Intercept("dev", "127.0.0.1:9000", failOpen: true);

        string[] keys =
        [
            DestinationOpener.Http1PoolKey(plain, null), DestinationOpener.Http1PoolKey(tlsA, null), DestinationOpener.Http1PoolKey(tlsB, null),
            DestinationOpener.Http1PoolKey(plain, rule), DestinationOpener.Http1PoolKey(tlsA, rule),
            DestinationOpener.Http2PoolKey(plain, null), DestinationOpener.Http2PoolKey(tlsA, null), DestinationOpener.Http2PoolKey(plain, rule),
        ];

        Assert.Equal(keys.Length, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(DestinationOpener.Http1PoolKey(tlsA, rule), DestinationOpener.Http1PoolKey(TestContexts.Caller(port, tls: true, sni: "a.local"), rule));
    }

    [Fact]
    public async Task An_http2_stream_toward_a_plaintext_http1_app_gets_a_connection_to_translate_to_and_the_app_is_remembered_as_http1_only()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(_app.Port, HttpMode.Http1));
        DestinationOpener opener = Opener();

        Destination first = await opener.OpenForHttp2Async(context, null);

        Assert.Null(first.Failure);
        Assert.Null(first.Http2);
        Assert.NotNull(first.Http1);
        Assert.Equal(DestinationOpener.Http2PoolKey(context, null), first.PoolKey);
        Assert.True(_http2Pool.Http1Only.ContainsKey(first.PoolKey));

        // The next stream takes the pooled HTTP/1.1 connection instead of dialing.
        _http1Pool.Return(first.PoolKey, first.Http1!);
        Destination second = await opener.OpenForHttp2Async(context, null);
        Assert.Same(first.Http1, second.Http1);
        Assert.Equal(1, _app.ConnectionCount);
        await first.Http1!.DisposeAsync();
    }

    [Fact]
    public async Task An_http2_stream_fails_open_like_an_http1_request()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(_app.Port, HttpMode.Http1));
        InterceptRule rule = Intercept("dev", "no-port-here", failOpen: true);

        Destination destination = await Opener().OpenForHttp2Async(context, rule);

        await using var channel = destination.Http1;
        Assert.True(destination.IsApp);
        Assert.NotNull(channel);
        Assert.Equal(1, context.Port.Metrics.FailOpen.Get("dev"));
    }

    [Fact]
    public async Task Concurrent_streams_of_one_connection_each_get_their_own_failure()
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(Loopback.ClosedPort(), HttpMode.Http1));
        DestinationOpener opener = Opener();
        int closed = Loopback.ClosedPort();

        Destination[] results = await Task.WhenAll(
            opener.OpenForHttp2Async(context, Intercept("a", "no-port-here", failOpen: false)),
            opener.OpenForHttp2Async(context, Intercept("b", $"127.0.0.1:{closed}", failOpen: false)),
            opener.OpenForHttp2Async(context, null)).WaitAsync(Patience);

        Assert.Equal("intercept a: target no-port-here unavailable: no target address", results[0].Failure);
        Assert.StartsWith($"intercept b: target 127.0.0.1:{closed} unavailable: connection refused", results[1].Failure);
        Assert.StartsWith($"app {context.Settings.App} unavailable: connection refused", results[2].Failure);
        Assert.Equal([503, 503, 502], results.Select(r => r.FailureStatus));
        Assert.Null(context.Detail);
    }
}
