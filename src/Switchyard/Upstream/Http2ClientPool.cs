using System.Collections.Concurrent;
using Switchyard.Http2;

namespace Switchyard.Upstream;

/// <summary>
/// Pooled HTTP/2 client connections per destination key (same key rules as the HTTP/1 pool). A stream takes any
/// connection with room under the destination's SETTINGS_MAX_CONCURRENT_STREAMS; when none has room, one more is
/// dialled (one dial at a time per key: concurrent streams wait for it instead of each opening a connection).
/// Connections leave the pool when they end or receive GOAWAY.
/// </summary>
internal sealed class Http2ClientPool
{
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
        List<Http2Connection> list = _connections.GetOrAdd(key, static _ => []);
        lock (list)
        {
            list.Add(connection);
        }

        _ = RunAsync(list, connection);
    }

    private static async Task RunAsync(List<Http2Connection> list, Http2Connection connection)
    {
        await connection.RunAsync().ConfigureAwait(false);
        lock (list)
        {
            list.Remove(connection);
        }

        await connection.DisposeAsync().ConfigureAwait(false);
    }
}
