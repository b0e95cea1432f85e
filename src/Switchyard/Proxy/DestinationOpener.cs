using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Http2;
using Switchyard.Routing;
using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Proxy;

/// <summary>
/// Where one request (HTTP/1.x) or stream (HTTP/2) goes once routed, or why it cannot go anywhere: either an
/// HTTP/1 connection or an HTTP/2 connection of the destination, with the pool key it returns to.
/// </summary>
/// <param name="Id">The intercept id, or <see cref="DestinationOpener.App"/>.</param>
/// <param name="Failure">The message answered to the caller when nothing could be opened.</param>
internal readonly record struct Destination(string Id, Channel? Http1, Http2Connection? Http2, string PoolKey, string? Failure)
{
    public bool IsApp => Id.Length == 0;

    /// <summary>The agent's answer when nothing could be opened: 502 Bad Gateway for the app, 503 for an intercept target.</summary>
    public int FailureStatus => IsApp ? 502 : 503;

    /// <summary>How the caller's connection ends when an HTTP/1 caller gets the failure answer.</summary>
    public ConnectionEndReason FailureEnd => IsApp ? ConnectionEndReason.AppUnreachable : ConnectionEndReason.InterceptUnavailable;

    /// <summary>The label of the per-destination request counter.</summary>
    public string MetricLabel => IsApp ? "app" : Id;
}

/// <summary>
/// The one way both HTTP processors choose and open a destination after routing: the intercept's target when it is
/// reachable; when it is not, the app if the intercept fails open (counted and logged) or a 503 answer; the app's
/// failure answers 502. Pool keys and the HTTP/2-or-HTTP/1.1 decision for a destination live here too.
/// </summary>
internal sealed class DestinationOpener(UpstreamConnector upstreams, ConnectionPool http1Pool, Http2ClientPool http2Pool, Http2Translation translation, ILogger logger)
{
    /// <summary>The destination id of the app.</summary>
    public const string App = "";

    public UpstreamConnector Upstreams => upstreams;

    public ConnectionPool Http1Pool => http1Pool;

    public Http2ClientPool Http2Pool => http2Pool;

    public Http2Translation Translation => translation;

    /// <summary>
    /// Key of the HTTP/1 pool. Connections are interchangeable only for the same destination and the same TLS identity
    /// toward it (SNI and ALPN come from the caller).
    /// </summary>
    public static string Http1PoolKey(ConnectionContext context, InterceptRule? intercept) =>
        intercept is null
            ? $"app|{context.Settings.Name}|{context.AppIdentity}|{context.DownstreamIsTls}|{context.Sni}|{context.Alpn}"
            : $"target|{intercept.Id}|{intercept.Target}|{context.DownstreamIsTls}|{context.Sni}";

    /// <summary>Key of the HTTP/2 pool (and of the destinations found to speak HTTP/1.1 only).</summary>
    public static string Http2PoolKey(ConnectionContext context, InterceptRule? intercept) =>
        intercept is null
            ? $"h2|app|{context.Settings.Name}|{context.AppIdentity}|{context.DownstreamIsTls}|{context.Sni}"
            : $"h2|target|{intercept.Id}|{intercept.Target}|{context.DownstreamIsTls}|{context.Sni}";

    /// <summary>An idle pooled HTTP/1 connection to the routed destination (no new handshake), or null.</summary>
    public Destination? RentHttp1(ConnectionContext context, InterceptRule? intercept)
    {
        string key = Http1PoolKey(context, intercept);
        return http1Pool.TryRent(key) is { } pooled ? new Destination(intercept?.Id ?? App, pooled, null, key, null) : null;
    }

    /// <summary>A new HTTP/1 connection for an HTTP/1 caller: the target (offering http/1.1 only), failing open to the app.</summary>
    public Task<Destination> ConnectHttp1Async(ConnectionContext context, InterceptRule? intercept) =>
        ChooseAsync(context, intercept, static (self, context, intercept) => self.DialHttp1Async(context, intercept));

    /// <summary>
    /// The destination of an HTTP/2 stream: a pooled (or new) HTTP/2 connection, or an HTTP/1 connection to translate
    /// to when the destination speaks only HTTP/1.1; fails open like HTTP/1.
    /// </summary>
    public Task<Destination> OpenForHttp2Async(ConnectionContext context, InterceptRule? intercept) =>
        ChooseAsync(context, intercept, static (self, context, intercept) => self.OpenHttp2Async(context, intercept));

    /// <summary>
    /// An HTTP/2 connection to a destination known to speak h2c, for an HTTP/1 caller's request (no fail-open here:
    /// an unreachable target goes the HTTP/1 way, which fails open or answers 503).
    /// </summary>
    /// <returns>The connection, or null and why.</returns>
    public async Task<(Http2Connection? Connection, string? Failure)> OpenH2cAsync(ConnectionContext context, InterceptRule? intercept)
    {
        string? failure = null;
        Caller caller = context.Caller;
        Http2Connection? connection = await http2Pool.GetAsync(Http2PoolKey(context, intercept), async () =>
        {
            ConnectResult result = intercept is null
                ? await upstreams.ConnectAppAsync(caller).ConfigureAwait(false)
                : await upstreams.ConnectTargetAsync(caller, intercept, offerH2: false).ConfigureAwait(false);
            failure = result.Reason;
            return result.Channel is { } channel ? new Http2Connection(channel, isServer: false) : null;
        }).ConfigureAwait(false);
        return (connection, connection is null ? failure ?? "unreachable" : null);
    }

    /// <summary>The fail-open rule, once for both HTTP versions.</summary>
    private async Task<Destination> ChooseAsync(ConnectionContext context, InterceptRule? intercept,
        Func<DestinationOpener, ConnectionContext, InterceptRule?, Task<Destination>> open)
    {
        if (intercept is not null)
        {
            Destination target = await open(this, context, intercept).ConfigureAwait(false);
            if (target.Failure is not { } failure)
            {
                return target;
            }

            if (!intercept.FailOpen)
            {
                return target with { Failure = $"intercept {intercept.Id}: target {intercept.Target} unavailable: {failure}" };
            }

            context.Port.Metrics.FailOpen.Increment(intercept.Id);
            logger.InterceptFailedOpen(context.Id, context.Settings.Name, intercept.Id, intercept.Target ?? "-", failure);
        }

        Destination app = await open(this, context, null).ConfigureAwait(false);
        return app.Failure is { } appFailure ? app with { Failure = $"app {context.Settings.App} unavailable: {appFailure}" } : app;
    }

    private async Task<Destination> DialHttp1Async(ConnectionContext context, InterceptRule? intercept)
    {
        ConnectResult result = intercept is null
            ? await upstreams.ConnectAppAsync(context.Caller).ConfigureAwait(false)
            : await upstreams.ConnectTargetAsync(context.Caller, intercept, offerH2: false).ConfigureAwait(false);
        return new Destination(intercept?.Id ?? App, result.Channel, null, Http1PoolKey(context, intercept), result.Channel is null ? result.Reason ?? "unreachable" : null);
    }

    private async Task<Destination> OpenHttp2Async(ConnectionContext context, InterceptRule? intercept)
    {
        string id = intercept?.Id ?? App;
        string key = Http2PoolKey(context, intercept);
        if (http2Pool.Http1Only.ContainsKey(key))
        {
            if (http1Pool.TryRent(key) is { } pooled)
            {
                return new Destination(id, pooled, null, key, null);
            }

            (Channel? fresh, bool _, string? failure) = await DialForHttp2Async(context, intercept).ConfigureAwait(false);
            return new Destination(id, fresh, null, key, fresh is null ? failure ?? "unreachable" : null);
        }

        Channel? http1 = null;
        string? dialFailure = null;
        Http2Connection? h2 = await http2Pool.GetAsync(key, async () =>
        {
            (Channel? channel, bool isH2, string? failure) = await DialForHttp2Async(context, intercept).ConfigureAwait(false);
            if (channel is null)
            {
                dialFailure = failure ?? "unreachable";
                return null;
            }

            if (!isH2)
            {
                http2Pool.Http1Only[key] = true;
                http1 = channel;
                return null;
            }

            return new Http2Connection(channel, isServer: false);
        }).ConfigureAwait(false);
        if (h2 is not null)
        {
            return new Destination(id, null, h2, key, null);
        }

        if (http1 is not null)
        {
            return new Destination(id, http1, null, key, null);
        }

        if (dialFailure is null && http2Pool.Http1Only.ContainsKey(key))
        {
            // Another stream's dial found out the destination speaks HTTP/1.1 only.
            return await OpenHttp2Async(context, intercept).ConfigureAwait(false);
        }

        return new Destination(id, null, null, key, dialFailure ?? "unreachable");
    }

    /// <summary>Dials for an HTTP/2 caller (h2 offered first in ALPN) and tells whether the destination speaks HTTP/2.</summary>
    private async Task<(Channel? Channel, bool H2, string? Failure)> DialForHttp2Async(ConnectionContext context, InterceptRule? intercept)
    {
        ConnectResult result = intercept is null
            ? await upstreams.ConnectAppAsync(context.Caller).ConfigureAwait(false)
            : await upstreams.ConnectTargetAsync(context.Caller, intercept, offerH2: true).ConfigureAwait(false);
        if (result.Channel is not { } channel)
        {
            return (null, false, result.Reason);
        }

        // Over TLS, ALPN says it; in plaintext the app's detected protocol or the target's answer to the h2c preface.
        bool h2 = channel.IsSecure
            ? channel.NegotiatedProtocol == AlpnProtocol.Http2
            : intercept is null
                ? context.Port.Detector.Protocol.Http == Detection.HttpDetection.Http2
                : await translation.SpeaksH2cAsync(intercept).ConfigureAwait(false);
        return (channel, h2, null);
    }
}
