using System.Globalization;
using System.Text;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>One sample line of the Prometheus text exposition format.</summary>
public sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A small parser for the Prometheus text format (enough for GET /metrics).</summary>
public static class PrometheusText
{
    public static IReadOnlyList<MetricSample> Parse(string text)
    {
        var samples = new List<MetricSample>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var i = 0;
            while (i < line.Length && line[i] != '{' && line[i] != ' ')
            {
                i++;
            }

            var name = line[..i];
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (i < line.Length && line[i] == '{')
            {
                i++;
                while (i < line.Length && line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    if (eq < 0)
                    {
                        throw new FormatException($"bad metric line: {line}");
                    }

                    var key = line[i..eq].Trim().TrimStart(',').Trim();
                    i = eq + 1;
                    if (line[i] != '"')
                    {
                        throw new FormatException($"bad label value in: {line}");
                    }

                    i++;
                    var value = new StringBuilder();
                    while (line[i] != '"')
                    {
                        if (line[i] == '\\' && i + 1 < line.Length)
                        {
                            i++;
                            value.Append(line[i] == 'n' ? '\n' : line[i]);
                        }
                        else
                        {
                            value.Append(line[i]);
                        }

                        i++;
                    }

                    i++;
                    labels[key] = value.ToString();
                    while (i < line.Length && (line[i] == ',' || line[i] == ' '))
                    {
                        i++;
                    }
                }

                i++;
            }

            var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (rest.Length == 0)
            {
                throw new FormatException($"metric line without value: {line}");
            }

            samples.Add(new MetricSample(name, labels, ParseValue(rest[0])));
        }

        return samples;
    }

    /// <summary>Sum of every sample called <paramref name="name"/> whose labels include all of <paramref name="labels"/>; 0 when none.</summary>
    public static double Sum(string text, string name, params (string Key, string Value)[] labels) =>
        Parse(text)
            .Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value))
            .Sum(s => s.Value);

    private static double ParseValue(string value) => value switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
