using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Switchyard.Diagnostics;

/// <summary>
/// A Prometheus histogram of durations (seconds). Buckets suit a proxy in front of an app: from 0.5 ms (a local
/// answer) to 10 s (a slow upload), as Prometheus' own defaults but finer at the low end. One interlocked add per
/// observation for the bucket, one for the sum (in Stopwatch ticks) and one for the count.
/// </summary>
internal sealed class DurationHistogram
{
    public static readonly double[] Bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly string[] BoundText = Bounds.Select(b => b.ToString(CultureInfo.InvariantCulture)).ToArray();

    private readonly long[] _buckets = new long[Bounds.Length + 1]; // the last one: above every bound (+Inf only)
    private long _sumTicks;
    private long _count;

    public void Observe(long elapsedTicks)
    {
        double seconds = (double)elapsedTicks / Stopwatch.Frequency;
        int i = 0;
        while (i < Bounds.Length && seconds > Bounds[i])
        {
            i++;
        }

        Interlocked.Increment(ref _buckets[i]);
        Interlocked.Add(ref _sumTicks, elapsedTicks);
        Interlocked.Increment(ref _count);
    }

    public long Count => Volatile.Read(ref _count);

    /// <summary>Writes the _bucket (cumulative, le), _sum and _count lines of one label set.</summary>
    public void Render(StringBuilder sb, string metric, string labels)
    {
        long cumulative = 0;
        for (int i = 0; i < Bounds.Length; i++)
        {
            cumulative += Volatile.Read(ref _buckets[i]);
            sb.Append(metric).Append("_bucket{").Append(labels).Append(",le=\"").Append(BoundText[i]).Append("\"} ")
                .Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        // +Inf equals _count by definition; read count once so that a concurrent observation cannot make them differ.
        long count = Math.Max(Count, cumulative + Volatile.Read(ref _buckets[Bounds.Length]));
        sb.Append(metric).Append("_bucket{").Append(labels).Append(",le=\"+Inf\"} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        double sum = (double)Volatile.Read(ref _sumTicks) / Stopwatch.Frequency;
        sb.Append(metric).Append("_sum{").Append(labels).Append("} ").Append(sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(metric).Append("_count{").Append(labels).Append("} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }
}

/// <summary>A histogram per label value (a route), created on first use.</summary>
internal sealed class LabeledHistogram
{
    private readonly ConcurrentDictionary<string, DurationHistogram> _values = new(StringComparer.Ordinal);

    public void Observe(string label, long elapsedTicks) => _values.GetOrAdd(label, static _ => new DurationHistogram()).Observe(elapsedTicks);

    public DurationHistogram? Get(string label) => _values.GetValueOrDefault(label);

    public IEnumerable<KeyValuePair<string, DurationHistogram>> Snapshot() => _values.OrderBy(kv => kv.Key, StringComparer.Ordinal);
}
