using System.Globalization;

namespace Switchyard.Kubernetes;

/// <summary>
/// Kubernetes name rules that inject must respect: container port names (IANA_SVC_NAME) and volume names (DNS-1123 label).
/// </summary>
public static class InjectNames
{
    /// <summary>
    /// IANA_SVC_NAME (k8s.io/apimachinery validation.IsValidPortName): at most 15 characters, lowercase alphanumerics and '-',
    /// at least one letter, no leading or trailing '-', no "--".
    /// </summary>
    public static bool IsValidPortName(string name) => Config.ConfigLimits.CheckPortName(name) is null; // the agent's own rule

    /// <summary>DNS-1123 label: at most 63 characters, lowercase alphanumerics and '-', starting and ending alphanumeric.</summary>
    public static bool IsDns1123Label(string name)
    {
        if (name.Length is 0 or > 63 || name[0] == '-' || name[^1] == '-')
        {
            return false;
        }

        foreach (char c in name)
        {
            if (c is not (>= 'a' and <= 'z') and not (>= '0' and <= '9') and not '-')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The new name of an app container port whose name the agent takes over: "app-" + NAME when that is valid, else a
    /// shortened name ("app-" + a prefix of NAME, then "a" + a counter) not in <paramref name="taken"/>.
    /// </summary>
    public static string AppPortName(string original, IReadOnlySet<string> taken)
    {
        string preferred = "app-" + original;
        if (IsValidPortName(preferred) && !taken.Contains(preferred))
        {
            return preferred;
        }

        string stem = Clean(original, 15);
        for (int n = 1; ; n++)
        {
            string suffix = n.ToString(CultureInfo.InvariantCulture);
            int room = 15 - "app-".Length - suffix.Length - 1;
            string head = stem.Length > room ? stem[..room].TrimEnd('-') : stem;
            string candidate = head.Length > 0 ? $"app-{head}-{suffix}" : $"app-{suffix}";
            if (IsValidPortName(candidate) && !taken.Contains(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>A DNS-1123 label made of <paramref name="prefix"/> and <paramref name="name"/>, at most 63 characters, not in <paramref name="taken"/>.</summary>
    public static string VolumeName(string prefix, string name, IReadOnlySet<string> taken)
    {
        string whole = Clean(prefix + name, 63);
        if (IsDns1123Label(whole) && !taken.Contains(whole))
        {
            return whole;
        }

        for (int n = 1; ; n++)
        {
            string suffix = "-" + n.ToString(CultureInfo.InvariantCulture);
            string head = whole.Length > 63 - suffix.Length ? whole[..(63 - suffix.Length)].TrimEnd('-') : whole;
            string candidate = head + suffix;
            if (IsDns1123Label(candidate) && !taken.Contains(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>Lowercase, characters outside [a-z0-9-] and runs of '-' collapsed to one '-', trimmed of '-', cut to <paramref name="max"/>.</summary>
    internal static string Clean(string text, int max)
    {
        var chars = new System.Text.StringBuilder(text.Length);
        foreach (char raw in text)
        {
            char c = char.ToLowerInvariant(raw);
            c = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-';
            if (c == '-' && (chars.Length == 0 || chars[^1] == '-'))
            {
                continue;
            }

            chars.Append(c);
        }

        string cleaned = chars.ToString().Trim('-');
        return cleaned.Length > max ? cleaned[..max].TrimEnd('-') : cleaned;
    }
}
