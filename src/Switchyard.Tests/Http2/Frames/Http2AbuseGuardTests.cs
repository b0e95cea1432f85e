using Switchyard.Http2;

namespace Switchyard.Tests.Http2.Frames;

/// <summary>
/// <see cref="Http2AbuseGuard"/>: every limit holds exactly up to its threshold and trips just past it, and the
/// token buckets refill with (fake) time, never beyond their burst.
/// </summary>
public sealed class Http2AbuseGuardTests
{
    private readonly FakeTimeProvider _clock = new();

    /// <summary>Small limits so the tests are quick; every burst and rate is different, to catch crossed wires.</summary>
    private static readonly Http2Limits Small = new()
    {
        ResetBurst = 5,
        ResetsPerSecond = 2,
        HeaderListTooLargeBurst = 3,
        HeaderListTooLargePerSecond = 1,
        SettingsBurst = 4,
        SettingsPerSecond = 4,
        PingBurst = 6,
        PingsPerSecond = 5,
        EmptyFrameBurst = 7,
        EmptyFramesPerSecond = 10,
        PriorityBurst = 8,
        PrioritiesPerSecond = 20,
        MaxHeaderBlockBytes = 1000,
        MaxContinuationFrames = 3,
        MaxSettingsEntries = 4,
        ZeroWindowTimeout = TimeSpan.FromSeconds(10),
    };

    public enum Event
    {
        PeerReset,
        LocalReset,
        StreamRefused,
        StreamOpeningOverLimit,
        HeaderListTooLarge,
        Settings,
        Ping,
        EmptyFrame,
        Priority,
    }

    private static Http2AbuseVerdict? Fire(Http2AbuseGuard guard, Event e) => e switch
    {
        Event.PeerReset => guard.OnPeerReset(),
        Event.LocalReset => guard.OnLocalReset(),
        Event.StreamRefused => guard.OnStreamRefused(),
        Event.StreamOpeningOverLimit => guard.OnStreamOpening(activeStreams: 10, maxConcurrentStreams: 10) is { IsStreamError: false } v ? v : null,
        Event.HeaderListTooLarge => guard.OnHeaderListTooLarge(),
        Event.Settings => guard.OnSettings(entryCount: 2),
        Event.Ping => guard.OnPing(),
        Event.EmptyFrame => guard.OnEmptyFrame(),
        Event.Priority => guard.OnPriority(),
        _ => throw new ArgumentOutOfRangeException(nameof(e)),
    };

    public static TheoryData<Event, int, int, string> Buckets() => new()
    {
        { Event.PeerReset, 5, 2, "rapid_reset" },
        { Event.LocalReset, 5, 2, "rapid_reset" },
        { Event.StreamRefused, 5, 2, "rapid_reset" },
        { Event.StreamOpeningOverLimit, 5, 2, "rapid_reset" },
        { Event.HeaderListTooLarge, 3, 1, "header_list_too_large" },
        { Event.Settings, 4, 4, "settings_flood" },
        { Event.Ping, 6, 5, "ping_flood" },
        { Event.EmptyFrame, 7, 10, "empty_frame_flood" },
        { Event.Priority, 8, 20, "priority_flood" },
    };

    [Theory]
    [MemberData(nameof(Buckets))]
    public void ABurstIsAllowedAndTheNextEventTrips(Event e, int burst, int perSecond, string reason)
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        for (int i = 0; i < burst; i++)
        {
            Assert.Null(Fire(guard, e));
        }

        Http2AbuseVerdict? verdict = Fire(guard, e);
        Assert.NotNull(verdict);
        Assert.Equal(reason, verdict.Reason);
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, verdict.Code);
        Assert.False(verdict.IsStreamError);
        Assert.NotNull(Fire(guard, e)); // and stays tripped while time stands still
        Assert.True(perSecond > 0);
    }

    [Theory]
    [MemberData(nameof(Buckets))]
    public void OneTokenComesBackPerInterval(Event e, int burst, int perSecond, string reason)
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        for (int i = 0; i < burst; i++)
        {
            Assert.Null(Fire(guard, e));
        }

        TimeSpan interval = TimeSpan.FromTicks(TimeSpan.TicksPerSecond / perSecond);
        for (int round = 0; round < 5; round++)
        {
            _clock.Advance(interval - TimeSpan.FromTicks(1));
            Assert.Equal(reason, Fire(guard, e)?.Reason); // not quite yet
            _clock.Advance(TimeSpan.FromTicks(1));
            Assert.Null(Fire(guard, e)); // exactly one more...
            Assert.Equal(reason, Fire(guard, e)?.Reason); // ...and only one
        }
    }

    [Theory]
    [MemberData(nameof(Buckets))]
    public void AnIdleBucketRefillsToItsBurstAndNoFurther(Event e, int burst, int perSecond, string reason)
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        for (int i = 0; i < burst; i++)
        {
            Assert.Null(Fire(guard, e));
        }

        _clock.Advance(TimeSpan.FromSeconds(100.0 * burst / perSecond)); // long enough for 100 bursts
        for (int i = 0; i < burst; i++)
        {
            Assert.Null(Fire(guard, e));
        }

        Assert.Equal(reason, Fire(guard, e)?.Reason);
    }

    [Theory]
    [MemberData(nameof(Buckets))]
    public void TheSustainedRateIsAllowedForever(Event e, int burst, int perSecond, string reason)
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        TimeSpan interval = TimeSpan.FromTicks(TimeSpan.TicksPerSecond / perSecond);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Null(Fire(guard, e));
            _clock.Advance(interval);
        }

        // Still a whole burst available on top (the bucket never drained).
        for (int i = 0; i < burst; i++)
        {
            Assert.Null(Fire(guard, e));
        }

        Assert.Equal(reason, Fire(guard, e)?.Reason);
    }

    [Fact]
    public void ResetsRefusalsAndLocalResetsShareOneBudget()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        Assert.Null(guard.OnPeerReset());
        Assert.Null(guard.OnLocalReset());
        Assert.Null(guard.OnStreamRefused());
        Assert.Same(Http2AbuseVerdict.TooManyStreams, guard.OnStreamOpening(5, 5));
        Assert.Null(guard.OnPeerReset()); // the fifth
        Assert.Same(Http2AbuseVerdict.RapidReset, guard.OnLocalReset());
        Assert.Same(Http2AbuseVerdict.RapidReset, guard.OnStreamOpening(5, 5));

        // Other buckets are untouched.
        Assert.Null(guard.OnPing());
        Assert.Null(guard.OnSettings());
        Assert.Null(guard.OnHeaderListTooLarge());
    }

    [Fact]
    public void BucketsAreIndependent()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        for (int i = 0; i < Small.PingBurst; i++)
        {
            Assert.Null(guard.OnPing());
        }

        Assert.Same(Http2AbuseVerdict.PingFlood, guard.OnPing());
        Assert.Null(guard.OnEmptyFrame());
        Assert.Null(guard.OnPriority());
        Assert.Null(guard.OnPeerReset());
        Assert.Null(guard.OnSettings());
        Assert.Null(guard.OnHeaderListTooLarge());
    }

    // ---------------------------------------------------------------- streams over MAX_CONCURRENT_STREAMS

    [Fact]
    public void StreamsUnderTheLimitOpenAndCostNothing()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Null(guard.OnStreamOpening(activeStreams: i % 128, maxConcurrentStreams: 128));
        }

        Assert.Null(guard.OnPeerReset()); // the reset budget is whole
    }

    [Fact]
    public void AStreamOverTheLimitIsRefusedWithAStreamErrorUntilTheResetBudgetIsGone()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        Assert.Null(guard.OnStreamOpening(127, 128));
        for (int i = 0; i < Small.ResetBurst; i++)
        {
            Http2AbuseVerdict? verdict = guard.OnStreamOpening(128 + i, 128);
            Assert.NotNull(verdict);
            Assert.Same(Http2AbuseVerdict.TooManyStreams, verdict);
            Assert.True(verdict.IsStreamError);
            Assert.Equal(Http2ErrorCode.RefusedStream, verdict.Code);
            Assert.Equal("too_many_streams", verdict.Reason);
        }

        Http2AbuseVerdict? last = guard.OnStreamOpening(128, 128);
        Assert.NotNull(last);
        Assert.Same(Http2AbuseVerdict.RapidReset, last);
        Assert.False(last.IsStreamError);
        Assert.Null(guard.OnStreamOpening(0, 128)); // under the limit there is nothing to refuse or count
    }

    [Fact]
    public void AMaxConcurrentStreamsOfZeroRefusesEveryStream()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        Assert.Same(Http2AbuseVerdict.TooManyStreams, guard.OnStreamOpening(0, 0));
    }

    // ---------------------------------------------------------------- CONTINUATION flood

    [Fact]
    public void AHeaderBlockMayReachTheByteLimitButNotPassIt()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        Assert.Null(guard.OnHeaderBlockFragment(400, isContinuation: false));
        Assert.Null(guard.OnHeaderBlockFragment(400, isContinuation: true));
        Assert.Null(guard.OnHeaderBlockFragment(200, isContinuation: true)); // exactly 1000
        Assert.Same(Http2AbuseVerdict.ContinuationFlood, guard.OnHeaderBlockFragment(1, isContinuation: true));
    }

    [Fact]
    public void ASingleHeadersFragmentOverTheByteLimitTrips()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        Assert.Null(guard.OnHeaderBlockFragment(1000, isContinuation: false));
        Assert.Same(Http2AbuseVerdict.ContinuationFlood, guard.OnHeaderBlockFragment(1001, isContinuation: false));
    }

    [Fact]
    public void AHeaderBlockMayHaveTheMaximumOfContinuationFramesButNotOneMore()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        Assert.Null(guard.OnHeaderBlockFragment(1, isContinuation: false));
        for (int i = 0; i < Small.MaxContinuationFrames; i++)
        {
            Assert.Null(guard.OnHeaderBlockFragment(1, isContinuation: true));
        }

        Http2AbuseVerdict? verdict = guard.OnHeaderBlockFragment(0, isContinuation: true);
        Assert.NotNull(verdict);
        Assert.Same(Http2AbuseVerdict.ContinuationFlood, verdict);
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, verdict.Code);
        Assert.Equal("continuation_flood", verdict.Reason);
    }

    [Fact]
    public void EachHeaderBlockStartsFromZero()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        for (int block = 0; block < 100; block++)
        {
            Assert.Null(guard.OnHeaderBlockFragment(250, isContinuation: false));
            for (int i = 0; i < Small.MaxContinuationFrames; i++)
            {
                Assert.Null(guard.OnHeaderBlockFragment(250, isContinuation: true));
            }
        }
    }

    [Fact]
    public void TheDefaultHeaderBlockLimitsAllowALegitimateLargeBlock()
    {
        var guard = new Http2AbuseGuard(time: _clock);
        Assert.Null(guard.OnHeaderBlockFragment(16_384, isContinuation: false));
        for (int i = 0; i < 7; i++)
        {
            Assert.Null(guard.OnHeaderBlockFragment(16_384, isContinuation: true)); // 8 x 16 KiB = 128 KiB
        }

        Assert.Same(Http2AbuseVerdict.ContinuationFlood, guard.OnHeaderBlockFragment(1, isContinuation: true));

        // A flood of tiny CONTINUATION frames is cut off long before the byte limit.
        Assert.Null(guard.OnHeaderBlockFragment(1, isContinuation: false));
        for (int i = 0; i < 32; i++)
        {
            Assert.Null(guard.OnHeaderBlockFragment(1, isContinuation: true));
        }

        Assert.Same(Http2AbuseVerdict.ContinuationFlood, guard.OnHeaderBlockFragment(1, isContinuation: true));
    }

    // ---------------------------------------------------------------- SETTINGS size

    [Fact]
    public void ASettingsFrameMayHaveTheMaximumOfEntriesButNotOneMore()
    {
        var guard = new Http2AbuseGuard(Small, _clock);
        Assert.Null(guard.OnSettings(Small.MaxSettingsEntries));
        Assert.Same(Http2AbuseVerdict.SettingsFlood, guard.OnSettings(Small.MaxSettingsEntries + 1));
        Assert.Null(guard.OnSettings(0));
        Assert.Null(guard.OnSettings());
    }

    // ---------------------------------------------------------------- defaults, verdicts, configuration

    [Fact]
    public void DefaultLimitsAreTheDocumentedOnes()
    {
        Http2Limits d = Http2Limits.Default;
        Assert.Equal((200, 50), (d.ResetBurst, d.ResetsPerSecond));
        Assert.Equal((128 * 1024, 32), (d.MaxHeaderBlockBytes, d.MaxContinuationFrames));
        Assert.Equal((10, 1), (d.HeaderListTooLargeBurst, d.HeaderListTooLargePerSecond));
        Assert.Equal((10, 1, 32), (d.SettingsBurst, d.SettingsPerSecond, d.MaxSettingsEntries));
        Assert.Equal((100, 50), (d.PingBurst, d.PingsPerSecond));
        Assert.Equal((50, 10), (d.EmptyFrameBurst, d.EmptyFramesPerSecond));
        Assert.Equal((100, 20), (d.PriorityBurst, d.PrioritiesPerSecond));
        Assert.Equal(TimeSpan.FromSeconds(30), d.ZeroWindowTimeout);
        Assert.Same(d, new Http2AbuseGuard().Limits);
    }

    [Fact]
    public void WithDefaultsABrowserCancellingAPageIsFineButARapidResetAttackIsNot()
    {
        var guard = new Http2AbuseGuard(time: _clock);
        for (int i = 0; i < 128; i++)
        {
            Assert.Null(guard.OnPeerReset()); // a whole page of streams cancelled at once
        }

        _clock.Advance(TimeSpan.FromSeconds(10));
        Http2AbuseVerdict? verdict = null;
        int resets = 0;
        while (verdict is null && resets < 10_000)
        {
            verdict = guard.OnPeerReset(); // as fast as the attacker can
            resets++;
        }

        Assert.Same(Http2AbuseVerdict.RapidReset, verdict);
        Assert.Equal(201, resets); // the bucket had refilled to its burst of 200
    }

    [Fact]
    public void VerdictsAreSharedWithStableSnakeCaseReasons()
    {
        Http2AbuseVerdict[] all =
        [
            Http2AbuseVerdict.RapidReset, Http2AbuseVerdict.ContinuationFlood, Http2AbuseVerdict.HeaderListTooLarge,
            Http2AbuseVerdict.SettingsFlood, Http2AbuseVerdict.PingFlood, Http2AbuseVerdict.EmptyFrameFlood,
            Http2AbuseVerdict.PriorityFlood, Http2AbuseVerdict.TooManyStreams, Http2AbuseVerdict.ZeroWindowStall,
        ];
        Assert.Equal(
            ["rapid_reset", "continuation_flood", "header_list_too_large", "settings_flood", "ping_flood", "empty_frame_flood", "priority_flood", "too_many_streams", "zero_window_stall"],
            all.Select(v => v.Reason));
        Assert.All(all, v => Assert.Matches("^[a-z]+(_[a-z]+)*$", v.Reason));
        Assert.All(all.Where(v => v != Http2AbuseVerdict.TooManyStreams), v =>
        {
            Assert.Equal(Http2ErrorCode.EnhanceYourCalm, v.Code);
            Assert.False(v.IsStreamError);
        });
        Assert.Same(Http2AbuseVerdict.PingFlood, Http2AbuseVerdict.PingFlood);
    }

    public static TheoryData<string, Http2Limits> InvalidLimits() => new()
    {
        { "reset burst 0", new Http2Limits { ResetBurst = 0 } },
        { "reset rate 0", new Http2Limits { ResetsPerSecond = 0 } },
        { "settings burst negative", new Http2Limits { SettingsBurst = -1 } },
        { "ping rate 0", new Http2Limits { PingsPerSecond = 0 } },
        { "empty frame rate 0", new Http2Limits { EmptyFramesPerSecond = 0 } },
        { "priority burst 0", new Http2Limits { PriorityBurst = 0 } },
        { "header list rate 0", new Http2Limits { HeaderListTooLargePerSecond = 0 } },
        { "negative header block", new Http2Limits { MaxHeaderBlockBytes = -1 } },
        { "negative continuations", new Http2Limits { MaxContinuationFrames = -1 } },
        { "negative settings entries", new Http2Limits { MaxSettingsEntries = -1 } },
        { "negative stall timeout", new Http2Limits { ZeroWindowTimeout = TimeSpan.FromSeconds(-1) } },
    };

    [Theory]
    [MemberData(nameof(InvalidLimits))]
    public void InvalidLimitsAreRejected(string what, Http2Limits limits)
    {
        Assert.False(string.IsNullOrEmpty(what));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Http2AbuseGuard(limits, _clock));
    }

    [Fact]
    public void ALimitCanBeEffectivelyDisabled()
    {
        var guard = new Http2AbuseGuard(new Http2Limits { PingBurst = int.MaxValue, PingsPerSecond = 1 }, _clock);
        for (int i = 0; i < 100_000; i++)
        {
            Assert.Null(guard.OnPing());
        }
    }

    [Fact]
    public void TheSystemClockIsTheDefault()
    {
        var guard = new Http2AbuseGuard();
        Assert.Null(guard.OnPing());
    }

    [Fact]
    public void CountingDoesNotAllocate()
    {
        var guard = new Http2AbuseGuard(time: _clock);

        long Run()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                _ = guard.OnPing();
                _ = guard.OnEmptyFrame();
                _ = guard.OnPeerReset();
                _ = guard.OnSettings(3);
                _ = guard.OnPriority();
                _ = guard.OnStreamOpening(200, 128);
                _ = guard.OnHeaderBlockFragment(10, isContinuation: i % 10 != 0);
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Run(); // warm-up; verdicts are shared instances, so tripped limits do not allocate either
        Assert.Equal(0, Run());
    }
}
