using Switchyard.Config;

namespace Switchyard.Tests.Config;

public sealed class DurationTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("1ms", 1)]
    [InlineData("2s", 2_000)]
    [InlineData("30s", 30_000)]
    [InlineData("1m", 60_000)]
    [InlineData("10m", 600_000)]
    [InlineData("0.5s", 500)]
    [InlineData("1.5m", 90_000)]
    [InlineData("007s", 7_000)]
    [InlineData("0ms", 0)]
    [InlineData("2147483647ms", int.MaxValue)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("0s", 0)]
    [InlineData("2h45m", 9_900_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("2s500ms", 2_500)]
    [InlineData("1500us", 1)] // 1.5 ms: TimeSpan keeps the fraction, the assertion rounds (see below)
    public void A_number_with_a_unit_parses_to_that_many_milliseconds(string text, int milliseconds)
    {
        Assert.True(Duration.TryParse(text, out TimeSpan value));
        Assert.Equal(milliseconds, (int)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("1d")]
    [InlineData("abc")]
    [InlineData("-1s")]
    [InlineData("+1s")]
    [InlineData("1")]
    [InlineData("ms")]
    [InlineData("s")]
    [InlineData("m")]
    [InlineData(" 2s")]
    [InlineData("2s ")]
    [InlineData("2 s")]
    [InlineData("2S")]
    [InlineData("2MS")]
    [InlineData("1e3ms")]
    [InlineData(".5s")]
    [InlineData("1,5s")]
    [InlineData("1_000ms")]
    [InlineData("2147483648ms")]
    [InlineData("35791395m")]
    [InlineData("1m30")]
    [InlineData("1m 30s")]
    [InlineData("1h-5m")]
    [InlineData("597h")]
    public void Anything_else_is_rejected(string? text)
    {
        Assert.False(Duration.TryParse(text, out _));
    }
}
