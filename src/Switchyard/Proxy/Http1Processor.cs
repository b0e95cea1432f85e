using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Http1;
using Switchyard.Routing;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>
/// HTTP/1.x on the terminate path: parses each request on a keep-alive connection, routes it (intercept target
/// or app), forwards head and body (streamed, re-framed), then relays the response. Consecutive requests on one
/// connection may go to different destinations; a route change closes the previous upstream connection.
/// </summary>
internal sealed class Http1Processor(RouteTableHolder routes, ILogger logger) : IConnectionProcessor
{
    private const string AppDestination = "";

    public async Task<ConnectionEndReason> ProcessAsync(ConnectionContext context, Channel downstream, UpstreamConnector upstreams)
    {
        using var request = new Http1RequestHead();
        using var response = new Http1ResponseHead();
        using var chunked = new ChunkedDecoder();
        var view = new Http1RequestView(request);
        Channel? upstream = null;
        string? upstreamFor = null;
        try
        {
            while (true)
            {
                request.Reset();
                try
                {
                    if (!await ReadRequestHeadAsync(downstream.Input, request).ConfigureAwait(false))
                    {
                        return ConnectionEndReason.Completed; // the caller closed between requests
                    }
                }
                catch (Http1ParseException e)
                {
                    context.Detail = e.Reason;
                    await WriteErrorAsync(downstream.Output, 400, "Bad Request", $"bad request: {e.Reason}").ConfigureAwait(false);
                    return ConnectionEndReason.BadRequest;
                }

                RouteDecision decision = routes.Snapshot.Route(view, context.Port.Settings.Name);
                InterceptRule? intercept = decision.Intercept;
                string destination = intercept?.Id ?? AppDestination;
                if (upstream is not null && upstreamFor != destination)
                {
                    await upstream.DisposeAsync().ConfigureAwait(false);
                    upstream = null;
                }

                if (upstream is null)
                {
                    (upstream, destination, string? failure) = await ConnectAsync(context, upstreams, intercept).ConfigureAwait(false);
                    if (upstream is null)
                    {
                        context.Detail = failure;
                        (int status, string reason) = destination == AppDestination ? (502, "Bad Gateway") : (503, "Service Unavailable");
                        await WriteErrorAsync(downstream.Output, status, reason, failure!).ConfigureAwait(false);
                        return destination == AppDestination ? ConnectionEndReason.AppUnreachable : ConnectionEndReason.InterceptUnavailable;
                    }

                    upstreamFor = destination;
                    context.Upstream = upstream;
                }

                context.Port.Metrics.Requests.Increment(destination == AppDestination ? "app" : destination);

                // Request: head, then the body re-framed as it arrived (Content-Length or chunked).
                Http1HeadWriter.WriteRequestHead(upstream.Output, request, forwardUpgrade: request.IsUpgrade && !request.IsH2cUpgrade);
                await upstream.Output.FlushAsync().ConfigureAwait(false);
                await CopyBodyAsync(downstream.Input, upstream.Output, request.BodyKind, request.ContentLength, chunked, context, toApp: true).ConfigureAwait(false);

                // Response: interim 1xx heads are passed on; 101 turns the connection into a tunnel.
                while (true)
                {
                    response.Reset();
                    if (!await ReadResponseHeadAsync(upstream.Input, response, request.Method).ConfigureAwait(false))
                    {
                        context.Detail = "the destination closed the connection before answering";
                        await WriteErrorAsync(downstream.Output, 502, "Bad Gateway", context.Detail).ConfigureAwait(false);
                        return ConnectionEndReason.UpstreamReset;
                    }

                    if (response.IsInterim)
                    {
                        Http1HeadWriter.WriteResponseHead(downstream.Output, response);
                        await downstream.Output.FlushAsync().ConfigureAwait(false);
                        continue;
                    }

                    break;
                }

                if (response.IsSwitchingProtocols)
                {
                    Http1HeadWriter.WriteResponseHead(downstream.Output, response, forwardUpgrade: true);
                    await downstream.Output.FlushAsync().ConfigureAwait(false);
                    return await Relay.RunAsync(context, downstream, upstream).ConfigureAwait(false);
                }

                bool keepAlive = request.KeepAlive && response.KeepAlive && response.BodyKind != BodyKind.UntilClose;
                Http1HeadWriter.WriteResponseHead(downstream.Output, response, connectionClose: !keepAlive);
                await downstream.Output.FlushAsync().ConfigureAwait(false);
                await CopyBodyAsync(upstream.Input, downstream.Output, response.BodyKind, response.ContentLength, chunked, context, toApp: false).ConfigureAwait(false);
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
        finally
        {
            if (upstream is not null)
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<(Channel? Channel, string Destination, string? Failure)> ConnectAsync(ConnectionContext context, UpstreamConnector upstreams, InterceptRule? intercept)
    {
        if (intercept is not null)
        {
            (Channel? target, string? failure) = await upstreams.ConnectTargetAsync(context, intercept).ConfigureAwait(false);
            if (target is not null)
            {
                return (target, intercept.Id, null);
            }

            if (!intercept.FailOpen)
            {
                return (null, intercept.Id, $"intercept {intercept.Id}: target {intercept.Target} unavailable: {failure}");
            }

            context.Port.Metrics.FailOpen.Increment(intercept.Id);
            logger.InterceptFailedOpen(context.Id, context.Port.Settings.Name, intercept.Id, intercept.Target ?? "-", failure ?? "?");
        }

        (Channel? app, ConnectionEndReason _) = await upstreams.ConnectAppAsync(context).ConfigureAwait(false);
        return app is null ? (null, AppDestination, $"app {context.Port.Settings.App} unavailable: {context.Detail}") : (app, AppDestination, null);
    }

    private static async ValueTask<bool> ReadRequestHeadAsync(PipeReader input, Http1RequestHead head)
    {
        while (true)
        {
            ReadResult read = await input.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            bool done = false;
            try
            {
                done = Http1Parser.TryReadRequestHead(ref buffer, head);
            }
            finally
            {
                input.AdvanceTo(buffer.Start, done ? buffer.Start : buffer.End);
            }

            if (done)
            {
                return true;
            }

            if (read.IsCompleted)
            {
                return buffer.IsEmpty ? false : throw new Http1ParseException("the caller closed in the middle of a request head");
            }
        }
    }

    private static async ValueTask<bool> ReadResponseHeadAsync(PipeReader input, Http1ResponseHead head, string method)
    {
        while (true)
        {
            ReadResult read = await input.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            bool done = false;
            try
            {
                done = Http1Parser.TryReadResponseHead(ref buffer, head, method);
            }
            finally
            {
                input.AdvanceTo(buffer.Start, done ? buffer.Start : buffer.End);
            }

            if (done)
            {
                return true;
            }

            if (read.IsCompleted)
            {
                return false;
            }
        }
    }

    /// <summary>Streams one body: never buffered whole; chunked bodies are decoded and re-encoded (trailers kept).</summary>
    private static async ValueTask CopyBodyAsync(PipeReader input, PipeWriter output, BodyKind kind, long length, ChunkedDecoder chunked, ConnectionContext context, bool toApp)
    {
        switch (kind)
        {
            case BodyKind.ContentLength:
                long remaining = length;
                while (remaining > 0)
                {
                    ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                    ReadOnlySequence<byte> buffer = read.Buffer;
                    ReadOnlySequence<byte> take = buffer.Slice(0, Math.Min(remaining, buffer.Length));
                    Write(output, take);
                    remaining -= take.Length;
                    Count(context, take.Length, toApp);
                    input.AdvanceTo(take.End);
                    await output.FlushAsync().ConfigureAwait(false);
                    if (remaining > 0 && read.IsCompleted)
                    {
                        throw new IOException($"the body ended {remaining} bytes early");
                    }
                }

                break;

            case BodyKind.Chunked:
                chunked.Reset();
                while (true)
                {
                    ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                    ReadOnlySequence<byte> buffer = read.Buffer;
                    ChunkedReadStatus status;
                    try
                    {
                        while ((status = chunked.Read(ref buffer, out ReadOnlySequence<byte> data)) == ChunkedReadStatus.Data)
                        {
                            ChunkedEncoder.WriteChunk(output, data);
                            Count(context, data.Length, toApp);
                        }

                        if (status == ChunkedReadStatus.Completed)
                        {
                            ChunkedEncoder.WriteLastChunk(output, chunked.Trailers);
                        }
                    }
                    finally
                    {
                        input.AdvanceTo(buffer.Start, buffer.End);
                    }

                    await output.FlushAsync().ConfigureAwait(false);
                    if (status == ChunkedReadStatus.Completed)
                    {
                        break;
                    }

                    if (read.IsCompleted)
                    {
                        throw new IOException("the chunked body ended before its last chunk");
                    }
                }

                break;

            case BodyKind.UntilClose:
                while (true)
                {
                    ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                    Write(output, read.Buffer);
                    Count(context, read.Buffer.Length, toApp);
                    input.AdvanceTo(read.Buffer.End);
                    await output.FlushAsync().ConfigureAwait(false);
                    if (read.IsCompleted)
                    {
                        break;
                    }
                }

                break;
        }
    }

    private static void Write(PipeWriter output, in ReadOnlySequence<byte> data)
    {
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            output.Write(segment.Span);
        }
    }

    private static void Count(ConnectionContext context, long n, bool toApp)
    {
        if (toApp)
        {
            context.AddIn(n);
        }
        else
        {
            context.AddOut(n);
        }
    }

    /// <summary>An error answer from the agent itself: one line of text, then the connection closes.</summary>
    private static async ValueTask WriteErrorAsync(PipeWriter output, int status, string reason, string message)
    {
        byte[] body = Encoding.UTF8.GetBytes(message.ReplaceLineEndings(" ") + "\n");
        output.Write(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
        output.Write(body);
        await output.FlushAsync().ConfigureAwait(false);
    }
}
