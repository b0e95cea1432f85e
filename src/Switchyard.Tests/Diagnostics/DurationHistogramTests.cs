using System.Diagnostics;
using System.Globalization;
using System.Text;
using Switchyard.Diagnostics;

namespace Switchyard.Tests.Diagnostics;

public sealed class DurationHistogramTests
{
    private static long Ticks(double seconds) => (long)(seconds * Stopwatch.Frequency);

    private static Dictionary<string, double> Render(DurationHistogram histogram)
    {
        var sb = new StringBuilder();
        histogram.Render(sb, "m", "port=\"web\"");
        return sb.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => double.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Buckets_are_cumulative_with_each_bound_inclusive_and_inf_equal_to_count()
    {
        var histogram = new DurationHistogram();
        histogram.Observe(Ticks(0.0001)); // under the first bound
        histogram.Observe(Ticks(0.001)); // exactly on a bound: le is "less than or equal"
        histogram.Observe(Ticks(0.3));
        histogram.Observe(Ticks(60)); // above every bound

        Dictionary<string, double> lines = Render(histogram);

        Assert.Equal(1, lines["m_bucket{port=\"web\",le=\"0.0005\"}"]);
        Assert.Equal(2, lines["m_bucket{port=\"web\",le=\"0.001\"}"]);
        Assert.Equal(2, lines["m_bucket{port=\"web\",le=\"0.25\"}"]);
        Assert.Equal(3, lines["m_bucket{port=\"web\",le=\"0.5\"}"]);
        Assert.Equal(3, lines["m_bucket{port=\"web\",le=\"10\"}"]);
        Assert.Equal(4, lines["m_bucket{port=\"web\",le=\"+Inf\"}"]);
        Assert.Equal(4, lines["m_count{port=\"web\"}"]);
        Assert.Equal(60.3011, lines["m_sum{port=\"web\"}"], 3);
        Assert.Equal(DurationHistogram.Bounds.Length + 3, lines.Count);
    }

    [Fact]
    public void An_empty_histogram_renders_every_series_at_zero()
    {
        Dictionary<string, double> lines = Render(new DurationHistogram());

        Assert.All(lines.Values, v => Assert.Equal(0, v));
        Assert.Contains("m_bucket{port=\"web\",le=\"+Inf\"}", lines.Keys);
    }

    [Theory]
    [InlineData("0.1.0+4cd8299d9df6b38dce8a426e6cc8f26beaa11df0", "4cd8299d9df6b38dce8a426e6cc8f26beaa11df0")]
    [InlineData("0.1.0", "unknown")]
    [InlineData("0.1.0+", "unknown")]
    [InlineData(null, "unknown")]
    public void The_commit_is_what_follows_the_plus_of_the_informational_version(string? informational, string commit) =>
        Assert.Equal(commit, BuildInfo.ReadCommit(informational));
}
