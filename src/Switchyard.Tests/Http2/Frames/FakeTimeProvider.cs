namespace Switchyard.Tests.Http2.Frames;

/// <summary>A clock that moves only when told to: timestamps in <see cref="TimeSpan"/> ticks (10^7 per second).</summary>
public sealed class FakeTimeProvider : TimeProvider
{
    private long _ticks = TimeSpan.FromDays(1).Ticks; // not 0, so nothing can rely on a zero start

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(_ticks);

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        _ticks += by.Ticks;
    }
}
