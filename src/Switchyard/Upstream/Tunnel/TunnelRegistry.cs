using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Upstream.Tunnel;

/// <summary>
/// The developers connected through the tunnel, by intercept id. The agent's delivery takes reverse data
/// connections from here (<see cref="TakeAsync"/>); a developer whose control connection is lost and not back
/// within <see cref="Grace"/> has its intercept removed (<paramref name="expire"/>), so its requests fail open to the app.
/// </summary>
/// <param name="isTunnelIntercept">True for a live intercept delivered through the tunnel (no target).</param>
/// <param name="expire">Removes an intercept whose developer went away.</param>
internal sealed class TunnelRegistry(Func<string, bool> isTunnelIntercept, Action<string> expire, ILogger logger)
{
    private static readonly byte[] HeartbeatLine = "HB\n"u8.ToArray();

    private readonly ConcurrentDictionary<string, TunnelSession> _sessions = new(StringComparer.Ordinal);
    private long _expired;

    /// <summary>How long a lost developer may take to reconnect before its intercept is removed.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The clock of the grace period (a fake one in tests); the system's by default.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How often the agent writes a heartbeat line on a control connection.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A control connection silent for this long (the CLI heartbeats too) counts as lost.</summary>
    public TimeSpan ControlIdleTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a delivery waits for a data connection when the pool is empty.</summary>
    public TimeSpan WaitForConnection { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Tunnel connections accepted, by role.</summary>
    public LabeledCounter Accepted { get; } = new();

    /// <summary>Tunnel connections refused, by reason (bad_hello, hello_timeout, unauthorized, unknown_intercept).</summary>
    public LabeledCounter Refused { get; } = new();

    public long Expired => Volatile.Read(ref _expired);

    public bool IsTunnelIntercept(string id) => isTunnelIntercept(id);

    /// <summary>True while a developer's control connection is attached.</summary>
    public bool IsConnected(string id) => _sessions.TryGetValue(id, out TunnelSession? s) && s.Control is not null;

    /// <summary>A reverse data connection to the developer of <paramref name="id"/>, or null when none comes in time.</summary>
    /// <remarks>While the developer's control connection is away, only an idle connection is taken (no wait): its requests fail open at once.</remarks>
    public Task<Channel?> TakeAsync(string id) =>
        _sessions.TryGetValue(id, out TunnelSession? session)
            ? session.Pool.TakeAsync(session.Control is null ? TimeSpan.Zero : WaitForConnection)
            : Task.FromResult<Channel?>(null);

    /// <summary>Keeps a data connection (after its hello) for later deliveries; closes it when the developer is gone.</summary>
    public void AddData(string id, Channel channel, string remote)
    {
        TunnelSession session = _sessions.GetOrAdd(id, static i => new TunnelSession(i));
        if (!session.Pool.Add(channel))
        {
            channel.Abort();
            _ = channel.DisposeAsync();
            return;
        }

        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.TunnelDataConnected(id, remote, session.Pool.IdleCount);
        }
    }

    /// <summary>Tells the developer's CLI about a request delivered to it: <c>REQ METHOD PATH STATUS MS</c>.</summary>
    public void Delivered(string id, string method, string path, int status, long milliseconds)
    {
        if (_sessions.TryGetValue(id, out TunnelSession? session) && session.Events is { } events)
        {
            events.Writer.TryWrite($"REQ {Clean(method)} {Clean(path)} {status} {milliseconds}\n");
        }
    }

    /// <summary>Serves a control connection until it is lost; then, unless the developer is back within <see cref="Grace"/>, expires its intercept.</summary>
    public async Task RunControlAsync(string id, Channel channel, string remote)
    {
        TunnelSession session = _sessions.GetOrAdd(id, static i => new TunnelSession(i));
        var events = System.Threading.Channels.Channel.CreateBounded<string>(new System.Threading.Channels.BoundedChannelOptions(TunnelSession.MaxQueuedEvents)
        {
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        });
        int generation;
        Channel? previous;
        lock (session.Gate)
        {
            previous = session.Control;
            session.Control = channel;
            session.Events = events;
            generation = ++session.Generation;
        }

        previous?.Abort(); // a reconnecting CLI replaces a half-dead control connection
        Accepted.Increment("control");
        logger.TunnelControlConnected(id, remote);
        using var lost = new CancellationTokenSource();
        Task writer = WriteLoopAsync(channel.Output, events.Reader, lost.Token);
        string reason = await ReadLoopAsync(channel.Input).ConfigureAwait(false);
        await lost.CancelAsync().ConfigureAwait(false);
        await writer.ConfigureAwait(false);

        bool current;
        lock (session.Gate)
        {
            current = session.Generation == generation && !session.Forgotten;
            if (current)
            {
                session.Control = null;
                session.Events = null;
            }
        }

        if (!current)
        {
            return;
        }

        if (reason == Bye)
        {
            // The CLI is stopping (Ctrl-C): no grace to wait for, and nothing was lost.
            logger.TunnelDeveloperLeft(id);
            expire(id);
            Forget(id);
            return;
        }

        logger.TunnelControlLost(id, reason, (long)Grace.TotalMilliseconds);
        await Task.Delay(Grace, Time).ConfigureAwait(false);
        lock (session.Gate)
        {
            if (session.Generation != generation || session.Forgotten)
            {
                return; // back in time, or already removed
            }
        }

        Interlocked.Increment(ref _expired);
        logger.TunnelInterceptExpired(id);
        expire(id);
        Forget(id);
    }

    /// <summary>The intercept is gone (deleted or expired): closes its idle connections and its control connection.</summary>
    public void Forget(string id)
    {
        if (!_sessions.TryRemove(id, out TunnelSession? session))
        {
            return;
        }

        Channel? control;
        lock (session.Gate)
        {
            session.Forgotten = true;
            control = session.Control;
            session.Control = null;
            session.Events = null;
        }

        session.Pool.Close();
        control?.Abort();
    }

    /// <summary>Prometheus families of the tunnel.</summary>
    public void RenderMetrics(StringBuilder sb)
    {
        sb.Append("# HELP switchyard_tunnel_connections_total Tunnel connections accepted, by role.\n# TYPE switchyard_tunnel_connections_total counter\n");
        foreach ((string role, long v) in Accepted.Snapshot())
        {
            PortMetrics.Line(sb, "switchyard_tunnel_connections_total", $"role=\"{role}\"", v);
        }

        sb.Append("# HELP switchyard_tunnel_refused_total Tunnel connections refused, by reason.\n# TYPE switchyard_tunnel_refused_total counter\n");
        foreach ((string reason, long v) in Refused.Snapshot())
        {
            PortMetrics.Line(sb, "switchyard_tunnel_refused_total", $"reason=\"{reason}\"", v);
        }

        sb.Append("# HELP switchyard_tunnel_intercepts_expired_total Intercepts removed because their developer's tunnel was lost.\n# TYPE switchyard_tunnel_intercepts_expired_total counter\n");
        sb.Append("switchyard_tunnel_intercepts_expired_total ").Append(Expired).Append('\n');
        sb.Append("# HELP switchyard_tunnel_developers Developers with a control connection attached.\n# TYPE switchyard_tunnel_developers gauge\n");
        sb.Append("switchyard_tunnel_developers ").Append(_sessions.Values.Count(s => s.Control is not null)).Append('\n');
    }

    /// <summary>The control connection's last line from a CLI that stops on purpose: <c>BYE</c>.</summary>
    private const string Bye = "bye";

    /// <summary>Reads the CLI's lines (<c>HB</c> heartbeats, <c>BYE</c>) until the connection ends; returns why.</summary>
    private async Task<string> ReadLoopAsync(PipeReader input)
    {
        try
        {
            while (true)
            {
                using var idle = new CancellationTokenSource(ControlIdleTimeout);
                ReadResult read = await input.ReadAsync(idle.Token).ConfigureAwait(false);
                var lines = new SequenceReader<byte>(read.Buffer);
                while (lines.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
                {
                    if (line.Length == 3 && line.FirstSpan.Length == 3 && line.FirstSpan.SequenceEqual("BYE"u8))
                    {
                        input.AdvanceTo(lines.Position);
                        return Bye;
                    }
                }

                input.AdvanceTo(lines.Position, read.Buffer.End); // "HB" lines are consumed; a partial line waits for its end
                if (read.IsCompleted || read.IsCanceled)
                {
                    return "closed by the developer";
                }
            }
        }
        catch (OperationCanceledException)
        {
            return $"silent for {ControlIdleTimeout.TotalSeconds:0} s";
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            return Diagnostics.ErrorText.Describe(e);
        }
    }

    private async Task WriteLoopAsync(PipeWriter output, System.Threading.Channels.ChannelReader<string> events, CancellationToken lost)
    {
        try
        {
            while (!lost.IsCancellationRequested)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(lost);
                tick.CancelAfter(Heartbeat);
                bool ready;
                try
                {
                    ready = await events.WaitToReadAsync(tick.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!lost.IsCancellationRequested)
                {
                    output.Write(HeartbeatLine);
                    await output.FlushAsync(lost).ConfigureAwait(false);
                    continue;
                }

                if (!ready)
                {
                    return;
                }

                while (events.TryRead(out string? line))
                {
                    output.Write(Encoding.UTF8.GetBytes(line));
                }

                await output.FlushAsync(lost).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            // The control connection is gone; the read loop reports why.
        }
    }

    private static string Clean(string text) => text.Length == 0 ? "-" : text.Replace(' ', '+').Replace('\n', '+').Replace('\r', '+');
}
