using Switchyard.Proxy;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Proxy;

public sealed class MemoryTrimTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public void A_large_drop_trims_once_it_has_settled_and_not_while_connections_are_still_closing()
    {
        var trim = new MemoryTrim(_clock);
        Assert.False(trim.ShouldTrim(0));
        Assert.False(trim.ShouldTrim(8000)); // the burst
        Assert.False(trim.ShouldTrim(8000));
        Assert.False(trim.ShouldTrim(3000)); // closing: past half, but still falling
        Assert.False(trim.ShouldTrim(0));
        Assert.True(trim.ShouldTrim(0)); // settled
        Assert.False(trim.ShouldTrim(0)); // nothing more to give back
    }

    [Fact]
    public void A_drop_one_short_of_the_minimum_or_to_more_than_half_the_peak_does_not_trim()
    {
        var trim = new MemoryTrim(_clock);
        trim.ShouldTrim(MemoryTrim.MinimumDrop * 2 - 1);
        Assert.False(trim.ShouldTrim(MemoryTrim.MinimumDrop));
        Assert.False(trim.ShouldTrim(MemoryTrim.MinimumDrop)); // 255 closed, settled: too few

        var half = new MemoryTrim(_clock);
        half.ShouldTrim(1000);
        Assert.False(half.ShouldTrim(501));
        Assert.False(half.ShouldTrim(501)); // 499 closed but 501 of 1000 still open
        Assert.False(half.ShouldTrim(500));
        Assert.True(half.ShouldTrim(500)); // exactly half, settled
    }

    [Fact]
    public void Trims_are_spaced_by_the_minimum_interval()
    {
        var trim = new MemoryTrim(_clock);
        trim.ShouldTrim(2000);
        Assert.False(trim.ShouldTrim(0)); // falling
        Assert.True(trim.ShouldTrim(0)); // settled: the first trim
        Assert.False(trim.ShouldTrim(2000)); // a second burst
        _clock.Advance(MemoryTrim.MinimumInterval - TimeSpan.FromTicks(1));
        Assert.False(trim.ShouldTrim(0)); // gone, still falling
        Assert.False(trim.ShouldTrim(0)); // settled, but the last trim is too recent
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.True(trim.ShouldTrim(0));
    }

    [Fact]
    public void A_trim_runs_without_failing()
    {
        MemoryTrim.Trim(); // a full GC and malloc_trim on glibc; nothing to assert but that it returns
    }
}
