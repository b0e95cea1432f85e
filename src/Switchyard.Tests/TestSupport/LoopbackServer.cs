using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.Tests.TestSupport;

/// <summary>
/// A TCP server on 127.0.0.1 with an ephemeral port that runs a handler per accepted connection. Handler failures
/// are expected (peers that give up half-way) and only recorded; disposing stops accepting and closes connections.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<Socket, Task> _handler;
    private readonly ConcurrentBag<Socket> _accepted = [];
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _connectionCount;

    public LoopbackServer(Func<Socket, Task> handler)
    {
        _handler = handler;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    public ConcurrentQueue<Exception> HandlerErrors { get; } = new();

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync();
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _connectionCount);
            _accepted.Add(socket);
            _connections.Add(Task.Run(async () =>
            {
                try
                {
                    await _handler(socket);
                }
                catch (Exception e)
                {
                    HandlerErrors.Enqueue(e);
                }
                finally
                {
                    socket.Dispose();
                }
            }));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _acceptLoop;
        foreach (Socket socket in _accepted)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(static _ => { }, TaskScheduler.Default);
    }
}
