namespace Switchyard.Config;

/// <summary>
/// Bounds on the config file and its free-form strings, so that a mistaken or hostile config cannot make the agent
/// hold megabytes of text that then appear in every log line and metric label. Each names the rule it follows.
/// </summary>
public static class ConfigLimits
{
    /// <summary>The largest config file: 1 MiB. A config for a pod with dozens of ports and intercepts is a few KiB; a ConfigMap holds at most 1 MiB.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>Deepest nesting of JSON objects and arrays (a `match` filter nests at most 16 filters, two levels each).</summary>
    public const int MaxJsonDepth = 48;

    /// <summary>
    /// A port name is a Kubernetes container port name, an IANA service name (RFC 6335 5.1, Kubernetes
    /// IsValidPortName): at most 15 characters, lower-case letters, digits and '-', at least one letter, no '-' at
    /// either end and no "--".
    /// </summary>
    public const int MaxPortNameLength = 15;

    /// <summary>An intercept id: at most 63 characters (a DNS label's length; ids appear in logs, metrics and the tunnel).</summary>
    public const int MaxInterceptIdLength = 63;

    /// <summary>A Kubernetes object name or namespace, a label key or value: at most 253 characters (a DNS subdomain).</summary>
    public const int MaxKubernetesNameLength = 253;

    /// <summary>Any string in the file, and any key: at most 4096 characters (Linux PATH_MAX, the longest file path).</summary>
    public const int MaxStringLength = 4096;

    /// <summary>Null when <paramref name="name"/> is a valid port name (see <see cref="MaxPortNameLength"/>), else why not.</summary>
    public static string? CheckPortName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        const string Rule = "a port name is an IANA service name as Kubernetes requires: at most 15 characters, lower-case letters, digits and '-', at least one letter, no '-' at either end or twice in a row";
        if (name.Length == 0)
        {
            return "must not be empty";
        }

        if (name.Length > MaxPortNameLength)
        {
            return $"\"{Shorten(name)}\" is {name.Length} characters long; {Rule}";
        }

        bool letter = false;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c is >= 'a' and <= 'z')
            {
                letter = true;
            }
            else if (c is not ((>= '0' and <= '9') or '-'))
            {
                return $"\"{Shorten(name)}\" holds {Shown(c)}; {Rule}";
            }
        }

        if (!letter)
        {
            return $"\"{name}\" has no letter; {Rule}";
        }

        if (name[0] == '-' || name[^1] == '-' || name.Contains("--", StringComparison.Ordinal))
        {
            return $"\"{name}\" starts or ends with '-' or holds \"--\"; {Rule}";
        }

        return null;
    }

    /// <summary>Null when <paramref name="value"/> is at most <paramref name="max"/> characters without control characters, else why not.</summary>
    public static string? CheckText(string value, int max)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > max)
        {
            return $"\"{Shorten(value)}\" is {value.Length} characters long; the limit is {max}";
        }

        foreach (char c in value)
        {
            if (char.IsControl(c))
            {
                return $"\"{Shorten(value)}\" holds the control character {Shown(c)}";
            }
        }

        return null;
    }

    /// <summary>The first 40 characters of a long value (for messages: a 30 MB value must not be echoed back).</summary>
    public static string Shorten(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string safe = new(value.AsSpan(0, Math.Min(value.Length, 40)).ToArray().Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return value.Length > 40 ? safe + "..." : safe;
    }

    private static string Shown(char c) => char.IsControl(c) || c == ' ' || c > '~'
        ? $"U+{(int)c:X4}"
        : $"'{c}'";
}
