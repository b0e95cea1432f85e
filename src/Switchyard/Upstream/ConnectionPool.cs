using System.Collections.Concurrent;
using System.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Upstream;

/// <summary>
/// Idle keep-alive connections per destination (the app of a port, or an intercept's target), reused last-in
/// first-out so that a handful of connections stay warm. A connection is handed out only if it is still open and
/// has nothing unread (a peer that closed or spoke while idle is discarded); idle ones expire after a while.
/// </summary>
internal sealed class ConnectionPool
{
    public const int MaxIdlePerDestination = 64;
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, ConcurrentStack<(Channel Channel, long IdleSince)>> _idle = new(StringComparer.Ordinal);
    private long _reused;
    private long _discarded;

    public long Reused => Volatile.Read(ref _reused);

    public long Discarded => Volatile.Read(ref _discarded);

    /// <summary>An idle, still-open connection to <paramref name="destination"/>, or null.</summary>
    public Channel? TryRent(string destination)
    {
        if (!_idle.TryGetValue(destination, out ConcurrentStack<(Channel Channel, long IdleSince)>? stack))
        {
            return null;
        }

        while (stack.TryPop(out (Channel Channel, long IdleSince) entry))
        {
            if (Stopwatch.GetElapsedTime(entry.IdleSince) < IdleTimeout && entry.Channel.IsIdleAndOpen())
            {
                Interlocked.Increment(ref _reused);
                return entry.Channel;
            }

            Interlocked.Increment(ref _discarded);
            _ = entry.Channel.DisposeAsync();
        }

        return null;
    }

    /// <summary>Keeps a connection whose exchange ended cleanly with keep-alive; otherwise closes it.</summary>
    public void Return(string destination, Channel channel)
    {
        ConcurrentStack<(Channel Channel, long IdleSince)> stack = _idle.GetOrAdd(destination, static _ => new());
        if (stack.Count >= MaxIdlePerDestination)
        {
            _ = channel.DisposeAsync();
            return;
        }

        stack.Push((channel, Stopwatch.GetTimestamp()));
    }
}
