using Switchyard.Http2;
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
}
