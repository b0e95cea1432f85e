using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Tests.Http2.Connection;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Proxy;

/// <summary>Every timeout of a connection at its edge, on a manual clock: one tick short nothing happens, one tick past it ends.</summary>
public sealed class HeartbeatTests : IDisposable
{
    private static readonly PortLimits Limits = new()
    {
        IdleTimeout = TimeSpan.FromSeconds(120),
        RequestHeadTimeout = TimeSpan.FromSeconds(10),
        StreamIdleTimeout = TimeSpan.FromMinutes(5),
    };

    private readonly ManualClock _clock = new();
    private readonly ConnectionTracker _tracker = new();
    private readonly Heartbeat _heartbeat;

    public HeartbeatTests() => _heartbeat = new Heartbeat(_tracker, _clock, NullLogger.Instance);

    public void Dispose() => _heartbeat.Dispose();

    private (ConnectionContext Context, PipeChannel Caller) Open(ConnectionPhase phase)
    {
        PortSettings port = TestContexts.Port(9) with { Limits = Limits };
        var context = new ConnectionContext();
        context.Start(_tracker.NextId(), new PortRuntime(port, NullLogger.Instance), _clock);
        (PipeChannel ours, PipeChannel caller) = PipeChannel.CreatePair();
        context.Downstream = ours;
        context.SetPhase(phase);
        _tracker.Add(context);
        return (context, caller);
    }

    private static async Task AssertAbortedAsync(PipeChannel caller)
    {
        // The agent's side was aborted (PipeChannel.Abort fails its output): the caller's read fails.
        await Assert.ThrowsAsync<IOException>(async () => await caller.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData(ConnectionPhase.Idle, 120, ConnectionEndReason.IdleTimeout)]
    [InlineData(ConnectionPhase.RequestHead, 10, ConnectionEndReason.RequestHeadTimeout)]
    [InlineData(ConnectionPhase.Exchange, 300, ConnectionEndReason.StreamIdleTimeout)]
    public async Task A_phase_ends_the_connection_just_past_its_limit_with_its_own_reason(ConnectionPhase phase, int seconds, ConnectionEndReason expected)
    {
        (ConnectionContext context, PipeChannel caller) = Open(phase);

        _clock.Advance(TimeSpan.FromSeconds(seconds)); // exactly the limit: not past it
        _heartbeat.Tick();
        Assert.Null(context.Expired);

        _clock.Advance(TimeSpan.FromSeconds(1));
        _heartbeat.Tick();
        Assert.Equal(expected, context.Expired);
        Assert.Equal(1, context.Port.Metrics.Timeouts.Get(expected.Name()));
        await AssertAbortedAsync(caller);
    }

    [Fact]
    public void Bytes_moving_keep_an_exchange_alive()
    {
        (ConnectionContext context, _) = Open(ConnectionPhase.Exchange);
        for (int i = 0; i < 10; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(4));
            context.AddIn(1); // a byte every 4 minutes: never 5 minutes without one
            _heartbeat.Tick();
        }

        Assert.Null(context.Expired);
        _clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        _heartbeat.Tick();
        Assert.Equal(ConnectionEndReason.StreamIdleTimeout, context.Expired);
    }

    [Fact]
    public void Bytes_do_not_extend_a_request_head_or_an_idle_connection()
    {
        (ConnectionContext context, _) = Open(ConnectionPhase.RequestHead);
        for (int i = 0; i < 10; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            context.AddIn(1); // a slowloris trickle
            _heartbeat.Tick();
        }

        _clock.Advance(TimeSpan.FromSeconds(1));
        _heartbeat.Tick();
        Assert.Equal(ConnectionEndReason.RequestHeadTimeout, context.Expired);
    }

    [Fact]
    public void An_unbounded_connection_never_times_out()
    {
        (ConnectionContext context, _) = Open(ConnectionPhase.Unbounded);
        _clock.Advance(TimeSpan.FromDays(3));
        _heartbeat.Tick();
        Assert.Null(context.Expired);
    }

    [Fact]
    public void A_new_phase_starts_its_own_clock()
    {
        (ConnectionContext context, _) = Open(ConnectionPhase.Idle);
        _clock.Advance(TimeSpan.FromSeconds(119));
        context.SetPhase(ConnectionPhase.RequestHead); // a request started just before the idle limit
        _clock.Advance(TimeSpan.FromSeconds(9));
        _heartbeat.Tick();
        Assert.Null(context.Expired);
        context.SetPhase(ConnectionPhase.Idle);
        _clock.Advance(TimeSpan.FromSeconds(119));
        _heartbeat.Tick();
        Assert.Null(context.Expired);
    }

    [Fact]
    public void The_timer_ticks_once_a_second_by_itself()
    {
        (ConnectionContext context, _) = Open(ConnectionPhase.RequestHead);
        for (int i = 0; i < 11; i++)
        {
            _clock.Advance(Heartbeat.Interval); // the heartbeat's own timer fires inside Advance
        }

        Assert.Equal(ConnectionEndReason.RequestHeadTimeout, context.Expired);
    }
}

/// <summary>Recognising the kernel's write-stall abort at the end of a connection.</summary>
public sealed class WriteStallEndTests
{
    [Fact]
    public void A_reset_in_an_exchange_quiet_for_the_stall_limit_is_a_write_stall_and_a_fresh_one_is_not()
    {
        var clock = new ManualClock();
        PortSettings port = TestContexts.Port(9) with { Limits = new PortLimits { WriteStallTimeout = TimeSpan.FromSeconds(2) } };
        var context = new ConnectionContext();
        context.Start(1, new PortRuntime(port, NullLogger.Instance), clock);
        context.SetPhase(ConnectionPhase.Exchange);
        context.AddOut(4096);
        context.Reason = ConnectionEndReason.DownstreamReset;
        context.Detail = "Broken pipe";

        clock.Advance(TimeSpan.FromMilliseconds(200));
        Assert.False(ConnectionHandler.EndedByWriteStall(context)); // bytes moved a moment ago: the caller reset

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(ConnectionHandler.EndedByWriteStall(context));

        context.Detail = "Connection timed out";
        clock.Advance(TimeSpan.Zero);
        context.AddOut(1);
        Assert.True(ConnectionHandler.EndedByWriteStall(context)); // the kernel's own word for it
    }
}
