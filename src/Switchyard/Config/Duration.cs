using System.Globalization;

namespace Switchyard.Config;

/// <summary>
/// Durations in config, annotations and on the command line (SPEC "Durations"): a number followed by <c>ms</c>,
/// <c>s</c> or <c>m</c>, or Go's form as Telepresence and Kubernetes write it — one or more number-and-unit parts with
/// the units <c>h</c>, <c>m</c>, <c>s</c>, <c>ms</c>, <c>us</c>/<c>µs</c>, <c>ns</c> (<c>1m30s</c>, <c>1h</c>, <c>0s</c>,
/// <c>1.5h</c>). No sign, no spaces; at most 2^31-1 ms (about 24 days).
/// </summary>
public static class Duration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        double total = 0;
        int at = 0;
        while (at < text.Length)
        {
            int start = at;
            while (at < text.Length && (char.IsAsciiDigit(text[at]) || text[at] == '.'))
            {
                at++;
            }

            if (at == start || !char.IsAsciiDigit(text[start]) ||
                !double.TryParse(text.AsSpan(start, at - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
            {
                return false; // a part must start with a digit (".5s" and "s" are refused)
            }

            (int length, double scale) = Unit(text.AsSpan(at));
            if (length == 0)
            {
                return false;
            }

            at += length;
            total += n * scale;
            if (double.IsInfinity(total) || total > int.MaxValue)
            {
                return false;
            }
        }

        value = TimeSpan.FromMilliseconds(total);
        return true;
    }

    /// <summary>The unit at the start of <paramref name="rest"/>: its length and milliseconds per unit (0, 0 when none).</summary>
    private static (int Length, double Scale) Unit(ReadOnlySpan<char> rest) => rest switch
    {
        _ when rest.StartsWith("ms") => (2, 1.0),
        _ when rest.StartsWith("us") || rest.StartsWith("µs") => (2, 0.001),
        _ when rest.StartsWith("ns") => (2, 0.000_001),
        _ when rest.StartsWith("h") => (1, 3_600_000.0),
        _ when rest.StartsWith("m") => (1, 60_000.0),
        _ when rest.StartsWith("s") => (1, 1000.0),
        _ => (0, 0.0),
    };
}
