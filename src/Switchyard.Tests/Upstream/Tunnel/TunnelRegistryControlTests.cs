using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Tests.Http2.Connection;
using Switchyard.Tests.TestSupport;
using Switchyard.Upstream.Tunnel;

namespace Switchyard.Tests.Upstream.Tunnel;

/// <summary>The agent's side of a developer's control connection: a lost one waits for the grace period, a BYE does not.</summary>
public sealed class TunnelRegistryControlTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private readonly ManualClock _clock = new();

    private (TunnelRegistry Registry, List<string> Expired) Create(TimeSpan grace)
    {
        var expired = new List<string>();
        var registry = new TunnelRegistry(_ => true, id => { lock (expired) { expired.Add(id); } }, NullLogger.Instance) { Grace = grace, Time = _clock };
        return (registry, expired);
    }

    [Fact]
    public async Task A_developer_saying_BYE_is_removed_at_once_without_waiting_for_the_grace_period()
    {
        (TunnelRegistry registry, List<string> expired) = Create(grace: TimeSpan.FromMinutes(10));
        (PipeChannel agentSide, PipeChannel cliSide) = PipeChannel.CreatePair();

        Task control = registry.RunControlAsync("alice", agentSide, "test");
        Assert.True(registry.IsConnected("alice"));
        await cliSide.Output.WriteAsync("HB\nBY"u8.ToArray());
        await cliSide.Output.WriteAsync("E\n"u8.ToArray()); // a line split across reads still counts

        await control.WaitAsync(Patience); // the clock never moved: no grace period was waited for
        Assert.Equal(["alice"], expired);
        Assert.False(registry.IsConnected("alice"));
        Assert.Equal(0, _clock.ArmedTimers); // and none was started
        Assert.Equal(0, registry.Expired);
    }

    [Fact]
    public async Task A_lost_control_connection_is_removed_only_after_the_grace_period()
    {
        TimeSpan grace = TimeSpan.FromSeconds(2);
        (TunnelRegistry registry, List<string> expired) = Create(grace);
        (PipeChannel agentSide, PipeChannel cliSide) = PipeChannel.CreatePair();

        Task control = registry.RunControlAsync("bob", agentSide, "test");
        await cliSide.Output.WriteAsync("HB\n"u8.ToArray());
        await cliSide.Output.CompleteAsync(); // closed without BYE

        await _clock.WhenArmedAsync().WaitAsync(Patience); // the registry saw the loss and started the grace period
        Assert.False(registry.IsConnected("bob"));

        _clock.Advance(grace - TimeSpan.FromTicks(1));
        Assert.Equal(1, _clock.ArmedTimers); // still within the grace period: its timer is pending
        Assert.False(control.IsCompleted);
        lock (expired)
        {
            Assert.Empty(expired);
        }

        _clock.Advance(TimeSpan.FromTicks(1));
        await control.WaitAsync(Patience);
        Assert.Equal(["bob"], expired);
        Assert.Equal(1, registry.Expired);
    }
}
