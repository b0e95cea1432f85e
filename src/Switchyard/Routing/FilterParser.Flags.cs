namespace Switchyard.Routing;

public static partial class FilterParser
{
    /// <summary>The filter flags shared by `switchyard intercept` and the admin API (SPEC.md "Filter flags").</summary>
    public static IReadOnlyList<string> FlagNames { get; } =
        ["--header", "--header-regex", "--path-equal", "--path-prefix", "--path-regex", "--method", "--body-json", "--body-json-regex"];

    /// <summary>True when <paramref name="flag"/> is one of <see cref="FlagNames"/>.</summary>
    public static bool IsFilterFlag(string flag) => FlagNames.Contains(flag, StringComparer.Ordinal);

    /// <summary>
    /// Builds a filter from command-line flags, ANDed in order: `--header NAME=VALUE` or curl style
    /// `NAME: VALUE` (exact value), `--header-regex NAME=REGEX`, `--path-equal P`, `--path-prefix P`,
    /// `--path-regex R`, `--method M`, `--body-json PATH=VALUE` (the JSON value at PATH, as text, equals VALUE),
    /// `--body-json-regex PATH=REGEX`. One flag gives that condition alone, several an
    /// <see cref="AllFilter"/>; no flags give null (a global intercept). Errors name the flag in
    /// <see cref="FilterException.JsonPath"/>.
    /// </summary>
    public static Filter? FromFlags(IReadOnlyList<(string Flag, string Value)> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        if (flags.Count > FilterLimits.MaxConditions)
        {
            Fail(flags[FilterLimits.MaxConditions].Flag, $"more than {FilterLimits.MaxConditions} filter flags");
        }

        var filters = new List<Filter>(flags.Count);
        foreach ((string flag, string value) in flags)
        {
            filters.Add(FromFlag(flag, value ?? string.Empty));
        }

        return filters.Count switch
        {
            0 => null,
            1 => filters[0],
            _ => new AllFilter(filters),
        };
    }

    private static Filter FromFlag(string flag, string value)
    {
        switch (flag)
        {
            case "--header":
            {
                // NAME=VALUE, or curl's "NAME: VALUE". Neither '=' nor ':' is a token character, so the
                // first of them ends the name; the curl form drops the optional whitespace after ':'.
                int cut = value.AsSpan().IndexOfAny('=', ':');
                if (cut < 0)
                {
                    Fail(flag, $"expected NAME=VALUE or \"NAME: VALUE\", found {FilterText.Quote(value)}");
                }

                string name = value[..cut];
                string operand = value[cut] == ':' ? value[(cut + 1)..].TrimStart(' ', '\t') : value[(cut + 1)..];
                Check(FilterText.CheckToken(name, "header name"), flag);
                return new HeaderFilter(name, StringMatch.Exact(operand));
            }

            case "--header-regex":
            {
                int cut = value.IndexOf('=', StringComparison.Ordinal);
                if (cut < 0)
                {
                    Fail(flag, $"expected NAME=REGEX, found {FilterText.Quote(value)}");
                }

                string name = value[..cut];
                Check(FilterText.CheckToken(name, "header name"), flag);
                return new HeaderFilter(name, RegexFlag(flag, value[(cut + 1)..]));
            }

            case "--path-equal":
                Check(FilterText.CheckPathLiteral(value), flag);
                return new PathFilter(StringMatch.Exact(value));
            case "--path-prefix":
                Check(FilterText.CheckPathLiteral(value), flag);
                return new PathFilter(StringMatch.Prefix(value));
            case "--path-regex":
                return new PathFilter(RegexFlag(flag, value));
            case "--method":
                Check(FilterText.CheckToken(value, "method"), flag);
                return new MethodFilter(value);
            case "--body-json" or "--body-json-regex":
            {
                int cut = BodyPathEnd(value);
                if (cut < 0)
                {
                    Fail(flag, $"expected JSONPATH={(flag == "--body-json" ? "VALUE" : "REGEX")} such as '$.customer.id=42', found {FilterText.Quote(value)}");
                }

                if (!JsonBodyPath.TryParse(value[..cut], out JsonBodyPath? path, out string? error))
                {
                    return Fail<Filter>(flag, error);
                }

                string operand = value[(cut + 1)..];
                return new BodyFilter(path, flag == "--body-json" ? StringMatch.Exact(operand) : RegexFlag(flag, operand));
            }

            default:
                return Fail<Filter>(flag, $"not a filter flag; expected one of {string.Join(", ", FlagNames)}");
        }
    }

    /// <summary>The index of the '=' that ends the JSONPath in `PATH=VALUE`: the first one outside a quoted name; -1 when none.</summary>
    private static int BodyPathEnd(string value)
    {
        char quote = '\0';
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (quote != '\0')
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '=')
            {
                return i;
            }
        }

        return -1;
    }

    private static StringMatch RegexFlag(string flag, string pattern) =>
        StringMatch.TryRegex(pattern, out StringMatch? match, out string? error) ? match : Fail<StringMatch>(flag, error);
}
