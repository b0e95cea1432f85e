using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Text;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Http1;
using Switchyard.Http2;
using Switchyard.Http2.Hpack;
using Switchyard.Routing;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>
/// HTTP/2 on the terminate path: the caller's connection is served by an <see cref="Http2Connection"/> (server
/// role) and every stream is routed on its own — intercept target or app, wiretap copies — then relayed to a
/// pooled HTTP/2 connection of that destination (headers re-encoded by that connection's HPACK encoder, stream ids
/// its own), or translated to HTTP/1.1 when the destination speaks only that.
/// </summary>
internal sealed class Http2Processor(RouteTableHolder routes, Upstream.Wiretaps wiretaps, Upstream.ConnectionPool http1Pool, Upstream.Http2ClientPool http2Pool,
    Http2Translation translation, ILogger logger) : IConnectionProcessor
{
    private const string AppDestination = "";

    public async Task<ConnectionEndReason> ProcessAsync(ConnectionContext context, Channel downstream, UpstreamConnector upstreams)
    {
        var streams = new List<Task>();
        Http2Connection? connection = null;
        var guard = new Http2AbuseGuard();
        connection = new Http2Connection(downstream, isServer: true, Http2Limits.Default, guard, (stream, headers) =>
        {
            bool ended = stream.RemoteEnded;
            Task task = ProxyStreamAsync(context, connection!, stream, headers, ended, upstreams);
            lock (streams)
            {
                streams.RemoveAll(static t => t.IsCompleted);
                streams.Add(task);
            }
        });
        context.Http2 = connection;
        Task run = connection.RunAsync();
        await run.ConfigureAwait(false);
        Task[] pending;
        lock (streams)
        {
            pending = [.. streams];
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        context.Http2 = null;
        if (connection.AbuseReason is { } abuse)
        {
            context.Port.Metrics.Http2Abuse.Increment(abuse);
            context.Detail = connection.Failure;
            logger.Http2ConnectionError(context.Id, context.Settings.Name, connection.GoAwaySent?.ToString() ?? "-", connection.Failure ?? "-");
            return ConnectionEndReason.ProtocolError;
        }

        if (connection.GoAwaySent is { } code)
        {
            context.Detail = connection.Failure;
            context.Port.Metrics.Http2Errors.Increment(code.ToString());
            logger.Http2ConnectionError(context.Id, context.Settings.Name, code.ToString(), connection.Failure ?? "-");
            return ConnectionEndReason.ProtocolError;
        }

        return ConnectionEndReason.Completed;
    }

    private async Task ProxyStreamAsync(ConnectionContext context, Http2Connection down, Http2Stream stream, Http2HeaderList request, bool requestEnded, UpstreamConnector upstreams)
    {
        // Runs on the read loop until its first await (routing, pooled connection, HEADERS upstream): no thread hop.
        try
        {
            var view = new Http2RequestView(request);
            RouteDecision decision = routes.Snapshot.Route(view, context.Settings.Name);
            InterceptRule? intercept = decision.Intercept;
            WiretapCopier? copier = decision.Wiretaps.Count > 0 ? new WiretapCopier(view.Method, request, context) : null;

            for (int attempt = 0; ; attempt++)
            {
                Destination destination = await OpenAsync(context, intercept, upstreams).ConfigureAwait(false);
                if (destination.Failure is not null)
                {
                    context.Detail = destination.Failure;
                    await RespondErrorAsync(down, stream, destination.Id == AppDestination ? 502 : 503, destination.Failure).ConfigureAwait(false);
                    return;
                }

                context.Port.Metrics.Requests.Increment(destination.Id == AppDestination ? "app" : destination.Id);
                try
                {
                    long started = System.Diagnostics.Stopwatch.GetTimestamp();
                    int status = destination.Http2 is not null
                        ? await RelayHttp2Async(down, stream, request, requestEnded, destination.Http2, context, copier).ConfigureAwait(false)
                        : await translation.RelayHttp1Async(down, stream, request, requestEnded, destination.Http1!, destination.PoolKey, http1Pool, context, copier).ConfigureAwait(false);
                    if (intercept is { Target: null } && destination.Id == intercept.Id)
                    {
                        upstreams.Tunnels?.Delivered(intercept.Id, view.Method, request.GetString(":path"u8) ?? "/", status,
                            (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }

                    break;
                }
                catch (Http2StreamResetException e) when (e.Retryable && requestEnded && attempt == 0 && stream.ResetError is null)
                {
                    // The destination went away before it processed the stream (GOAWAY below it, REFUSED_STREAM):
                    // a request without a body is sent again on another connection.
                    logger.Http2StreamRetried(context.Id, context.Settings.Name, stream.Id, e.Message);
                }
            }

            copier?.Offer(wiretaps, decision.Wiretaps);
        }
        catch (Exception e) when (e is Http2StreamResetException or IOException or Http1ParseException or InvalidOperationException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // One stream failed (caller or destination reset it, the destination broke): the others go on.
            Http2ErrorCode code = e is Http2StreamResetException r && stream.ResetError is null ? r.Code : Http2ErrorCode.Cancel;
            await down.ResetAsync(stream, code == Http2ErrorCode.NoError ? Http2ErrorCode.Cancel : code).ConfigureAwait(false);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.Http2StreamFailed(context.Id, context.Settings.Name, stream.Id, e.Message);
            }
        }
        finally
        {
            request.Dispose();
            stream.EndExchange(); // the stream's concurrency slot is free once its frames are done too
        }
    }

    private readonly record struct Destination(string Id, Http2Connection? Http2, Channel? Http1, string PoolKey, string? Failure);

    internal static string PoolKey(ConnectionContext context, InterceptRule? intercept) =>
        intercept is null
            ? $"h2|app|{context.Settings.Name}|{context.AppIdentity}|{context.DownstreamIsTls}|{context.Sni}"
            : $"h2|target|{intercept.Id}|{intercept.Target}|{context.DownstreamIsTls}|{context.Sni}";

    /// <summary>The chosen destination's pooled HTTP/2 connection, or an HTTP/1 connection to translate to; fails open like HTTP/1.</summary>
    private async Task<Destination> OpenAsync(ConnectionContext context, InterceptRule? intercept, UpstreamConnector upstreams)
    {
        if (intercept is not null)
        {
            string key = PoolKey(context, intercept);
            (Http2Connection? h2, Channel? h1, string? failure) = await GetAsync(key, () => DialTargetAsync(context, intercept, upstreams)).ConfigureAwait(false);
            if (failure is null)
            {
                return new Destination(intercept.Id, h2, h1, key, null);
            }

            if (!intercept.FailOpen)
            {
                return new Destination(intercept.Id, null, null, key, $"intercept {intercept.Id}: target {intercept.Target} unavailable: {failure}");
            }

            context.Port.Metrics.FailOpen.Increment(intercept.Id);
            logger.InterceptFailedOpen(context.Id, context.Settings.Name, intercept.Id, intercept.Target ?? "-", failure);
        }

        string appKey = PoolKey(context, null);
        (Http2Connection? app, Channel? app1, string? appFailure) = await GetAsync(appKey, () => DialAppAsync(context, upstreams)).ConfigureAwait(false);
        return appFailure is null
            ? new Destination(AppDestination, app, app1, appKey, null)
            : new Destination(AppDestination, null, null, appKey, $"app {context.Settings.App} unavailable: {appFailure}");
    }

    private async Task<(Http2Connection? H2, Channel? H1, string? Failure)> GetAsync(string key, Func<Task<(Channel? Channel, bool H2, string? Failure)>> dial)
    {
        if (http2Pool.Http1Only.ContainsKey(key))
        {
            Channel? pooled = http1Pool.TryRent(key);
            if (pooled is not null)
            {
                return (null, pooled, null);
            }

            (Channel? fresh, bool _, string? failure) = await dial().ConfigureAwait(false);
            return (null, fresh, fresh is null ? failure ?? "unreachable" : null);
        }

        Channel? http1 = null;
        string? dialFailure = null;
        Http2Connection? h2 = await http2Pool.GetAsync(key, async () =>
        {
            (Channel? channel, bool isH2, string? failure) = await dial().ConfigureAwait(false);
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
            return (h2, null, null);
        }

        if (http1 is not null)
        {
            return (null, http1, null);
        }

        if (dialFailure is null && http2Pool.Http1Only.ContainsKey(key))
        {
            // Another stream's dial found out the destination speaks HTTP/1.1 only.
            return await GetAsync(key, dial).ConfigureAwait(false);
        }

        return (null, null, dialFailure ?? "unreachable");
    }

    private async Task<(Channel?, bool, string?)> DialAppAsync(ConnectionContext context, UpstreamConnector upstreams)
    {
        (Channel? channel, ConnectionEndReason _) = await upstreams.ConnectAppAsync(context).ConfigureAwait(false);
        if (channel is null)
        {
            return (null, false, context.Detail);
        }

        bool h2 = channel is TlsChannel tls
            ? tls.Ssl.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2
            : context.Port.Detector.Protocol.Http == Detection.HttpDetection.Http2;
        return (channel, h2, null);
    }

    private async Task<(Channel?, bool, string?)> DialTargetAsync(ConnectionContext context, InterceptRule intercept, UpstreamConnector upstreams)
    {
        (Channel? channel, string? failure) = await upstreams.ConnectTargetAsync(context, intercept, offerH2: true).ConfigureAwait(false);
        if (channel is null)
        {
            return (null, false, failure);
        }

        bool h2 = channel is TlsChannel tls
            ? tls.Ssl.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2
            : await translation.SpeaksH2cAsync(intercept).ConfigureAwait(false);
        return (channel, h2, null);
    }

    /// <summary>HTTP/2 to HTTP/2: one stream on the destination's connection; both directions pumped with both windows.</summary>
    /// <returns>The final response status.</returns>
    private static async Task<int> RelayHttp2Async(Http2Connection down, Http2Stream stream, Http2HeaderList request, bool requestEnded, Http2Connection up,
        ConnectionContext context, WiretapCopier? copier)
    {
        Http2Stream upstream = await up.OpenStreamAsync(request, requestEnded).ConfigureAwait(false);
        using CancellationTokenRegistration callerGone = stream.Aborted.Register(static s =>
        {
            var target = (Http2Stream)s!;
            _ = target.Connection.ResetAsync(target, Http2ErrorCode.Cancel).AsTask();
        }, upstream);
        Task requestBody = requestEnded ? Task.CompletedTask : PumpAsync(stream, up, upstream, context, copier, toCaller: false);

        // Response: informational blocks pass through, then the final head, its body and trailers.
        Http2HeaderList response;
        int final = 0;
        while (true)
        {
            response = await upstream.ReadHeadersAsync().ConfigureAwait(false);
            bool informational = response.TryGet(":status"u8, out ReadOnlySpan<byte> status) && status[0] == (byte)'1';
            if (!informational && status.Length == 3)
            {
                final = ((status[0] - '0') * 100) + ((status[1] - '0') * 10) + (status[2] - '0');
            }

            await down.SendHeadersAsync(stream, response, response.EndStream).ConfigureAwait(false);
            bool ended = response.EndStream;
            response.Dispose();
            if (!informational)
            {
                if (!ended)
                {
                    await PumpAsync(upstream, down, stream, context, null, toCaller: true).ConfigureAwait(false);
                }

                break;
            }
        }

        try
        {
            await requestBody.ConfigureAwait(false);
        }
        catch (Exception e) when (e is Http2StreamResetException or OperationCanceledException && stream.ResetError is null)
        {
            // The destination answered in full and stopped the upload (RST_STREAM NO_ERROR, RFC 9113 8.1): the
            // caller has its whole response; tell it to stop sending too.
            await down.ResetAsync(stream, Http2ErrorCode.NoError).ConfigureAwait(false);
        }

        return final;
    }

    /// <summary>Moves one direction's DATA (then trailers or END_STREAM) from one stream to the other.</summary>
    private static async Task PumpAsync(Http2Stream from, Http2Connection to, Http2Stream target, ConnectionContext context, WiretapCopier? copier, bool toCaller)
    {
        PipeReader data = from.Data;
        while (true)
        {
            ReadResult read = await data.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            long length = buffer.Length; // read before AdvanceTo: afterwards the segments may be reused
            Http2HeaderList? trailers = read.IsCompleted ? from.TryTakeTrailers() : null;
            bool endWithData = read.IsCompleted && trailers is null;
            try
            {
                if (!buffer.IsEmpty || endWithData)
                {
                    copier?.OnData(buffer);
                    await to.SendDataAsync(target, buffer, endWithData).ConfigureAwait(false);
                }
            }
            finally
            {
                data.AdvanceTo(buffer.End);
            }

            if (toCaller)
            {
                context.AddOut(length);
            }
            else
            {
                context.AddIn(length);
            }

            await from.ConsumedAsync((int)length).ConfigureAwait(false);
            if (read.IsCompleted)
            {
                if (trailers is not null)
                {
                    await to.SendHeadersAsync(target, trailers, endStream: true).ConfigureAwait(false);
                    trailers.Dispose();
                }

                await data.CompleteAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>An error answer from the agent on one stream: a one-line text body.</summary>
    internal static async Task RespondErrorAsync(Http2Connection down, Http2Stream stream, int status, string message)
    {
        byte[] body = Encoding.UTF8.GetBytes(message.ReplaceLineEndings(" ") + "\n");
        using var headers = new Http2HeaderList();
        headers.Add(":status"u8, Encoding.ASCII.GetBytes(status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        headers.Add("content-type"u8, "text/plain; charset=utf-8"u8);
        headers.Add("content-length"u8, Encoding.ASCII.GetBytes(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await down.SendHeadersAsync(stream, headers, endStream: false).ConfigureAwait(false);
        await down.SendDataAsync(stream, new ReadOnlySequence<byte>(body), endStream: true).ConfigureAwait(false);
    }
}

/// <summary>Collects a copy of one HTTP/2 request (as HTTP/1.1 bytes, the form taps receive) for the matching wiretaps.</summary>
internal sealed class WiretapCopier(string method, Http2HeaderList request, ConnectionContext context)
{
    private readonly byte[] _head = Http2Translation.RequestHeadBytes(request, contentLength: -1);
    private ArrayBufferWriter<byte>? _body = new();
    private bool _tooLarge;

    public void OnData(in ReadOnlySequence<byte> data)
    {
        if (_body is null)
        {
            return;
        }

        if (_body.WrittenCount + data.Length > Upstream.Wiretaps.MaxBodyCopy)
        {
            _tooLarge = true;
            _body = null;
            return;
        }

        foreach (ReadOnlyMemory<byte> segment in data)
        {
            _body.Write(segment.Span);
        }
    }

    public void Offer(Upstream.Wiretaps taps, IReadOnlyList<InterceptRule> rules)
    {
        if (_tooLarge || _body is null)
        {
            foreach (InterceptRule tap in rules)
            {
                taps.Drop(tap.Id, "body_too_large");
            }

            return;
        }

        var bytes = new ArrayBufferWriter<byte>(_head.Length + 32 + _body.WrittenCount);
        bytes.Write(_head.AsSpan(0, _head.Length - 2)); // without the blank line
        if (_body.WrittenCount > 0 || method is "POST" or "PUT" or "PATCH")
        {
            bytes.Write(Encoding.ASCII.GetBytes($"Content-Length: {_body.WrittenCount}\r\n"));
        }

        bytes.Write("\r\n"u8);
        bytes.Write(_body.WrittenSpan);
        var copy = new Upstream.WiretapCopy(method, bytes.WrittenSpan.ToArray(), context.DownstreamIsTls, context.Sni);
        foreach (InterceptRule tap in rules)
        {
            taps.Offer(tap, copy);
        }
    }
}
