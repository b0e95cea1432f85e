using Microsoft.Extensions.Logging;
using Switchyard.Http2;
using Switchyard.Tests.TestSupport;
using Switchyard.Upstream;

namespace Switchyard.Tests.Http2.Connection;

/// <summary>Pooled HTTP/2 destinations: streams share a connection until the destination's MAX_CONCURRENT_STREAMS, then another is dialled.</summary>
public sealed class Http2ClientPoolTests
{
    [Fact]
    public async Task ADestinationsConcurrencyLimitOpensASecondConnectionAndConcurrentCallersShareOneDial()
    {
        var pool = new Http2ClientPool();
        var peers = new List<PipeChannel>();
        int dials = 0;
        async Task<Http2Connection?> Dial()
        {
            Interlocked.Increment(ref dials);
            await Task.Yield();
            (PipeChannel client, PipeChannel server) = PipeChannel.CreatePair();
            peers.Add(server);
            await new FramePeer(server).SendAsync(o => Http2FrameWriter.WriteSettings(o, [(Http2SettingId.MaxConcurrentStreams, 1)]));
            return new Http2Connection(client, isServer: false);
        }

        // Ten callers at once: one dial, one connection.
        Http2Connection?[] first = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => pool.GetAsync("dest", Dial)));
        Assert.Equal(1, dials);
        Assert.All(first, c => Assert.Same(first[0], c));

        using var request = new Http2HeaderList();
        request.Add(":method", "GET");
        request.Add(":scheme", "http");
        request.Add(":path", "/");
        await first[0]!.OpenStreamAsync(request, endStream: true);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (first[0]!.CanOpenStream && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10); // until the destination's SETTINGS (1 stream) are applied
        }

        Assert.False(first[0]!.CanOpenStream);
        Http2Connection? second = await pool.GetAsync("dest", Dial);
        Assert.NotNull(second);
        Assert.NotSame(first[0], second);
        Assert.Equal(2, dials);
        Assert.Equal(2, pool.Count);

        foreach (PipeChannel peer in peers)
        {
            await peer.DisposeAsync(); // the destinations go away: the pool forgets their connections
        }

        deadline = DateTime.UtcNow.AddSeconds(5);
        while (pool.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public async Task Streams_racing_for_a_newly_dialled_connection_all_follow_its_preface()
    {
        // The race seen with 100 concurrent streams: a caller found the new connection in the pool before it had
        // started, and its HEADERS reached the destination ahead of the preface (GOAWAY PROTOCOL_ERROR from Kestrel).
        for (int round = 0; round < 20; round++)
        {
            var pool = new Http2ClientPool();
            (PipeChannel client, PipeChannel server) = PipeChannel.CreatePair();
            var peer = new FramePeer(server);
            await peer.SendAsync(o => Http2FrameWriter.WriteSettings(o, []));
            int dials = 0;
            Task<Http2Connection?> Dial() =>
                Interlocked.Increment(ref dials) == 1 ? Task.FromResult<Http2Connection?>(new Http2Connection(client, isServer: false)) : Task.FromResult<Http2Connection?>(null);

            // Four callers arrive while the dial is under way (they look the key up again and again, as streams arriving
            // one after another do), four more wait for the dial; every one opens a stream as soon as it has the connection.
            async Task OpenAsync(Http2Connection connection, int i)
            {
                using var request = new Http2HeaderList();
                request.Add(":method", "GET");
                request.Add(":scheme", "http");
                request.Add(":path", $"/{i}");
                await connection.OpenStreamAsync(request, endStream: true);
            }

            Task[] lookers = [.. Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
            {
                Http2Connection? found;
                while ((found = pool.TryGet("dest")) is null)
                {
                    await Task.Yield(); // looks again at once without holding a thread-pool thread (the dial needs one)
                }

                await OpenAsync(found, i);
            }))];
            Task[] waiters = [.. Enumerable.Range(4, 4).Select(i => Task.Run(async () =>
            {
                Http2Connection? connection = await pool.GetAsync("dest", Dial);
                Assert.NotNull(connection);
                await OpenAsync(connection, i);
            }))];
            await Task.WhenAll([.. lookers, .. waiters]).WaitAsync(TimeSpan.FromSeconds(10));

            Assert.Equal(Http2FrameWriter.ClientPreface.ToArray(), await Http2ClientConnectionTests.ReadPrefaceAsync(server));
            for (int stream = 1; stream <= 15; stream += 2)
            {
                await peer.ReadUntilAsync(Http2FrameType.Headers, f => f.StreamId == stream);
            }

            Assert.Equal(1, dials);
            await server.DisposeAsync();
            pool.Dispose();
        }
    }

    [Fact]
    public async Task A_destination_that_ends_the_connection_with_an_error_is_reported_with_its_code_and_debug_text()
    {
        var logger = new CapturingLogger();
        using var pool = new Http2ClientPool(logger: logger);
        (PipeChannel client, PipeChannel server) = PipeChannel.CreatePair();
        var peer = new FramePeer(server);
        await peer.SendAsync(o => Http2FrameWriter.WriteSettings(o, []));
        Http2Connection? connection = await pool.GetAsync("h2|app|web", () => Task.FromResult<Http2Connection?>(new Http2Connection(client, isServer: false)));
        Assert.NotNull(connection);

        await peer.SendAsync(o => Http2FrameWriter.WriteGoAway(o, 0, Http2ErrorCode.ProtocolError, "Invalid HTTP/2 connection preface.\n"u8));
        await server.DisposeAsync();

        Assert.True(await Eventually.TrueAsync(() => logger.Messages(2013).Any(), TimeSpan.FromSeconds(5)));
        Assert.Equal("HTTP/2 connection to h2|app|web ended by the destination: GOAWAY ProtocolError: Invalid HTTP/2 connection preface.?",
            Assert.Single(logger.Messages(2013)));
        Assert.Equal(LogLevel.Warning, logger.Lines.Single(l => l.EventId == 2013).Level);
    }

    /// <summary>A pooled connection to a destination that answered the preface with empty SETTINGS, and the destination's end.</summary>
    private static async Task<(Http2Connection Connection, FramePeer Peer, PipeChannel Server)> PooledAsync(Http2ClientPool pool)
    {
        (PipeChannel client, PipeChannel server) = PipeChannel.CreatePair();
        var peer = new FramePeer(server);
        await peer.SendAsync(o => Http2FrameWriter.WriteSettings(o, []));
        Http2Connection? connection = await pool.GetAsync("dest", () => Task.FromResult<Http2Connection?>(new Http2Connection(client, isServer: false)));
        Assert.NotNull(connection);
        await Http2ClientConnectionTests.ReadPrefaceAsync(server);
        return (connection, peer, server);
    }

    [Fact]
    public async Task A_connection_that_carries_no_stream_for_the_idle_timeout_gets_goaway_no_error_and_is_closed()
    {
        var clock = new ManualClock();
        using var pool = new Http2ClientPool(clock);
        (Http2Connection connection, FramePeer peer, PipeChannel server) = await PooledAsync(pool);

        TimeSpan elapsed = TimeSpan.Zero;
        while (pool.Count == 1 && elapsed <= Http2ClientPool.IdleTimeout + (2 * ConnectionPool.SweepInterval))
        {
            Assert.True(connection.CanOpenStream);
            clock.Advance(ConnectionPool.SweepInterval);
            elapsed += ConnectionPool.SweepInterval;
        }

        Assert.Equal(0, pool.Count);
        Assert.InRange(elapsed, Http2ClientPool.IdleTimeout, Http2ClientPool.IdleTimeout + (2 * ConnectionPool.SweepInterval));
        Assert.Equal(1, pool.ClosedIdle);
        Assert.False(connection.CanOpenStream);
        FramePeer.Frame goAway = await peer.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)Http2ErrorCode.NoError, FramePeer.UInt32(goAway.Payload, 4));
        while (await peer.ReadAsync() is not null)
        {
            // until our side is closed
        }

        await server.DisposeAsync();
    }

    [Fact]
    public async Task A_connection_with_a_stream_in_flight_is_not_closed_for_idleness()
    {
        var clock = new ManualClock();
        using var pool = new Http2ClientPool(clock);
        (Http2Connection connection, FramePeer peer, PipeChannel server) = await PooledAsync(pool);
        using var request = new Http2HeaderList();
        request.Add(":method", "GET");
        request.Add(":scheme", "http");
        request.Add(":path", "/slow");
        await connection.OpenStreamAsync(request, endStream: true); // never answered

        for (TimeSpan elapsed = TimeSpan.Zero; elapsed < 2 * Http2ClientPool.IdleTimeout; elapsed += ConnectionPool.SweepInterval)
        {
            clock.Advance(ConnectionPool.SweepInterval);
        }

        Assert.Equal(1, pool.Count);
        Assert.Equal(0, pool.ClosedIdle);
        Assert.False(connection.TryRetireIdle());
        await server.DisposeAsync();
    }
}
