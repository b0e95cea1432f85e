using Switchyard.Transport;

namespace Switchyard.Upstream.Tunnel;

/// <summary>
/// The idle reverse data connections of one developer (one intercept id). The agent takes one when it needs a new
/// connection to that developer; a taker that finds none waits up to a bound for the replacement the developer's
/// CLI opens. Connections the CLI closed while idle are skipped. Closing the pool closes every idle connection and
/// wakes every waiter with nothing.
/// </summary>
internal sealed class TunnelPool
{
    public const int MaxIdle = 32;

    private readonly Lock _lock = new();
    private readonly Queue<Channel> _idle = new();
    private readonly Queue<TaskCompletionSource<Channel?>> _waiters = new();
    private bool _closed;

    public int IdleCount
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>Hands a fresh data connection to a waiter, or keeps it idle. False (and the caller closes it) when the pool is closed or full.</summary>
    public bool Add(Channel channel)
    {
        while (true)
        {
            TaskCompletionSource<Channel?>? waiter = null;
            lock (_lock)
            {
                if (_closed || (_waiters.Count == 0 && _idle.Count >= MaxIdle))
                {
                    return false;
                }

                if (_waiters.Count == 0)
                {
                    _idle.Enqueue(channel);
                    return true;
                }

                waiter = _waiters.Dequeue();
            }

            if (waiter.TrySetResult(channel))
            {
                return true;
            }

            // That waiter gave up just now: offer the connection to the next one (or keep it idle).
        }
    }

    /// <summary>An open idle connection, or one that arrives within <paramref name="wait"/>; null otherwise.</summary>
    public async Task<Channel?> TakeAsync(TimeSpan wait)
    {
        TaskCompletionSource<Channel?> waiter;
        lock (_lock)
        {
            while (_idle.TryDequeue(out Channel? idle))
            {
                if (idle.IsIdleAndOpen())
                {
                    return idle;
                }

                _ = idle.DisposeAsync();
            }

            if (_closed)
            {
                return null;
            }

            waiter = new TaskCompletionSource<Channel?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }

        using var timeout = new CancellationTokenSource(wait);
        await using (timeout.Token.Register(static w => ((TaskCompletionSource<Channel?>)w!).TrySetResult(null), waiter).ConfigureAwait(false))
        {
            return await waiter.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Closes every idle connection and releases every waiter with null; later adds are refused.</summary>
    public void Close()
    {
        List<Channel> idle;
        List<TaskCompletionSource<Channel?>> waiters;
        lock (_lock)
        {
            _closed = true;
            idle = [.. _idle];
            waiters = [.. _waiters];
            _idle.Clear();
            _waiters.Clear();
        }

        foreach (TaskCompletionSource<Channel?> waiter in waiters)
        {
            waiter.TrySetResult(null);
        }

        foreach (Channel channel in idle)
        {
            channel.Abort();
            _ = channel.DisposeAsync();
        }
    }
}
