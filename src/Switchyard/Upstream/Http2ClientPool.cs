using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Http2;

namespace Switchyard.Upstream;

/// <summary>
/// Pooled HTTP/2 client connections per destination key (same key rules as the HTTP/1 pool). A stream takes any
/// connection with room under the destination's SETTINGS_MAX_CONCURRENT_STREAMS; when none has room, one more is
/// dialled (one dial at a time per key: concurrent streams wait for it instead of each opening a connection).
/// Connections leave the pool when they end or receive GOAWAY, and are shut down (GOAWAY NO_ERROR, then closed)
/// once they have carried no stream for <see cref="IdleTimeout"/>, so that an idle destination holds no connection.
/// </summary>
internal sealed class Http2ClientPool : IDisposable
{
    /// <summary>How long a connection may carry no stream before we close it (the HTTP/1 pool's idle timeout).</summary>
    public static readonly TimeSpan IdleTimeout = ConnectionPool.IdleTimeout;

    private readonly TimeProvider _time;
    private readonly ITimer _sweep;
    private readonly ILogger? _logger;

    /// <summary>Connections seen without streams by the sweep, with the time they were first seen so.</summary>
    private readonly ConcurrentDictionary<Http2Connection, long> _idleSince = new();
    private long _closedIdle;

    /// <param name="time">The clock of the idle timeout and its sweep (<see cref="ConnectionPool.SweepInterval"/>); the system's by default.</param>
    /// <param name="logger">Where a connection that a destination ended with an error is reported (its GOAWAY code and debug text).</param>
    public Http2ClientPool(TimeProvider? time = null, ILogger? logger = null)
    {
        _time = time ?? TimeProvider.System;
        _logger = logger;
        _sweep = _time.CreateTimer(static pool => ((Http2ClientPool)pool!).Sweep(), this, ConnectionPool.SweepInterval, ConnectionPool.SweepInterval);
    }

    /// <summary>Connections shut down for carrying no stream for <see cref="IdleTimeout"/>.</summary>
    public long ClosedIdle => Volatile.Read(ref _closedIdle);

    private readonly ConcurrentDictionary<string, List<Http2Connection>> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<Http2Connection?>> _dialing = new(StringComparer.Ordinal);

    /// <summary>Keys whose destination answered with HTTP/1.1 (no h2 in ALPN, or no h2c): their streams are translated.</summary>
    public ConcurrentDictionary<string, bool> Http1Only { get; } = new(StringComparer.Ordinal);

    public int Count => _connections.Values.Sum(l => { lock (l) { return l.Count; } });

    public Http2Connection? TryGet(string key)
    {
        if (!_connections.TryGetValue(key, out List<Http2Connection>? list))
        {
            return null;
        }

        lock (list)
        {
            foreach (Http2Connection c in list)
            {
                if (c.CanOpenStream)
                {
                    return c;
                }
            }
        }

        return null;
    }

    /// <summary>A connection with room: pooled, or dialled by <paramref name="dial"/> (shared by concurrent callers).</summary>
    public async Task<Http2Connection?> GetAsync(string key, Func<Task<Http2Connection?>> dial)
    {
        while (true)
        {
            Http2Connection? pooled = TryGet(key);
            if (pooled is not null)
            {
                return pooled;
            }

            var mine = new TaskCompletionSource<Http2Connection?>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<Http2Connection?> pending = _dialing.GetOrAdd(key, mine.Task);
            if (pending != mine.Task)
            {
                Http2Connection? shared = await pending.ConfigureAwait(false);
                if (shared is null)
                {
                    return null;
                }

                if (shared.CanOpenStream)
                {
                    return shared;
                }

                continue;
            }

            try
            {
                Http2Connection? dialled = await dial().ConfigureAwait(false);
                if (dialled is not null)
                {
                    Add(key, dialled);
                }

                mine.SetResult(dialled);
                return dialled;
            }
            catch (Exception e)
            {
                mine.SetException(e);
                throw;
            }
            finally
            {
                _dialing.TryRemove(new KeyValuePair<string, Task<Http2Connection?>>(key, mine.Task));
            }
        }
    }

    private void Add(string key, Http2Connection connection)
    {
        // Started before it is listed: the connection's preface is queued first, before any stream another caller
        // opens on it once TryGet can see it (listed first, a racing stream's HEADERS went out ahead of the preface
        // and the destination answered GOAWAY PROTOCOL_ERROR "invalid connection preface").
        Task run = connection.RunAsync();
        List<Http2Connection> list = _connections.GetOrAdd(key, static _ => []);
        lock (list)
        {
            list.Add(connection);
        }

        _ = ForgetWhenEndedAsync(key, list, connection, run);
    }

    private async Task ForgetWhenEndedAsync(string key, List<Http2Connection> list, Http2Connection connection, Task run)
    {
        await run.ConfigureAwait(false);
        if (connection.GoAwayReceived is { } goAway)
        {
            // The destination ended the connection for an error: its streams were refused or failed, so say why.
            _logger?.Http2DestinationGoAway(key, goAway);
        }

        lock (list)
        {
            list.Remove(connection);
        }

        _idleSince.TryRemove(connection, out _);
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Runs on the timer: a connection without streams is noted, one still without streams <see cref="IdleTimeout"/>
    /// later is retired (no stream opens on it any more), taken out of the pool and shut down gracefully.
    /// </summary>
    public void Sweep()
    {
        long now = _time.GetTimestamp();
        foreach (List<Http2Connection> list in _connections.Values)
        {
            Http2Connection[] connections;
            lock (list)
            {
                connections = [.. list];
            }

            foreach (Http2Connection connection in connections)
            {
                if (connection.ActiveStreams > 0)
                {
                    _idleSince.TryRemove(connection, out _);
                    continue;
                }

                long since = _idleSince.GetOrAdd(connection, now);
                if (_time.GetElapsedTime(since, now) < IdleTimeout || !connection.TryRetireIdle())
                {
                    continue;
                }

                lock (list)
                {
                    list.Remove(connection);
                }

                _idleSince.TryRemove(connection, out _);
                Interlocked.Increment(ref _closedIdle);
                _ = ShutdownAsync(connection);
            }
        }
    }

    /// <summary>GOAWAY NO_ERROR, then our side closed; the read loop ends when the server closes (RunAsync disposes).</summary>
    private static async Task ShutdownAsync(Http2Connection connection)
    {
        try
        {
            await connection.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (Transport.ConnectionErrors.IsExpected(e))
        {
            // already gone: RunAsync disposes it
        }
    }

    /// <summary>Stops the sweep (the connections end with their own drain).</summary>
    public void Dispose() => _sweep.Dispose();
}
