using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Http1;
using Switchyard.Routing;
using Switchyard.Transport;

namespace Switchyard.Upstream;

/// <summary>
/// One request copy for a wiretap: the forwarded head (framed with the caller's Content-Length, or chunked when the
/// caller's length is unknown), then the body, streamed as the caller sends it.
/// </summary>
/// <param name="Method">The request method: it decides how the tap's answer is framed (a HEAD answer has no body).</param>
/// <param name="Head">The request head, up to and including the blank line.</param>
internal sealed record WiretapCopy(string Method, byte[] Head, WiretapBody Body, bool Tls, string? Sni)
{
    /// <summary>A copy whose request (head and body) is known whole.</summary>
    public static WiretapCopy Whole(string method, byte[] head, ReadOnlySpan<byte> body, bool tls, string? sni) =>
        new(method, head, WiretapBody.Complete(body), tls, sni);
}

/// <summary>
/// Sends wiretap copies. Each tap has a bounded queue and up to <see cref="MaxSendersPerTap"/> sender loops, each with
/// its own keep-alive connection; a full queue or
/// a tap that is down drops the copy and counts it. A copy is queued as soon as its request head is known and its
/// body streams to the tap as the caller sends it, through a buffer of <see cref="TapBuffer"/> bytes per tap: a tap
/// that falls that far behind loses the copy (tap_too_slow). The real request never waits for a tap: offering a copy is
/// a non-blocking TryWrite and feeding its body a bounded copy.
/// </summary>
internal sealed class Wiretaps(Func<string, Config.InterceptSettings?> intercepts, ILogger logger)
{
    public const int QueueCapacity = 256;

    /// <summary>
    /// The default of <see cref="TapBuffer"/>, 8 MiB per tap. A tap that keeps up is never more than its connection
    /// set-up and a scheduling hiccup behind: a few milliseconds, which at loopback and pod-network speeds (about a GB/s)
    /// is a few MiB, so 8 MiB lets such a tap copy bodies of any size. A tap that stalls costs at most this much
    /// memory, however many copies are queued for it (before streaming, each of 256 queued copies could hold 1 MiB).
    /// </summary>
    public const int DefaultTapBuffer = 8 * 1024 * 1024;

    /// <summary>
    /// Copy body bytes that may wait for one tap, its copies in flight together; a copy whose next bytes do not fit
    /// is dropped (tap_too_slow): the tap reads slower than the callers send.
    /// </summary>
    public int TapBuffer { get; init; } = DefaultTapBuffer;

    private readonly ConcurrentDictionary<string, WiretapBuffer> _buffers = new(StringComparer.Ordinal);

    /// <summary>The buffer shared by the copies in flight to one tap.</summary>
    public WiretapBuffer BufferFor(string tap) => _buffers.GetOrAdd(tap, static (_, size) => new WiretapBuffer(size), TapBuffer);

    /// <summary>How long a tap may take to answer one copy before the connection is dropped (reason tap_timeout).</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock of the idle connection checks (a manual one in tests).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Connections to a tap closed because they were idle too long or the tap closed its side (by tap id).</summary>
    public LabeledCounter IdleClosed { get; } = new();

    /// <summary>Developers connected through the tunnel: a tap without a target sends its copies there.</summary>
    public Tunnel.TunnelRegistry? Tunnels { get; init; }

    /// <summary>
    /// Copies one tap receives at once, each over its own keep-alive connection: a copy that streams as long as its
    /// caller does (a slow upload, a gRPC stream) does not hold up the tap's other copies. A sender is added only
    /// while every sender of the tap is busy, so sequential traffic keeps using one connection.
    /// </summary>
    public const int MaxSendersPerTap = 4;

    /// <summary>One tap's queue and its senders.</summary>
    private sealed class TapQueue(System.Threading.Channels.Channel<WiretapCopy> queue)
    {
        public System.Threading.Channels.Channel<WiretapCopy> Queue { get; } = queue;

        public int Senders;

        public int Busy;
    }

    private readonly ConcurrentDictionary<string, TapQueue> _queues = new(StringComparer.Ordinal);

    /// <summary>
    /// Drops by tap id and reason: queue_full, tap_too_slow (the tap fell <see cref="TapBuffer"/> behind its callers),
    /// request_failed (the caller's request broke off before its body ended), tap_unreachable, tap_error, tap_timeout.
    /// </summary>
    public ConcurrentDictionary<string, LabeledCounter> Drops { get; } = new(StringComparer.Ordinal);

    /// <summary>Copies delivered (a response was read from the tap), by tap id.</summary>
    public LabeledCounter Delivered { get; } = new();

    public void Drop(string tap, string reason) => Drops.GetOrAdd(tap, static _ => new LabeledCounter()).Increment(reason);

    public void Offer(InterceptRule tap, WiretapCopy copy)
    {
        TapQueue state = _queues.GetOrAdd(tap.Id, static _ => new TapQueue(System.Threading.Channels.Channel.CreateBounded<WiretapCopy>(
            new System.Threading.Channels.BoundedChannelOptions(QueueCapacity)
            {
                FullMode = System.Threading.Channels.BoundedChannelFullMode.Wait, // with TryWrite: "full" is reported, never waited for
            })));
        if (!state.Queue.Writer.TryWrite(copy))
        {
            copy.Body.Detach(); // nothing of it is kept
            Drop(tap.Id, "queue_full");
            return;
        }

        while (true)
        {
            int senders = Volatile.Read(ref state.Senders);
            if (senders >= MaxSendersPerTap || Volatile.Read(ref state.Busy) < senders)
            {
                return; // a sender is free (or the tap has all it may have): the copy waits for it
            }

            if (Interlocked.CompareExchange(ref state.Senders, senders + 1, senders) == senders)
            {
                _ = Task.Run(() => SendLoopAsync(tap, state));
                return;
            }
        }
    }

    private async Task SendLoopAsync(InterceptRule tap, TapQueue state)
    {
        System.Threading.Channels.ChannelReader<WiretapCopy> queue = state.Queue.Reader;
        using var response = new Http1ResponseHead();
        using var chunked = new ChunkedDecoder();
        Channel? connection = null;
        long idleSince = 0;
        bool busy = false;
        while (true)
        {
            if (busy)
            {
                Interlocked.Decrement(ref state.Busy); // every copy ends with a turn of this loop
                busy = false;
            }

            // Busy from before the read: an Offer racing with it adds a sender rather than queue behind this one.
            Interlocked.Increment(ref state.Busy);
            if (!queue.TryRead(out WiretapCopy? copy))
            {
                Interlocked.Decrement(ref state.Busy);
                if (connection is null)
                {
                    if (!await queue.WaitToReadAsync().ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                // Idle with a connection open: look at it every sweep interval, and close it once the tap closed its
                // side (else it would sit in CLOSE_WAIT until the next copy, which it would then fail) or it is
                // past the pool's idle timeout.
                using (var look = new CancellationTokenSource(ConnectionPool.SweepInterval, Time))
                {
                    try
                    {
                        if (!await queue.WaitToReadAsync(look.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (look.IsCancellationRequested)
                    {
                        if (Time.GetElapsedTime(idleSince) >= ConnectionPool.IdleTimeout || !connection.IsIdleAndOpen())
                        {
                            IdleClosed.Increment(tap.Id);
                            await connection.DisposeAsync().ConfigureAwait(false);
                            connection = null;
                        }
                    }
                }

                continue;
            }

            busy = true;
            if (copy.Body.IsGone)
            {
                continue; // dropped (and counted) while it waited in the queue
            }

            try
            {
                if (connection is not null && !connection.IsIdleAndOpen())
                {
                    // The tap closed its side (or spoke unasked) since the last copy: this copy goes on a new connection.
                    IdleClosed.Increment(tap.Id);
                    await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                }

                connection ??= await ConnectAsync(tap, copy).ConfigureAwait(false);
                if (connection is null)
                {
                    copy.Body.Detach();
                    Drop(tap.Id, "tap_unreachable");
                    continue;
                }

                bool? keepAlive;
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                // The answer timeout runs from the end of the caller's body (a copy streams as long as its upload).
                using (var deadline = new CancellationTokenSource())
                await using (deadline.Token.Register(static c => ((Channel)c!).Abort(), connection).ConfigureAwait(false))
                {
                    try
                    {
                        Channel sending = connection;
                        if (!copy.Body.Attach(sending.Abort, deadline, AnswerTimeout))
                        {
                            continue; // dropped just now, before a byte went out: the connection is still clean
                        }

                        PipeWriter output = connection.Output;
                        output.Write(copy.Head);
                        while (!await copy.Body.MoveToAsync(output).ConfigureAwait(false))
                        {
                            if ((await output.FlushAsync().ConfigureAwait(false)).IsCompleted)
                            {
                                throw new IOException("the tap stopped reading the copy");
                            }
                        }

                        await output.FlushAsync().ConfigureAwait(false);
                        keepAlive = await DiscardResponseAsync(connection.Input, response, copy.Method, chunked).ConfigureAwait(false);
                    }
                    catch (Exception) when (copy.Body.DropReason is not null)
                    {
                        // The copy was dropped (counted where it happened) mid-request: this connection carries half
                        // a request, so it goes; the next copy dials again.
                        await connection.DisposeAsync().ConfigureAwait(false);
                        connection = null;
                        continue;
                    }
                    catch (Exception) when (deadline.IsCancellationRequested)
                    {
                        // A stalled tap: give up on this copy and this connection; the next copy dials again.
                        Drop(tap.Id, "tap_timeout");
                        logger.WiretapFailed(tap.Id, tap.Target ?? "-", "no answer within " + AnswerTimeout.TotalSeconds + "s");
                        await connection.DisposeAsync().ConfigureAwait(false);
                        connection = null;
                        continue;
                    }
                    finally
                    {
                        copy.Body.Detach();
                    }
                }

                if (keepAlive is null)
                {
                    throw new IOException("the tap closed the connection without answering");
                }

                Delivered.Increment(tap.Id);
                if (tap.Target is null)
                {
                    Tunnels?.Delivered(tap.Id, copy.Method, RequestTarget(copy.Head), response.StatusCode,
                        (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }

                if (keepAlive == false)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                }
                else
                {
                    idleSince = Time.GetTimestamp();
                }
            }
            catch (Exception e) when (e is Http1ParseException || ConnectionErrors.IsExpected(e))
            {
                Drop(tap.Id, "tap_error");
                logger.WiretapFailed(tap.Id, tap.Target ?? "-", Diagnostics.ErrorText.Describe(e));
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                }
            }
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<Channel?> ConnectAsync(InterceptRule tap, WiretapCopy copy)
    {
        Config.InterceptSettings? settings = intercepts(tap.Id);
        if (tap.Target is null)
        {
            Channel? reverse = Tunnels is null ? null : await Tunnels.TakeAsync(tap.Id).ConfigureAwait(false);
            return reverse is null ? null
                : await UpstreamConnector.OverTunnelAsync(reverse, copy.Tls && !(settings?.Plaintext ?? false), copy.Sni ?? "localhost", settings?.Tls).ConfigureAwait(false);
        }

        if (!Config.Endpoints.TryParseHostPort(tap.Target, out string host, out int port))
        {
            return null;
        }

        return await UpstreamConnector.DialAsync(host, port, tls: copy.Tls && !(settings?.Plaintext ?? false), copy.Sni ?? host, settings?.Tls).ConfigureAwait(false);
    }

    /// <summary>The request-target of a copy's request line (<c>METHOD TARGET HTTP/1.1</c>).</summary>
    private static string RequestTarget(byte[] request)
    {
        ReadOnlySpan<byte> line = request.AsSpan(0, Math.Min(request.Length, 8192));
        int first = line.IndexOf((byte)' ');
        if (first < 0)
        {
            return "/";
        }

        line = line[(first + 1)..];
        int second = line.IndexOf((byte)' ');
        return second < 0 ? "/" : System.Text.Encoding.Latin1.GetString(line[..second]);
    }

    /// <summary>Reads one response (head and body) and throws it away: whether the connection stays open, null when the tap closed first.</summary>
    private static async ValueTask<bool?> DiscardResponseAsync(PipeReader input, Http1ResponseHead response, string method, ChunkedDecoder chunked)
    {
        while (true)
        {
            response.Reset();
            if (await Http1HeadReader.ReadAsync(input, new ResponseHeadParser(response, method)).ConfigureAwait(false) != HeadRead.Read)
            {
                return null;
            }

            if (!response.IsInterim)
            {
                break;
            }
        }

        await Http1Bodies.CopyAsync(input, null, response.BodyKind, response.ContentLength, chunked, null).ConfigureAwait(false);
        return response.KeepAlive && response.BodyKind != BodyKind.UntilClose;
    }
}
