using System.Text;

namespace Switchyard.Routing;

/// <summary>Small text helpers: quoting for messages, RFC 9110 token checks, JSON path building.</summary>
internal static class FilterText
{
    /// <summary>A double-quoted, escaped rendering of <paramref name="value"/> for messages and explanations.</summary>
    public static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2);
        builder.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (char.IsControl(c))
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append('"').ToString();
    }

    // RFC 9110 5.6.2: token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
    //   "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    public static bool IsTokenChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
          or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';

    /// <summary>Null when <paramref name="value"/> is a token, else why not (for a header name or a method).</summary>
    public static string? CheckToken(string value, string what)
    {
        if (value.Length == 0)
        {
            return $"{what} must not be empty";
        }

        for (int i = 0; i < value.Length; i++)
        {
            if (!IsTokenChar(value[i]))
            {
                string shown = char.IsControl(value[i]) || value[i] == ' '
                    ? $"U+{(int)value[i]:X4}"
                    : $"'{value[i]}'";
                return $"invalid {what} {Quote(value)}: {shown} at index {i} is not a token character (RFC 9110 5.6.2)";
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="path"/> may be an exact or prefix path operand, else why not.</summary>
    public static string? CheckPathLiteral(string path) =>
        path.Length > 0 && path[0] == '/' ? null : $"must start with '/', found {Quote(path)}";

    /// <summary>`$.a.b` for identifier-like keys, `$.a['odd key']` otherwise.</summary>
    public static string Child(string jsonPath, string key)
    {
        bool simple = key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_');
        for (int i = 1; simple && i < key.Length; i++)
        {
            simple = char.IsAsciiLetterOrDigit(key[i]) || key[i] == '_';
        }

        return simple ? $"{jsonPath}.{key}" : $"{jsonPath}['{key.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}']";
    }

    public static string Index(string jsonPath, int index) => $"{jsonPath}[{index}]";
}
