using System.Net.Sockets;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;

namespace Switchyard.Tests.Transport;

public sealed class AcceptBackoffTests
{
    [Theory]
    [InlineData(SocketError.ConnectionAborted)]
    [InlineData(SocketError.ConnectionReset)]
    public void A_connection_that_went_away_before_accept_is_skipped_at_once(SocketError error)
    {
        var backoff = new AcceptBackoff();
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(TimeSpan.Zero, backoff.OnError(error));
        }
    }

    [Theory]
    [InlineData(SocketError.TooManyOpenSockets)]
    [InlineData(SocketError.NoBufferSpaceAvailable)]
    public void Running_out_of_a_resource_waits_twice_as_long_each_time_up_to_a_second_and_starts_over_after_a_success(SocketError error)
    {
        var backoff = new AcceptBackoff();
        var waits = Enumerable.Range(0, 10).Select(_ => backoff.OnError(error).TotalMilliseconds).ToArray();
        Assert.Equal([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000], waits);

        backoff.OnSuccess();
        Assert.Equal(AcceptBackoff.MinDelay, backoff.OnError(error));
    }

    [Fact]
    public void A_failing_listener_is_reported_once_per_interval_with_the_count_since_the_last_report()
    {
        var clock = new ManualClock();
        var backoff = new AcceptBackoff();
        backoff.OnError(SocketError.TooManyOpenSockets);
        Assert.True(backoff.ShouldReport(clock.GetTimestamp(), clock, out long first));
        Assert.Equal(1, first);

        for (int i = 0; i < 50; i++)
        {
            backoff.OnError(SocketError.TooManyOpenSockets);
            Assert.False(backoff.ShouldReport(clock.GetTimestamp(), clock, out _));
            clock.Advance(TimeSpan.FromMilliseconds(100)); // 5 s in all: inside the interval
        }

        clock.Advance(AcceptBackoff.ReportInterval);
        backoff.OnError(SocketError.TooManyOpenSockets);
        Assert.True(backoff.ShouldReport(clock.GetTimestamp(), clock, out long second));
        Assert.Equal(51, second);
    }
}
