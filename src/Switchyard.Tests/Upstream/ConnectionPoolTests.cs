using System.Net;
using System.Net.Sockets;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Tests.Upstream;

/// <summary>The idle HTTP/1 pool's sweep, on a manual clock, with real loopback connections.</summary>
public sealed class ConnectionPoolTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly ManualClock _clock = new();
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public ConnectionPoolTests()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>A pooled-style connection (dialled as the agent dials apps) and the server's end of it.</summary>
    private async Task<(SocketChannel Client, Socket Server)> DialAsync()
    {
        Task<Socket> accept = _listener.AcceptAsync();
        SocketChannel client = await SocketChannel.ConnectAsync("127.0.0.1", ((IPEndPoint)_listener.LocalEndPoint!).Port, Wait, CancellationToken.None);
        return (client, await accept.WaitAsync(Wait));
    }

    /// <summary>Completes when the client end is closed: the server reads end of stream.</summary>
    private static async Task ClosedByClientAsync(Socket server)
    {
        using var timeout = new CancellationTokenSource(Wait);
        Assert.Empty(await Loopback.ReadToEndAsync(server, timeout.Token));
    }

    /// <summary>Waits (without consuming) until the server's FIN has reached the client socket.</summary>
    private static void WaitForFin(SocketChannel client) =>
        Assert.True(client.Socket.Poll((int)Wait.TotalMicroseconds, SelectMode.SelectRead), "the server's FIN did not arrive");

    [Fact]
    public async Task A_pooled_connection_closed_by_its_server_is_closed_by_the_next_sweep()
    {
        using var pool = new ConnectionPool(_clock);
        (SocketChannel client, Socket server) = await DialAsync();
        using (server)
        {
            pool.Return("app", client);
            server.Shutdown(SocketShutdown.Send); // the server's keep-alive timeout: FIN (its reading side stays open to observe ours)
            WaitForFin(client);
            Assert.Equal(1, pool.Count); // nothing has looked yet: this is the CLOSE_WAIT socket of the soak

            _clock.Advance(ConnectionPool.SweepInterval);

            Assert.Equal(0, pool.Count);
            Assert.Equal(1, pool.Swept);
            await ClosedByClientAsync(server);
            Assert.Null(pool.TryRent("app"));
        }
    }

    [Fact]
    public async Task An_open_idle_connection_survives_sweeps_until_the_idle_timeout()
    {
        using var pool = new ConnectionPool(_clock);
        (SocketChannel client, Socket server) = await DialAsync();
        using (server)
        {
            pool.Return("app", client);
            TimeSpan elapsed = TimeSpan.Zero;
            while (elapsed + ConnectionPool.SweepInterval < ConnectionPool.IdleTimeout)
            {
                _clock.Advance(ConnectionPool.SweepInterval);
                elapsed += ConnectionPool.SweepInterval;
                Assert.Equal(1, pool.Count);
            }

            _clock.Advance(ConnectionPool.SweepInterval);

            Assert.Equal(0, pool.Count);
            Assert.Equal(1, pool.Swept);
            await ClosedByClientAsync(server);
        }
    }

    [Fact]
    public async Task A_live_connection_is_kept_by_the_sweep_and_rented_afterwards()
    {
        using var pool = new ConnectionPool(_clock);
        (SocketChannel live, Socket liveServer) = await DialAsync();
        (SocketChannel dead, Socket deadServer) = await DialAsync();
        using (liveServer)
        using (deadServer)
        {
            pool.Return("app", live);
            pool.Return("app", dead);
            deadServer.Shutdown(SocketShutdown.Send);
            WaitForFin(dead);

            _clock.Advance(ConnectionPool.SweepInterval);

            Assert.Equal(1, pool.Count);
            Assert.Same(live, pool.TryRent("app"));
            Assert.Equal(0, pool.Discarded);
            await ClosedByClientAsync(deadServer);
            await live.DisposeAsync();
        }
    }

    [Fact]
    public async Task Sweeps_racing_rents_never_hand_out_a_connection_they_closed()
    {
        using var pool = new ConnectionPool(_clock);
        var servers = new List<Socket>();
        var clients = new List<SocketChannel>();
        for (int i = 0; i < 16; i++)
        {
            (SocketChannel client, Socket server) = await DialAsync();
            servers.Add(server);
            clients.Add(client);
            pool.Return("app", client);
        }

        try
        {
            using var stop = new CancellationTokenSource();
            Task sweeping = Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    pool.Sweep();
                }
            });
            for (int round = 0; round < 2000; round++)
            {
                Channel? rented = pool.TryRent("app");
                Assert.NotNull(rented); // every connection is live: the sweep keeps them all
                Assert.True(rented.IsIdleAndOpen());
                pool.Return("app", rented);
            }

            await stop.CancelAsync();
            await sweeping;
            Assert.Equal(16, pool.Count);
            Assert.Equal(0, pool.Swept);
        }
        finally
        {
            servers.ForEach(s => s.Dispose());
            foreach (SocketChannel client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Dispose_stops_the_sweep_and_closes_the_idle_connections()
    {
        var pool = new ConnectionPool(_clock);
        (SocketChannel client, Socket server) = await DialAsync();
        using (server)
        {
            pool.Return("app", client);
            Assert.Equal(1, _clock.ArmedTimers);

            pool.Dispose();

            Assert.Equal(0, _clock.ArmedTimers);
            Assert.Equal(0, pool.Count);
            await ClosedByClientAsync(server);
        }
    }

    [Fact]
    public async Task A_connection_returned_beyond_the_idle_limit_is_closed_and_the_others_are_kept()
    {
        using var pool = new ConnectionPool(_clock);
        var peers = new List<Switchyard.Tests.Http2.Connection.PipeChannel>();
        for (int i = 0; i < ConnectionPool.MaxIdlePerDestination; i++)
        {
            (var client, var server) = Switchyard.Tests.Http2.Connection.PipeChannel.CreatePair();
            peers.Add(server);
            pool.Return("app", client);
        }

        Assert.Equal(ConnectionPool.MaxIdlePerDestination, pool.Count);

        (var extra, var extraServer) = Switchyard.Tests.Http2.Connection.PipeChannel.CreatePair();
        pool.Return("app", extra);

        Assert.Equal(ConnectionPool.MaxIdlePerDestination, pool.Count);
        System.IO.Pipelines.ReadResult end = await extraServer.Input.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.True(end.IsCompleted); // the one over the limit was closed
        Assert.True(peers[0].Input.TryRead(out System.IO.Pipelines.ReadResult kept) is false || !kept.IsCompleted);
        Assert.NotNull(pool.TryRent("app"));
        Assert.Equal(ConnectionPool.MaxIdlePerDestination - 1, pool.Count);
    }
}
