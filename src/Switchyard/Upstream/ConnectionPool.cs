using System.Collections.Concurrent;
using Switchyard.Transport;

namespace Switchyard.Upstream;

/// <summary>
/// Idle keep-alive connections per destination (the app of a port, or an intercept's target), reused last-in
/// first-out so that a handful of connections stay warm. A connection is handed out only if it is still open and
/// has nothing unread (a peer that closed or spoke while idle is discarded); idle ones expire after a while. A
/// periodic sweep closes the expired ones and those whose peer closed, so that an idle pool holds no dead socket
/// (a connection the server closed would otherwise sit in CLOSE_WAIT until a later request for its destination).
/// </summary>
internal sealed class ConnectionPool : IDisposable
{
    /// <summary>
    /// Idle connections kept per destination; one returned beyond it is closed. Sized for a burst of new callers:
    /// each needs an app connection at the same moment, and every one not kept from the previous burst is dialled
    /// again, with its TLS handshake and chain building. At 64, a burst of 800 new TLS callers a second (perf hs)
    /// dialled about 3,000 app connections for 4,000 requests (perf/RESULTS.md, issue 16). Idle ones still go after
    /// <see cref="IdleTimeout"/> (and the sweep), so a quiet pod returns to none.
    /// </summary>
    public const int MaxIdlePerDestination = 1024;
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How often idle connections are looked at. It bounds how long a socket whose server closed it (or one past
    /// <see cref="IdleTimeout"/>) stays open: a few seconds keeps that short next to typical server keep-alive
    /// timeouts (5 s to 75 s), and a pass costs one non-blocking poll per idle connection.
    /// </summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, List<(Channel Channel, long IdleSince)>> _idle = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ITimer _sweep;
    private long _reused;
    private long _discarded;
    private long _swept;
    private volatile bool _disposed;

    /// <param name="time">The clock of the idle timeout and of the sweep (a manual one in tests); the system's by default.</param>
    public ConnectionPool(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _sweep = _time.CreateTimer(static pool => ((ConnectionPool)pool!).Sweep(), this, SweepInterval, SweepInterval);
    }

    public long Reused => Volatile.Read(ref _reused);

    public long Discarded => Volatile.Read(ref _discarded);

    /// <summary>Idle connections closed by the sweep (expired, or closed by their peer).</summary>
    public long Swept => Volatile.Read(ref _swept);

    /// <summary>Idle connections held now, over every destination.</summary>
    public int Count => _idle.Values.Sum(list => { lock (list) { return list.Count; } });

    /// <summary>An idle, still-open connection to <paramref name="destination"/>, or null.</summary>
    public Channel? TryRent(string destination)
    {
        if (!_idle.TryGetValue(destination, out List<(Channel Channel, long IdleSince)>? list))
        {
            return null;
        }

        while (true)
        {
            (Channel Channel, long IdleSince) entry;
            lock (list)
            {
                if (list.Count == 0)
                {
                    return null;
                }

                entry = list[^1];
                list.RemoveAt(list.Count - 1); // ours from here: the sweep no longer sees it
            }

            if (_time.GetElapsedTime(entry.IdleSince) < IdleTimeout && entry.Channel.IsIdleAndOpen())
            {
                Interlocked.Increment(ref _reused);
                return entry.Channel;
            }

            Interlocked.Increment(ref _discarded);
            _ = entry.Channel.DisposeAsync();
        }
    }

    /// <summary>Keeps a connection whose exchange ended cleanly with keep-alive; otherwise closes it.</summary>
    public void Return(string destination, Channel channel)
    {
        List<(Channel Channel, long IdleSince)> list = _idle.GetOrAdd(destination, static _ => []);
        lock (list)
        {
            if (!_disposed && list.Count < MaxIdlePerDestination)
            {
                list.Add((channel, _time.GetTimestamp()));
                return;
            }
        }

        _ = channel.DisposeAsync();
    }

    /// <summary>
    /// Closes the idle connections past <see cref="IdleTimeout"/> or no longer open (the peer closed, or sent
    /// something unasked). Runs on the timer; a connection is removed under its destination's lock, so a
    /// concurrent <see cref="TryRent"/> either took it first or never sees it.
    /// </summary>
    public void Sweep()
    {
        // A timer callback must never throw (it would end the process): a channel that cannot even say whether it is
        // open is not.
        static bool StillOpen(Channel channel)
        {
            try
            {
                return channel.IsIdleAndOpen();
            }
            catch (Exception e) when (ConnectionErrors.IsExpected(e))
            {
                return false;
            }
        }

        var dead = new List<Channel>();
        foreach (List<(Channel Channel, long IdleSince)> list in _idle.Values)
        {
            lock (list)
            {
                list.RemoveAll(entry =>
                {
                    if (!_disposed && _time.GetElapsedTime(entry.IdleSince) < IdleTimeout && StillOpen(entry.Channel))
                    {
                        return false;
                    }

                    dead.Add(entry.Channel);
                    return true;
                });
            }
        }

        foreach (Channel channel in dead)
        {
            Interlocked.Increment(ref _swept);
            _ = channel.DisposeAsync();
        }
    }

    /// <summary>Stops the sweep and closes every idle connection.</summary>
    public void Dispose()
    {
        _disposed = true;
        _sweep.Dispose();
        Sweep();
    }
}
