using System.Globalization;

namespace Switchyard.Config;

/// <summary>Durations in config and on the command line: a number followed by ms, s or m (SPEC "Durations").</summary>
public static class Duration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 1.0),
            _ when text.EndsWith('s') => (text[..^1], 1000.0),
            _ when text.EndsWith('m') => (text[..^1], 60_000.0),
            _ => (string.Empty, 0.0),
        };
        if (scale == 0 || number.Length == 0 || !char.IsAsciiDigit(number[0]) ||
            !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n) ||
            double.IsInfinity(n * scale) || n * scale > int.MaxValue)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(n * scale);
        return true;
    }
}
