using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Http1;
using Switchyard.Http2;
using Switchyard.Http2.Hpack;
using Switchyard.Routing;
using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Proxy;

/// <summary>
/// HTTP/2 on the terminate path: the caller's connection is served by an <see cref="Http2Connection"/> (server
/// role) and every stream is routed on its own — intercept target or app, wiretap copies — then relayed to a
/// pooled HTTP/2 connection of that destination (headers re-encoded by that connection's HPACK encoder, stream ids
/// its own), or translated to HTTP/1.1 when the destination speaks only that.
/// </summary>
internal sealed class Http2Processor(RouteTableHolder routes, Upstream.Wiretaps wiretaps, DestinationOpener destinations, ILogger logger) : IConnectionProcessor
{
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
        context.SetPhase(ConnectionPhase.Idle); // the heartbeat tells idle (no stream holds a slot) from an exchange
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
        WiretapCopier? copier = null;
        try
        {
            if (request.TryGet(":method"u8, out ReadOnlySpan<byte> method) && method.SequenceEqual("CONNECT"u8) && request.IndexOf(":protocol"u8) < 0)
            {
                // A sidecar is not a forward proxy: a (non-extended) CONNECT is answered here, never forwarded.
                await RespondErrorAsync(down, stream, 405, "CONNECT is not supported: this is not a forward proxy", allow: true).ConfigureAwait(false);
                if (!requestEnded)
                {
                    await down.ResetAsync(stream, Http2ErrorCode.NoError).ConfigureAwait(false);
                }

                return;
            }

            var view = new Http2RequestView(request);
            RouteDecision decision;
            if (routes.Snapshot.TryGetPort(context.Settings.Name, out PortRoutes? port) && port.HasBodyRules && request.IndexOf(":protocol"u8) < 0)
            {
                // SPEC.md "Body filters": a request whose route only its body can decide is held until its body is in
                // (bounded by maxBodyBytes and bodyTimeout); its DATA stay in the stream's pipe and are relayed as received.
                // An extended CONNECT (a WebSocket over HTTP/2) is a tunnel, never held.
                var pending = new List<InterceptRule>();
                if (port.NeedsBody(view, pending))
                {
                    using var body = new RequestBodyBuffer();
                    if (!requestEnded && request.TryGet("expect"u8, out ReadOnlySpan<byte> expect) && System.Text.Ascii.EqualsIgnoreCase(expect, "100-continue"u8))
                    {
                        // As on HTTP/1: the caller waits for 100 before it sends DATA, so the agent answers it (a second
                        // 100 from the destination is passed on too; RFC 9110 15.2).
                        using var proceed = new Http2HeaderList();
                        proceed.Add(":status"u8, "100"u8);
                        await down.SendHeadersAsync(stream, proceed, endStream: false).ConfigureAwait(false);
                    }

                    await body.ReadHttp2Async(stream.Data, context.Settings.Limits.MaxBodyBytes, Http2Limits.Default.InitialStreamWindow,
                        context.Settings.Limits.BodyTimeout, context.Clock).ConfigureAwait(false);
                    stream.DataHeld = true;
                    decision = body.Route(port, view, pending, context.Port.Metrics);
                }
                else
                {
                    decision = port.Route(view);
                }
            }
            else
            {
                decision = routes.Snapshot.Route(view, context.Settings.Name);
            }

            InterceptRule? intercept = decision.Intercept;
            copier = decision.Wiretaps.Count > 0 ? CopierFor(context, view.Method, request, requestEnded) : null;

            long streamStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int attempt = 0; ; attempt++)
            {
                Destination destination = await destinations.OpenForHttp2Async(context, intercept).ConfigureAwait(false);
                if (destination.Failure is not null)
                {
                    context.Detail = destination.Failure; // for the end log only; this stream answers with its own reason
                    await RespondErrorAsync(down, stream, destination.FailureStatus, destination.Failure).ConfigureAwait(false);
                    return;
                }

                if (attempt == 0)
                {
                    context.Port.Metrics.Requests.Increment(destination.MetricLabel); // a retried stream is one request
                    copier?.Start(wiretaps, decision.Wiretaps); // the copies' heads go out now, their bodies as they come
                }

                try
                {
                    long started = System.Diagnostics.Stopwatch.GetTimestamp();
                    int status = destination.Http2 is not null
                        ? await RelayHttp2Async(down, stream, request, requestEnded, destination.Http2, context, copier).ConfigureAwait(false)
                        : await destinations.Translation.RelayHttp1Async(down, stream, request, requestEnded, destination.Http1!, destination.PoolKey, destinations.Http1Pool, context, copier).ConfigureAwait(false);
                    if (intercept is { Target: null } && destination.Id == intercept.Id)
                    {
                        upstreams.Tunnels?.Delivered(intercept.Id, view.Method, request.GetString(":path"u8) ?? "/", status,
                            (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }

                    context.Port.Metrics.RequestDurations.Observe(destination.MetricLabel, System.Diagnostics.Stopwatch.GetTimestamp() - streamStarted);
                    break;
                }
                catch (Http2StreamResetException e) when (e.Retryable && requestEnded && attempt == 0 && stream.ResetError is null)
                {
                    // The destination went away before it processed the stream (GOAWAY below it, REFUSED_STREAM):
                    // a request without a body is sent again on another connection.
                    logger.Http2StreamRetried(context.Id, context.Settings.Name, stream.Id, ErrorText.Describe(e));
                }
            }
        }
        catch (Exception e) when (e is Http2StreamResetException or Http1ParseException || ConnectionErrors.IsExpected(e))
        {
            // One stream failed (caller or destination reset it, the destination broke): the others go on.
            Http2ErrorCode code = e is Http2StreamResetException r && stream.ResetError is null ? r.Code : Http2ErrorCode.Cancel;
            await down.ResetAsync(stream, code == Http2ErrorCode.NoError ? Http2ErrorCode.Cancel : code).ConfigureAwait(false);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.Http2StreamFailed(context.Id, context.Settings.Name, stream.Id, ErrorText.Describe(e));
            }
        }
        finally
        {
            copier?.Fail(); // a copy whose body did not end with the stream's is dropped (request_failed)
            request.Dispose();
            stream.EndExchange(); // the stream's concurrency slot is free once its frames are done too
        }
    }

    /// <summary>
    /// The copy of an HTTP/2 request for wiretaps, as HTTP/1.1 bytes (the form taps receive): framed with the
    /// stream's content-length when it has one, else chunked (or no body when the stream ended with its headers).
    /// </summary>
    private static WiretapCopier CopierFor(ConnectionContext context, string method, Http2HeaderList request, bool requestEnded)
    {
        long length = requestEnded ? 0 : -1;
        if (!requestEnded && request.TryGet("content-length"u8, out ReadOnlySpan<byte> announced)
            && System.Buffers.Text.Utf8Parser.TryParse(announced, out long value, out int used) && used == announced.Length)
        {
            length = value; // the connection checked that the DATA adds up to it (RFC 9113 8.1.1)
        }

        byte[] head = Http2Translation.RequestHeadBytes(request, length >= 0 && !requestEnded ? Http2Translation.Framing.ContentLength
            : requestEnded ? Http2Translation.Framing.None : Http2Translation.Framing.Chunked);
        if (requestEnded && method is "POST" or "PUT" or "PATCH")
        {
            var framed = new ArrayBufferWriter<byte>(head.Length + 20);
            framed.Write(head.AsSpan(0, head.Length - 2)); // without the blank line
            Http1HeadWriter.WriteFraming(framed, BodyKind.ContentLength, 0);
            Http1HeadWriter.WriteEnd(framed, connectionClose: false);
            head = framed.WrittenSpan.ToArray();
        }

        return new WiretapCopier(method, context, head, length);
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
            ReadResult read = await from.ReadDataAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            long length = buffer.Length; // read before AdvanceTo: afterwards the segments may be reused
            Http2HeaderList? trailers = read.IsCompleted ? from.TryTakeTrailers() : null;
            bool endWithData = read.IsCompleted && trailers is null;
            if (read.IsCompleted)
            {
                copier?.OnData(buffer);
                copier?.End(); // the whole body passed (trailers are not copied)
                copier = null;
            }

            try
            {
                if (!buffer.IsEmpty || endWithData)
                {
                    copier?.OnData(buffer); // null once the body ended: fed above
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
    internal static async Task RespondErrorAsync(Http2Connection down, Http2Stream stream, int status, string message, bool allow = false)
    {
        byte[] body = Encoding.UTF8.GetBytes(message.ReplaceLineEndings(" ") + "\n");
        using var headers = new Http2HeaderList();
        headers.Add(":status"u8, Encoding.ASCII.GetBytes(status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (allow)
        {
            headers.Add("allow"u8, "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE"u8);
        }

        headers.Add("content-type"u8, "text/plain; charset=utf-8"u8);
        headers.Add("content-length"u8, Encoding.ASCII.GetBytes(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await down.SendHeadersAsync(stream, headers, endStream: false).ConfigureAwait(false);
        await down.SendDataAsync(stream, new ReadOnlySequence<byte>(body), endStream: true).ConfigureAwait(false);
    }
}
