namespace Switchyard.Tests.TestSupport;

/// <summary>
/// A clock that moves only when <see cref="Advance"/> is called, with timers (so <c>Task.Delay(t, clock)</c> and
/// anything built on <see cref="TimeProvider.CreateTimer"/> run on it). Timers fire inside <see cref="Advance"/>,
/// on the caller's thread, in due order: when it returns, every callback that was due has run and none that was
/// not due has. A timer armed with a zero due time fires on the next <see cref="Advance"/> (even of zero).
/// </summary>
/// <remarks>
/// Unlike the frame tests' <c>FakeTimeProvider</c> (timestamps only), this one has timers and tells when one is
/// armed (<see cref="WhenArmedAsync"/>), so a test can wait for the code under test to start waiting.
/// </remarks>
public sealed class ManualClock : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Lock _lock = new();
    private readonly List<ClockTimer> _timers = [];
    private readonly List<(int Count, TaskCompletionSource Armed)> _waiters = [];
    private long _now = TimeSpan.FromDays(1).Ticks; // not 0, so nothing can rely on a zero start
    private long _order;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Timers currently armed (created and not yet fired, disarmed or disposed; a periodic one stays armed).</summary>
    public int ArmedTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => t.Due is not null);
            }
        }
    }

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ClockTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Completes once at least <paramref name="count"/> timers are armed at the same time (at once if they already are).</summary>
    public Task WhenArmedAsync(int count = 1)
    {
        lock (_lock)
        {
            if (ArmedLocked() >= count)
            {
                return Task.CompletedTask;
            }

            var armed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, armed));
            return armed.Task;
        }
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way (in due order, on this thread).</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        long target;
        lock (_lock)
        {
            target = _now + by.Ticks;
        }

        while (true)
        {
            ClockTimer? next = null;
            lock (_lock)
            {
                foreach (ClockTimer timer in _timers)
                {
                    if (timer.Due is long due && due <= target &&
                        (next is null || due < next.Due || (due == next.Due && timer.Order < next.Order)))
                    {
                        next = timer;
                    }
                }

                if (next is null)
                {
                    _now = target;
                    return;
                }

                _now = Math.Max(_now, next.Due!.Value);
                next.Due = next.Period is long period ? _now + period : null;
                next.Order = ++_order;
            }

            next.Callback(next.State); // outside the lock: it may arm or dispose timers
        }
    }

    private int ArmedLocked() => _timers.Count(t => t.Due is not null);

    private bool Change(ClockTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, TimeSpan.Zero);
        }

        if (period != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.Zero);
        }

        List<TaskCompletionSource> ready = [];
        lock (_lock)
        {
            if (timer.Disposed)
            {
                return false;
            }

            timer.Due = dueTime == Timeout.InfiniteTimeSpan ? null : _now + dueTime.Ticks;
            timer.Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period.Ticks;
            timer.Order = ++_order;
            if (!_timers.Contains(timer))
            {
                _timers.Add(timer);
            }

            int armed = ArmedLocked();
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Count <= armed)
                {
                    ready.Add(_waiters[i].Armed);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (TaskCompletionSource armed in ready)
        {
            armed.TrySetResult();
        }

        return true;
    }

    private void Remove(ClockTimer timer)
    {
        lock (_lock)
        {
            timer.Disposed = true;
            timer.Due = null;
            _timers.Remove(timer);
        }
    }

    private sealed class ClockTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        /// <summary>When it fires next (clock ticks), or null while disarmed. Guarded by the clock's lock, like the rest.</summary>
        public long? Due { get; set; }

        public long? Period { get; set; }

        public long Order { get; set; }

        public bool Disposed { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period) => clock.Change(this, dueTime, period);

        public void Dispose() => clock.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
