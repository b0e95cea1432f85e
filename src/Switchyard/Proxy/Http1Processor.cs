using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Switchyard.Diagnostics;
using Switchyard.Http1;
using Switchyard.Routing;
using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Proxy;

/// <summary>
/// HTTP/1.x on the terminate path: parses each request on a keep-alive connection, routes it (intercept target
/// or app), forwards head and body (streamed, re-framed), then relays the response. Consecutive requests on one
/// connection may go to different destinations; a route change closes the previous upstream connection.
/// </summary>
internal sealed class Http1Processor(RouteTableHolder routes, Upstream.Wiretaps wiretaps, DestinationOpener destinations) : IConnectionProcessor
{
    /// <summary>Counts request body bytes and feeds the wiretap copy, when there is one.</summary>
    private sealed class RequestBody(ConnectionContext context, WiretapCopier? copier) : IBodyObserver
    {
        public void OnData(in ReadOnlySequence<byte> data)
        {
            context.AddIn(data.Length);
            copier?.OnData(data);
        }
    }

    private sealed class ResponseBody(ConnectionContext context) : IBodyObserver
    {
        public void OnData(in ReadOnlySequence<byte> data) => context.AddOut(data.Length);
    }

    /// <summary>The streamed copy of an HTTP/1 request for the wiretaps it matched, queued for them now; null when none.</summary>
    private WiretapCopier? StartCopy(ConnectionContext context, Http1RequestHead request, IReadOnlyList<InterceptRule> taps)
    {
        if (taps.Count == 0)
        {
            return null;
        }

        var copier = new WiretapCopier(request.Method, context, WiretapCopier.Http1Head(request, out long length), length);
        copier.Start(wiretaps, taps);
        return copier;
    }

    public async Task<ConnectionEndReason> ProcessAsync(ConnectionContext context, Channel downstream, UpstreamConnector upstreams)
    {
        using var request = new Http1RequestHead();
        using var response = new Http1ResponseHead();
        using var chunked = new ChunkedDecoder();
        using var body = new RequestBodyBuffer();
        var view = new Http1RequestView(request);
        Channel? upstream = null;
        try
        {
            while (true)
            {
                request.Reset();
                if (!context.AwaitRequest(downstream.Input))
                {
                    context.RequestArrived();
                    await downstream.CloseOutputAsync().ConfigureAwait(false);
                    return ConnectionEndReason.Completed; // draining: no further request on this connection
                }

                try
                {
                    // Between requests the connection is idle (idleTimeout); from the first byte of a head on, the
                    // head must complete within requestHeadTimeout; then the exchange runs while bytes move.
                    context.RequestDone(); // the previous response was relayed
                    context.SetPhase(ConnectionPhase.Idle);
                    if (!await NextRequestStartsAsync(downstream.Input).ConfigureAwait(false))
                    {
                        return ConnectionEndReason.Completed; // the caller closed between requests
                    }

                    context.SetPhase(ConnectionPhase.RequestHead);
                    if (!await ReadRequestHeadAsync(downstream.Input, request, context.Settings.Http1Limits).ConfigureAwait(false))
                    {
                        return ConnectionEndReason.Completed; // the caller closed between requests, or a drain began
                    }

                    context.SetPhase(ConnectionPhase.Exchange);
                }
                catch (Http1ParseException e)
                {
                    context.Detail = e.Reason;
                    await WriteErrorAsync(downstream.Output, 400, $"bad request: {e.Reason}").ConfigureAwait(false);
                    return ConnectionEndReason.BadRequest;
                }
                finally
                {
                    context.RequestArrived();
                }

                if (request.IsConnect)
                {
                    // A sidecar is not a forward proxy: CONNECT is answered here, never forwarded (nor replayed).
                    context.Detail = "CONNECT is not supported";
                    await WriteErrorAsync(downstream.Output, 405, "CONNECT is not supported: this is not a forward proxy", allow: true).ConfigureAwait(false);
                    return ConnectionEndReason.BadRequest;
                }

                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                (RouteDecision decision, RequestBodyState held) = await RouteAsync(context, downstream, request, view, body).ConfigureAwait(false);
                InterceptRule? intercept = decision.Intercept;

                if (intercept is not null && !request.IsUpgrade && await TargetSpeaksH2cAsync(context, intercept).ConfigureAwait(false))
                {
                    // A plaintext developer server that speaks only HTTP/2 (h2c): the request becomes a stream on it.
                    (Http2.Http2Connection? target, string? _) = await destinations.OpenH2cAsync(context, intercept).ConfigureAwait(false);
                    if (target is not null)
                    {
                        context.RequestRouted(intercept.Id);
                        (bool open, int status) = await Http1ToHttp2.ExchangeAsync(context, request, downstream, target, chunked,
                            StartCopy(context, request, decision.Wiretaps), held != RequestBodyState.Unread).ConfigureAwait(false);
                        if (intercept.Target is null)
                        {
                            destinations.Upstreams.Tunnels?.Delivered(intercept.Id, request.Method, request.Target, status,
                                (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                        }

                        if (!open)
                        {
                            await downstream.CloseOutputAsync().ConfigureAwait(false);
                            return ConnectionEndReason.Completed;
                        }

                        continue;
                    }

                    // Unreachable: the HTTP/1 path below fails open or answers 503 as usual.
                }

                if (intercept is null && !context.DownstreamIsTls && context.Port.Detector.Protocol.Http == Detection.HttpDetection.Http2 && !request.IsUpgrade)
                {
                    // The app speaks only h2c: this request becomes a stream on a pooled HTTP/2 connection.
                    (Http2.Http2Connection? app, string? failure) = await destinations.OpenH2cAsync(context, null).ConfigureAwait(false);
                    if (app is null)
                    {
                        context.Detail = failure;
                        await WriteErrorAsync(downstream.Output, 502, $"app {context.Settings.App} unavailable: {failure}").ConfigureAwait(false);
                        return ConnectionEndReason.AppUnreachable;
                    }

                    context.RequestRouted("app");
                    if (!(await Http1ToHttp2.ExchangeAsync(context, request, downstream, app, chunked, StartCopy(context, request, decision.Wiretaps),
                        held != RequestBodyState.Unread).ConfigureAwait(false)).KeepAlive)
                    {
                        await downstream.CloseOutputAsync().ConfigureAwait(false);
                        return ConnectionEndReason.Completed;
                    }

                    continue;
                }

                // A pooled keep-alive connection when one is idle (no new TCP+TLS handshake), else a fresh one.
                Destination destination = destinations.RentHttp1(context, intercept) ?? default;
                bool reused = destination.Http1 is not null;
                if (!reused)
                {
                    destination = await destinations.ConnectHttp1Async(context, intercept).ConfigureAwait(false);
                    if (destination.Failure is { } failure)
                    {
                        context.Detail = failure;
                        await WriteErrorAsync(downstream.Output, destination.FailureStatus, failure).ConfigureAwait(false);
                        return destination.FailureEnd;
                    }
                }

                upstream = destination.Http1!;
                context.Upstream = upstream;
                context.RequestRouted(destination.MetricLabel);

                // Request: head, then the body re-framed as it arrived (Content-Length or chunked).
                // The head goes out with the first body bytes (one TLS record, one send) unless there is no body,
                // the caller waits for a 100 Continue before sending it, or a held body timed out (the caller may
                // have stopped sending: the destination gets the head now, at bodyTimeout).
                string defaultHost = context.Sni ?? context.Settings.App; // for an HTTP/1.0 request without Host
                Http1HeadWriter.WriteRequestHead(upstream.Output, request, forwardUpgrade: request.IsUpgrade && !request.IsH2cUpgrade, defaultHost: defaultHost);
                if (request.BodyKind == BodyKind.None || request.Expect100Continue || held == RequestBodyState.TimedOut)
                {
                    await upstream.Output.FlushAsync().ConfigureAwait(false);
                }

                WiretapCopier? copier = StartCopy(context, request, decision.Wiretaps);
                var observer = new RequestBody(context, copier);
                // The body flows while the response side listens, so an interim "100 Continue" from the destination
                // reaches a caller that waits for it before sending its body (Expect: 100-continue).
                Task requestBody = request.BodyKind == BodyKind.None
                    ? Task.CompletedTask
                    : Http1Bodies.CopyAsync(downstream.Input, upstream.Output, request.BodyKind, request.ContentLength, chunked, observer,
                        held: held != RequestBodyState.Unread).AsTask();
                copier?.EndWith(requestBody);
                // A caller that disconnects mid-body, or sends malformed framing (even in the same packet as the head,
                // when the copy fails before it ever waits), must not leave us waiting for an answer that cannot
                // come: the upstream exchange is aborted (and that connection never returns to the pool).
                Channel exchange = upstream;
                _ = requestBody.ContinueWith(static (_, state) => ((Channel)state!).Abort(), exchange, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

                // Response: interim 1xx heads are passed on; 101 turns the connection into a tunnel.
                bool interim = false;
                while (true)
                {
                    response.Reset();
                    HeadRead read;
                    try
                    {
                        read = requestBody.IsFaulted ? HeadRead.ClosedBeforeHead : await ReadResponseHeadAsync(upstream.Input, response, request.Method, context, requestBody).ConfigureAwait(false);
                    }
                    catch (Exception) when (requestBody.IsFaulted)
                    {
                        read = HeadRead.ClosedBeforeHead; // aborted because the request body failed
                    }
                    catch (TimeoutException)
                    {
                        // appResponseTimeout: the app has not started its answer; the caller gets 504, the exchange ends.
                        upstream.Abort();
                        context.Detail = $"the destination did not answer within {context.Settings.Limits.AppResponseTimeout?.TotalSeconds:0.###} s (appResponseTimeout)";
                        context.Port.Metrics.Timeouts.Increment(ConnectionEndReason.AppResponseTimeout.Name());
                        await WriteErrorAsync(downstream.Output, 504, context.Detail).ConfigureAwait(false);
                        return ConnectionEndReason.AppResponseTimeout;
                    }

                    if (requestBody.IsFaulted)
                    {
                        return await RequestBodyFailedAsync(context, downstream, requestBody).ConfigureAwait(false);
                    }

                    if (read != HeadRead.Read)
                    {
                        // A pooled connection the destination closed just as it was reused, before any byte of an
                        // answer: only an idempotent request (RFC 9110 §9.2.2) without a body is sent again on a
                        // fresh connection; anything else may have been processed, and is answered 502.
                        if (reused && read == HeadRead.ClosedBeforeHead && !interim && request.BodyKind == BodyKind.None && IsIdempotent(request.Method))
                        {
                            await upstream.DisposeAsync().ConfigureAwait(false);
                            upstream = null;
                            reused = false;
                            destination = await destinations.ConnectHttp1Async(context, intercept).ConfigureAwait(false);
                            if (destination.Failure is { } failure)
                            {
                                context.Detail = failure;
                                await WriteErrorAsync(downstream.Output, 502, failure).ConfigureAwait(false);
                                return ConnectionEndReason.AppUnreachable;
                            }

                            upstream = destination.Http1!;
                            context.Upstream = upstream;
                            Http1HeadWriter.WriteRequestHead(upstream.Output, request, defaultHost: defaultHost);
                            await upstream.Output.FlushAsync().ConfigureAwait(false);
                            continue;
                        }

                        context.Detail = "the destination closed the connection before answering";
                        await WriteErrorAsync(downstream.Output, 502, context.Detail).ConfigureAwait(false);
                        return ConnectionEndReason.UpstreamReset;
                    }

                    if (response.IsInterim)
                    {
                        interim = true;
                        Http1HeadWriter.WriteResponseHead(downstream.Output, response);
                        await downstream.Output.FlushAsync().ConfigureAwait(false);
                        continue;
                    }

                    break;
                }

                // The final response is here; the request body must have been forwarded in full before the
                // response body uses the (shared) chunked decoder and before the connection can be reused.
                try
                {
                    await requestBody.ConfigureAwait(false);
                }
                catch (Http1ParseException)
                {
                    return await RequestBodyFailedAsync(context, downstream, requestBody).ConfigureAwait(false);
                }

                if (response.IsSwitchingProtocols)
                {
                    Http1HeadWriter.WriteResponseHead(downstream.Output, response, forwardUpgrade: true);
                    await downstream.Output.FlushAsync().ConfigureAwait(false);
                    context.SetPhase(ConnectionPhase.Unbounded); // a tunnel (WebSocket) is as long-lived as its peers want
                    return await Relay.RunAsync(context, downstream, upstream).ConfigureAwait(false);
                }

                // RFC 9112 §6.1: never chunked toward an HTTP/1.0 caller: such a body goes close-delimited.
                bool http10 = request.Version == Http1Version.Http10;
                BodyKind framing = http10 && response.BodyKind == BodyKind.Chunked ? BodyKind.UntilClose : response.BodyKind;
                bool keepAlive = request.KeepAlive && response.KeepAlive && framing != BodyKind.UntilClose && !context.Draining;
                Http1HeadWriter.WriteResponseHead(downstream.Output, response, framing, response.ContentLength, connectionClose: !keepAlive, keepAlive: keepAlive && http10);
                if (response.BodyKind == BodyKind.None)
                {
                    await downstream.Output.FlushAsync().ConfigureAwait(false);
                }

                await Http1Bodies.CopyAsync(upstream.Input, downstream.Output, response.BodyKind, response.ContentLength, chunked, new ResponseBody(context),
                    dechunk: framing != response.BodyKind).ConfigureAwait(false);
                if (intercept is { Target: null } && destination.Id == intercept.Id)
                {
                    destinations.Upstreams.Tunnels?.Delivered(intercept.Id, request.Method, request.Target, response.StatusCode,
                        (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                // The exchange is complete: a keep-alive upstream goes back to the pool for the next request (of
                // any caller), whatever this caller does next.
                if (response.KeepAlive && response.BodyKind != BodyKind.UntilClose)
                {
                    destinations.Http1Pool.Return(destination.PoolKey, upstream);
                }
                else
                {
                    await upstream.DisposeAsync().ConfigureAwait(false);
                }

                upstream = null;
                context.Upstream = null;
                if (!keepAlive)
                {
                    await downstream.CloseOutputAsync().ConfigureAwait(false);
                    return ConnectionEndReason.Completed;
                }
            }
        }
        catch (Http1ParseException e)
        {
            context.Detail = $"malformed message from the destination or caller: {e.Reason}";
            return ConnectionEndReason.Error;
        }
        catch (Http2.Http2StreamResetException e)
        {
            context.Detail = $"the HTTP/2 app reset the stream: {ErrorText.Describe(e)}";
            return ConnectionEndReason.UpstreamReset;
        }
        finally
        {
            if (upstream is not null)
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The route of one request. SPEC.md "Body filters": when only its body can decide (every other condition of some
    /// intercept or wiretap holds), the body is read first, bounded by maxBodyBytes and bodyTimeout, without taking it
    /// from the caller's stream: the exchange then forwards the same bytes, byte for byte. A caller that waits for
    /// `100 Continue` (Expect: 100-continue) gets it from the agent before its body is read (a second 100 from the
    /// destination is passed on too; RFC 9110 15.2 has clients accept several), unless its Content-Length is already
    /// over maxBodyBytes: then the body is not read and the destination decides about the 100 as usual.
    /// Also returns what became of a held body (<see cref="RequestBodyState.Unread"/>: not held), for the exchange's
    /// first read (<see cref="Transport.HeldReads.ReadAsync"/>).
    /// </summary>
    private async ValueTask<(RouteDecision Decision, RequestBodyState Held)> RouteAsync(ConnectionContext context, Channel downstream, Http1RequestHead request, Http1RequestView view, RequestBodyBuffer body)
    {
        RouteTable table = routes.Snapshot;
        if (!table.TryGetPort(context.Settings.Name, out PortRoutes? port))
        {
            return (table.Route(view, context.Settings.Name), RequestBodyState.Unread);
        }

        if (!port.HasBodyRules || request.IsUpgrade)
        {
            return (port.Route(view), RequestBodyState.Unread);
        }

        var pending = new List<InterceptRule>();
        if (!port.NeedsBody(view, pending))
        {
            return (port.Route(view), RequestBodyState.Unread);
        }

        Config.PortLimits limits = context.Settings.Limits;
        if (request.Expect100Continue && !(request.BodyKind == BodyKind.ContentLength && request.ContentLength > limits.MaxBodyBytes))
        {
            downstream.Output.Write("HTTP/1.1 100 Continue\r\n\r\n"u8);
            await downstream.Output.FlushAsync().ConfigureAwait(false);
        }

        try
        {
            await body.ReadHttp1Async(downstream.Input, request, limits, context.Clock).ConfigureAwait(false);
            return (body.Route(port, view, pending, context.Port.Metrics), body.State);
        }
        finally
        {
            body.Reset();
        }
    }

    /// <summary>A plaintext delivery to a target that answers the h2c preface (or is configured delivery.http http2).</summary>
    private async ValueTask<bool> TargetSpeaksH2cAsync(ConnectionContext context, InterceptRule intercept)
    {
        Config.InterceptSettings? settings = destinations.Translation.Intercepts(intercept.Id);
        bool plaintext = (settings?.Plaintext ?? false) || !context.DownstreamIsTls;
        if (!plaintext || settings?.DeliveryHttp == Config.HttpMode.Http1)
        {
            return false;
        }

        return await destinations.Translation.SpeaksH2cAsync(intercept).ConfigureAwait(false);
    }

    private static async ValueTask<bool> ReadRequestHeadAsync(PipeReader input, Http1RequestHead head, Http1Limits? limits) =>
        await Http1HeadReader.ReadAsync(input, new RequestHeadParser(head, limits)).ConfigureAwait(false) switch
        {
            HeadRead.Read => true,
            HeadRead.ClosedBeforeHead => false,
            _ => throw new Http1ParseException("the caller closed in the middle of a request head"),
        };

    /// <summary>
    /// The destination's response head; with <c>appResponseTimeout</c> set, a TimeoutException when the destination takes
    /// longer than that once it has the whole request (a slow upload is the caller's time, bounded by streamIdleTimeout).
    /// </summary>
    private static async ValueTask<HeadRead> ReadResponseHeadAsync(PipeReader input, Http1ResponseHead head, string method, ConnectionContext context, Task requestBody)
    {
        ValueTask<HeadRead> read = Http1HeadReader.ReadAsync(input, new ResponseHeadParser(head, method));
        if (context.Settings.Limits.AppResponseTimeout is { } limit && !read.IsCompleted)
        {
            Task<HeadRead> answer = read.AsTask();
            if (!requestBody.IsCompleted)
            {
                await Task.WhenAny(answer, requestBody).ConfigureAwait(false); // an early answer (100, 413...) ends the wait too
            }

            return await answer.WaitAsync(limit, context.Clock).ConfigureAwait(false);
        }

        return await read.ConfigureAwait(false);
    }

    /// <summary>Waits for the first byte of the next request without consuming it (where the idle phase ends).</summary>
    private static async ValueTask<bool> NextRequestStartsAsync(PipeReader input)
    {
        ReadResult read = await input.ReadAsync().ConfigureAwait(false);
        bool started = !read.Buffer.IsEmpty;
        if (read.IsCanceled && !started)
        {
            input.AdvanceTo(read.Buffer.Start);
            return false; // a drain woke the idle connection: it ends now
        }

        input.AdvanceTo(read.Buffer.Start); // nothing consumed, nothing examined: the head reader sees the same bytes at once
        return started || !read.IsCompleted;
    }

    /// <summary>RFC 9110 §9.2.2: the methods a request may be sent again with (when no answer came).</summary>
    internal static bool IsIdempotent(string method) =>
        method is Http1Methods.Get or Http1Methods.Head or Http1Methods.Options or Http1Methods.Trace or Http1Methods.Put or Http1Methods.Delete;

    /// <summary>
    /// The caller's request body failed before the response started (its exchange upstream was aborted and is never
    /// reused): malformed framing is answered 400; a caller that went away gets nothing. The connection ends.
    /// </summary>
    private static async ValueTask<ConnectionEndReason> RequestBodyFailedAsync(ConnectionContext context, Channel downstream, Task requestBody)
    {
        Exception? failure = requestBody.Exception?.InnerException;
        if (failure is Http1ParseException parse)
        {
            context.Detail = parse.Reason;
            await WriteErrorAsync(downstream.Output, 400, $"bad request: {parse.Reason}").ConfigureAwait(false);
            await downstream.CloseOutputAsync().ConfigureAwait(false);
            return ConnectionEndReason.BadRequest;
        }

        context.Detail = $"the caller's request body failed: {(failure is null ? "unknown" : ErrorText.Describe(failure))}";
        return ConnectionEndReason.DownstreamReset;
    }

    /// <summary>An error answer from the agent itself: one line of text, then the connection closes.</summary>
    private static async ValueTask WriteErrorAsync(PipeWriter output, int status, string message, bool allow = false)
    {
        byte[] body = Encoding.UTF8.GetBytes(message.ReplaceLineEndings(" ") + "\n");
        Http1HeadWriter.WriteStatusLine(output, status, Http1HeadWriter.ReasonPhrase(status));
        if (allow)
        {
            Http1HeadWriter.WriteField(output, "Allow"u8, "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE"u8);
        }

        Http1HeadWriter.WriteField(output, "Content-Type"u8, "text/plain; charset=utf-8"u8);
        Http1HeadWriter.WriteFraming(output, BodyKind.ContentLength, body.Length);
        Http1HeadWriter.WriteEnd(output, connectionClose: true);
        output.Write(body);
        await output.FlushAsync().ConfigureAwait(false);
    }
}
