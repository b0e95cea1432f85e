using System.IO.Pipelines;
using Switchyard.Transport;
using Switchyard.Upstream.Tunnel;

namespace Switchyard.Tests.Upstream.Tunnel;

public sealed class TunnelPoolTests
{
    /// <summary>An in-memory channel whose peer can "close" it (completes its input).</summary>
    private sealed class FakeChannel : Channel
    {
        private readonly Pipe _in = new();
        private readonly Pipe _out = new();

        public bool Disposed { get; private set; }

        public override PipeReader Input => _in.Reader;

        public override PipeWriter Output => _out.Writer;

        public void PeerCloses() => _in.Writer.Complete();

        public override ValueTask CloseOutputAsync() => _out.Writer.CompleteAsync();

        public override void Abort() => Disposed = true;

        public override ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }

        public override bool IsIdleAndOpen()
        {
            if (!Input.TryRead(out ReadResult result))
            {
                return true;
            }

            bool idle = result.Buffer.IsEmpty && !result.IsCompleted;
            Input.AdvanceTo(result.Buffer.Start);
            return idle;
        }
    }

    [Fact]
    public async Task An_idle_connection_is_taken_first_in_first_out()
    {
        var pool = new TunnelPool();
        var first = new FakeChannel();
        var second = new FakeChannel();
        Assert.True(pool.Add(first));
        Assert.True(pool.Add(second));

        Assert.Same(first, await pool.TakeAsync(TimeSpan.Zero));
        Assert.Same(second, await pool.TakeAsync(TimeSpan.Zero));
        Assert.Equal(0, pool.IdleCount);
    }

    [Fact]
    public async Task A_connection_the_developer_closed_while_idle_is_skipped_and_disposed()
    {
        var pool = new TunnelPool();
        var closed = new FakeChannel();
        var open = new FakeChannel();
        pool.Add(closed);
        pool.Add(open);
        closed.PeerCloses();

        Assert.Same(open, await pool.TakeAsync(TimeSpan.Zero));
        Assert.True(closed.Disposed);
    }

    [Fact]
    public async Task A_taker_waits_for_the_replacement_the_cli_opens()
    {
        var pool = new TunnelPool();
        Task<Channel?> waiting = pool.TakeAsync(TimeSpan.FromSeconds(10));
        Assert.False(waiting.IsCompleted);

        var fresh = new FakeChannel();
        Assert.True(pool.Add(fresh));

        Assert.Same(fresh, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, pool.IdleCount);
    }

    [Fact]
    public async Task A_taker_gives_up_after_its_wait_and_a_later_connection_stays_idle()
    {
        var pool = new TunnelPool();

        Assert.Null(await pool.TakeAsync(TimeSpan.FromMilliseconds(50)));
        Assert.True(pool.Add(new FakeChannel()));
        Assert.Equal(1, pool.IdleCount);
    }

    [Fact]
    public async Task Closing_disposes_the_idle_connections_releases_waiters_and_refuses_new_ones()
    {
        var pool = new TunnelPool();
        var idle = new FakeChannel();
        pool.Add(idle);
        await pool.TakeAsync(TimeSpan.Zero); // take it so that a waiter can queue
        pool.Add(idle);
        var other = new TunnelPool();
        Task<Channel?> waiter = other.TakeAsync(TimeSpan.FromSeconds(10));

        pool.Close();
        other.Close();

        Assert.True(idle.Disposed);
        Assert.Null(await waiter.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(pool.Add(new FakeChannel()));
        Assert.Null(await pool.TakeAsync(TimeSpan.FromSeconds(10)).WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_full_pool_refuses_more_idle_connections()
    {
        var pool = new TunnelPool();
        for (int i = 0; i < TunnelPool.MaxIdle; i++)
        {
            Assert.True(pool.Add(new FakeChannel()));
        }

        Assert.False(pool.Add(new FakeChannel()));
    }
}
