using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Http1;
using Switchyard.Routing;
using Switchyard.Transport;

namespace Switchyard.Upstream;

/// <summary>One request copy for a wiretap: the forwarded head (re-framed with Content-Length) and the whole body.</summary>
/// <param name="Method">The request method: it decides how the tap's answer is framed (a HEAD answer has no body).</param>
internal sealed record WiretapCopy(string Method, byte[] Request, bool Tls, string? Sni);

/// <summary>
/// Sends wiretap copies. Each tap has a bounded queue and one sender loop with its own connection; a full queue,
/// a body over the copy limit or a tap that is down drops the copy and counts it. The real request never waits
/// for a tap: offering a copy is a non-blocking TryWrite.
/// </summary>
internal sealed class Wiretaps(Func<string, Config.InterceptSettings?> intercepts, ILogger logger)
{
    public const int QueueCapacity = 256;
    public const int MaxBodyCopy = 1024 * 1024;

    /// <summary>How long a tap may take to answer one copy before the connection is dropped (reason tap_timeout).</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock of the idle connection checks (a manual one in tests).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Connections to a tap closed because they were idle too long or the tap closed its side (by tap id).</summary>
    public LabeledCounter IdleClosed { get; } = new();

    /// <summary>Developers connected through the tunnel: a tap without a target sends its copies there.</summary>
    public Tunnel.TunnelRegistry? Tunnels { get; init; }

    private readonly ConcurrentDictionary<string, System.Threading.Channels.Channel<WiretapCopy>> _queues = new(StringComparer.Ordinal);

    /// <summary>Drops by tap id and reason (queue_full, body_too_large, tap_unreachable, tap_error, tap_timeout).</summary>
    public ConcurrentDictionary<string, LabeledCounter> Drops { get; } = new(StringComparer.Ordinal);

    /// <summary>Copies delivered (a response was read from the tap), by tap id.</summary>
    public LabeledCounter Delivered { get; } = new();

    public void Drop(string tap, string reason) => Drops.GetOrAdd(tap, static _ => new LabeledCounter()).Increment(reason);

    public void Offer(InterceptRule tap, WiretapCopy copy)
    {
        System.Threading.Channels.Channel<WiretapCopy> queue = _queues.GetOrAdd(tap.Id, id =>
        {
            var created = System.Threading.Channels.Channel.CreateBounded<WiretapCopy>(new System.Threading.Channels.BoundedChannelOptions(QueueCapacity)
            {
                FullMode = System.Threading.Channels.BoundedChannelFullMode.Wait, // with TryWrite: "full" is reported, never waited for
                SingleReader = true,
            });
            _ = Task.Run(() => SendLoopAsync(tap, created.Reader));
            return created;
        });
        if (!queue.Writer.TryWrite(copy))
        {
            Drop(tap.Id, "queue_full");
        }
    }

    private async Task SendLoopAsync(InterceptRule tap, System.Threading.Channels.ChannelReader<WiretapCopy> queue)
    {
        using var response = new Http1ResponseHead();
        using var chunked = new ChunkedDecoder();
        Channel? connection = null;
        long idleSince = 0;
        while (true)
        {
            if (!queue.TryRead(out WiretapCopy? copy))
            {
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
                    Drop(tap.Id, "tap_unreachable");
                    continue;
                }

                bool? keepAlive;
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                using (var deadline = new CancellationTokenSource(AnswerTimeout))
                await using (deadline.Token.Register(static c => ((Channel)c!).Abort(), connection).ConfigureAwait(false))
                {
                    try
                    {
                        await connection.Output.WriteAsync(copy.Request).ConfigureAwait(false);
                        keepAlive = await DiscardResponseAsync(connection.Input, response, copy.Method, chunked).ConfigureAwait(false);
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
                }

                if (keepAlive is null)
                {
                    throw new IOException("the tap closed the connection without answering");
                }

                Delivered.Increment(tap.Id);
                if (tap.Target is null)
                {
                    Tunnels?.Delivered(tap.Id, copy.Method, RequestTarget(copy.Request), response.StatusCode,
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
