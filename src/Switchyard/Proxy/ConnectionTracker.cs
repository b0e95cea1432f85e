using System.Collections.Concurrent;

namespace Switchyard.Proxy;

/// <summary>Open connections of the whole agent, so that a drain can wait for them and, past its deadline, abort them.</summary>
internal sealed class ConnectionTracker
{
    private readonly ConcurrentDictionary<long, ConnectionContext> _open = new();
    private long _nextId;
    private TaskCompletionSource? _idle;

    public long Count => _open.Count;

    /// <summary>The open connections (a live view: the heartbeat walks it).</summary>
    public IEnumerable<ConnectionContext> Open => _open.Values;

    public long NextId() => Interlocked.Increment(ref _nextId);

    public void Add(ConnectionContext context) => _open[context.Id] = context;

    public void Remove(ConnectionContext context)
    {
        _open.TryRemove(context.Id, out _);
        if (_open.IsEmpty)
        {
            Volatile.Read(ref _idle)?.TrySetResult();
        }
    }

    /// <summary>Completes when no connection is open (checked again after registering, so none is missed).</summary>
    public Task WhenIdle()
    {
        var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _idle, idle);
        if (_open.IsEmpty)
        {
            idle.TrySetResult();
        }

        return idle.Task;
    }

    /// <summary>
    /// Drain: every HTTP/2 caller gets GOAWAY (its open streams finish, no new ones start); every HTTP/1 caller
    /// waiting for its next request is closed at once, one mid-request after that request.
    /// </summary>
    public void GoAwayAll()
    {
        // Every connection is marked first, then the idle ones are woken: no caller can see one connection closed by
        // the drain while another still answers as if none had begun.
        foreach (ConnectionContext context in _open.Values)
        {
            context.MarkDraining();
        }

        foreach (ConnectionContext context in _open.Values)
        {
            context.BeginDrain();
            if (context.Http2 is { } connection)
            {
                _ = connection.ShutdownAsync().AsTask();
            }
        }
    }

    public void AbortAll()
    {
        foreach (ConnectionContext context in _open.Values)
        {
            context.Reason = ConnectionEndReason.DrainTimeout;
            context.Abort();
        }
    }
}
