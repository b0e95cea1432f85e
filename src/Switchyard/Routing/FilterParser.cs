using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Switchyard.Routing;

/// <summary>
/// Reads the SPEC.md `match` grammar from a <see cref="JsonElement"/> by hand (no reflection: AOT) and the
/// filter flags of `switchyard intercept` (FilterParser.Flags.cs). Every error is a
/// <see cref="FilterException"/> naming the JSON path (or the flag) and the reason.
/// </summary>
/// <remarks>
/// <code>
/// filter := { "header": NAME, ("exact" | "prefix" | "regex"): STRING }
///         | { "path": { ("exact" | "prefix" | "regex"): STRING } }     exact/prefix start with '/'
///         | { "method": TOKEN }
///         | { "body": { "json": JSONPATH, ("exact" | "prefix" | "regex"): STRING } }
///         | { "all": [filter, ...] } | { "any": [filter, ...] }       non-empty
///         | { "not": filter }
/// </code>
/// Keys are case-sensitive; unknown or repeated keys are errors; nesting is limited to
/// <see cref="FilterLimits.MaxDepth"/> levels and <see cref="FilterLimits.MaxConditions"/> leaves.
/// </remarks>
public static partial class FilterParser
{
    private const string KindList = "\"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\"";
    private const string OperatorList = "\"exact\", \"prefix\" or \"regex\"";

    /// <summary>Parses a `match` value; <paramref name="jsonPath"/> is where it sits, e.g. `$.intercepts[0].match`.</summary>
    public static Filter Parse(JsonElement match, string jsonPath)
    {
        ArgumentNullException.ThrowIfNull(jsonPath);
        int conditions = 0;
        return ParseFilter(match, jsonPath, 1, ref conditions);
    }

    /// <summary>Like <see cref="Parse(JsonElement, string)"/>, but an absent or JSON null `match` is a global intercept (null).</summary>
    public static Filter? ParseOptional(JsonElement? match, string jsonPath) =>
        match is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined ? null : Parse(element, jsonPath);

    /// <summary>Parses `match` JSON text (for tests and the admin API).</summary>
    public static Filter Parse(string json, string jsonPath = "$")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FilterException(jsonPath, $"invalid JSON: {e.Message}");
        }

        using (document)
        {
            return Parse(document.RootElement, jsonPath);
        }
    }

    private static Filter ParseFilter(JsonElement element, string at, int depth, ref int conditions)
    {
        if (depth > FilterLimits.MaxDepth)
        {
            Fail(at, $"filters nest deeper than {FilterLimits.MaxDepth} levels");
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            Fail(at, $"expected a filter object with one of {KindList}, found {Describe(element)}");
        }

        JsonProperty kind = default;
        bool hasKind = false;
        JsonProperty op = default;
        int operators = 0;
        var seen = new List<string>(2);
        foreach (JsonProperty property in element.EnumerateObject())
        {
            string name = property.Name;
            string where = FilterText.Child(at, name);
            if (seen.Contains(name))
            {
                Fail(where, $"duplicate key \"{name}\"");
            }

            seen.Add(name);
            switch (name)
            {
                case "header" or "path" or "method" or "body" or "all" or "any" or "not":
                    if (hasKind)
                    {
                        Fail(where, $"\"{name}\" cannot be combined with \"{kind.Name}\" in one filter; combine filters with \"all\" or \"any\"");
                    }

                    kind = property;
                    hasKind = true;
                    break;
                case "exact" or "prefix" or "regex":
                    if (++operators > 1)
                    {
                        Fail(where, $"only one of {OperatorList} may be given (found \"{op.Name}\" and \"{name}\")");
                    }

                    op = property;
                    break;
                default:
                    Fail(where, $"unknown key \"{name}\"; a filter has one of {KindList}");
                    break;
            }
        }

        if (!hasKind)
        {
            Fail(at, operators > 0
                ? $"\"{op.Name}\" needs \"header\" next to it; a path filter is {{ \"path\": {{ \"{op.Name}\": ... }} }}"
                : $"expected one of {KindList}");
        }

        if (kind.Name != "header" && operators > 0)
        {
            Fail(FilterText.Child(at, op.Name), kind.Name is "path" or "body"
                ? $"unexpected key \"{op.Name}\" next to \"{kind.Name}\"; write {{ \"{kind.Name}\": {{ {(kind.Name == "body" ? "\"json\": \"$.field\", " : "")}\"{op.Name}\": ... }} }}"
                : $"unexpected key \"{op.Name}\" in a \"{kind.Name}\" filter");
        }

        string kindAt = FilterText.Child(at, kind.Name);
        switch (kind.Name)
        {
            case "header":
                return ParseHeader(kind.Value, op, operators, at, kindAt, ref conditions);
            case "path":
                return ParsePath(kind.Value, kindAt, ref conditions);
            case "body":
                return ParseBody(kind.Value, kindAt, ref conditions);
            case "method":
                CountCondition(kindAt, ref conditions);
                string method = ReadString(kind.Value, kindAt);
                CheckLength(method, FilterLimits.MaxNameLength, "a method", kindAt);
                Check(FilterText.CheckToken(method, "method"), kindAt);
                return new MethodFilter(method);
            case "all" or "any":
                return ParseList(kind.Value, kind.Name, kindAt, depth, ref conditions);
            default:
                return new NotFilter(ParseFilter(kind.Value, kindAt, depth + 1, ref conditions));
        }
    }

    private static HeaderFilter ParseHeader(JsonElement nameElement, JsonProperty op, int operators, string at, string nameAt, ref int conditions)
    {
        CountCondition(nameAt, ref conditions);
        string name = ReadString(nameElement, nameAt);
        CheckLength(name, FilterLimits.MaxNameLength, "a header name", nameAt);
        Check(FilterText.CheckToken(name, "header name"), nameAt);
        if (operators == 0)
        {
            Fail(at, $"a header filter needs one of {OperatorList}");
        }

        string opAt = FilterText.Child(at, op.Name);
        return new HeaderFilter(name, ReadMatch(op, opAt, isPath: false));
    }

    private static PathFilter ParsePath(JsonElement path, string pathAt, ref int conditions)
    {
        CountCondition(pathAt, ref conditions);
        if (path.ValueKind != JsonValueKind.Object)
        {
            Fail(pathAt, $"expected an object with one of {OperatorList}, found {Describe(path)}");
        }

        JsonProperty op = default;
        int operators = 0;
        foreach (JsonProperty property in path.EnumerateObject())
        {
            string where = FilterText.Child(pathAt, property.Name);
            switch (property.Name)
            {
                case "exact" or "prefix" or "regex":
                    TakeOperator(ref op, ref operators, property, where);
                    break;
                default:
                    Fail(where, $"unknown key \"{property.Name}\"; a path filter has one of {OperatorList}");
                    break;
            }
        }

        if (operators == 0)
        {
            Fail(pathAt, $"a path filter needs one of {OperatorList}");
        }

        return new PathFilter(ReadMatch(op, FilterText.Child(pathAt, op.Name), isPath: true));
    }

    private static BodyFilter ParseBody(JsonElement body, string bodyAt, ref int conditions)
    {
        CountCondition(bodyAt, ref conditions);
        if (body.ValueKind != JsonValueKind.Object)
        {
            Fail(bodyAt, $"expected an object with \"json\" and one of {OperatorList}, found {Describe(body)}");
        }

        JsonProperty op = default;
        int operators = 0;
        JsonBodyPath? path = null;
        foreach (JsonProperty property in body.EnumerateObject())
        {
            string where = FilterText.Child(bodyAt, property.Name);
            switch (property.Name)
            {
                case "json":
                    if (path is not null)
                    {
                        Fail(where, "duplicate key \"json\"");
                    }

                    string text = ReadString(property.Value, where);
                    path = JsonBodyPath.TryParse(text, out JsonBodyPath? parsed, out string? error) ? parsed : Fail<JsonBodyPath>(where, error);
                    break;
                case "exact" or "prefix" or "regex":
                    TakeOperator(ref op, ref operators, property, where);
                    break;
                default:
                    Fail(where, $"unknown key \"{property.Name}\"; a body filter has \"json\" and one of {OperatorList}");
                    break;
            }
        }

        if (path is null)
        {
            Fail(bodyAt, "a body filter needs \"json\": the JSONPath of the value, such as \"$.customer.id\"");
        }

        if (operators == 0)
        {
            Fail(bodyAt, $"a body filter needs one of {OperatorList}");
        }

        string opAt = FilterText.Child(bodyAt, op.Name);
        string value = ReadString(op.Value, opAt);
        if (op.Name != "regex")
        {
            CheckLength(value, FilterLimits.MaxValueLength, "a body value", opAt);
        }

        StringMatch match = op.Name switch
        {
            "exact" => StringMatch.Exact(value),
            "prefix" => StringMatch.Prefix(value),
            _ => StringMatch.TryRegex(value, out StringMatch? regex, out string? regexError) ? regex : Fail<StringMatch>(opAt, regexError),
        };
        return new BodyFilter(path, match);
    }

    private static CompositeFilter ParseList(JsonElement list, string name, string listAt, int depth, ref int conditions)
    {
        if (list.ValueKind != JsonValueKind.Array)
        {
            Fail(listAt, $"expected an array of filters, found {Describe(list)}");
        }

        int count = list.GetArrayLength();
        if (count == 0)
        {
            Fail(listAt, "must not be empty");
        }

        var filters = new Filter[count];
        int i = 0;
        foreach (JsonElement item in list.EnumerateArray())
        {
            filters[i] = ParseFilter(item, FilterText.Index(listAt, i), depth + 1, ref conditions);
            i++;
        }

        return name == "all" ? new AllFilter(filters) : new AnyFilter(filters);
    }

    private static StringMatch ReadMatch(JsonProperty op, string opAt, bool isPath)
    {
        string value = ReadString(op.Value, opAt);
        if (op.Name != "regex")
        {
            CheckLength(value, FilterLimits.MaxValueLength, isPath ? "a path" : "a header value", opAt);
        }

        switch (op.Name)
        {
            case "exact":
                Check(isPath ? FilterText.CheckPathLiteral(value) : null, opAt);
                return StringMatch.Exact(value);
            case "prefix":
                Check(isPath ? FilterText.CheckPathLiteral(value) : null, opAt);
                return StringMatch.Prefix(value);
            default:
                return StringMatch.TryRegex(value, out StringMatch? regex, out string? error) ? regex : Fail<StringMatch>(opAt, error);
        }
    }

    private static string ReadString(JsonElement element, string at)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            Fail(at, $"expected a string, found {Describe(element)}");
        }

        return element.GetString()!;
    }

    private static void CountCondition(string at, ref int conditions)
    {
        if (++conditions > FilterLimits.MaxConditions)
        {
            Fail(at, $"more than {FilterLimits.MaxConditions} conditions in one filter");
        }
    }

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static void CheckLength(string value, int max, string what, string at)
    {
        if (value.Length > max)
        {
            Fail(at, $"{what} of {value.Length} characters; the limit is {max}");
        }
    }

        private static void Check(string? error, string at)
    {
        if (error is not null)
        {
            Fail(at, error);
        }
    }

    [DoesNotReturn]
    private static void Fail(string at, string reason) => throw new FilterException(at, reason);

    [DoesNotReturn]
    private static T Fail<T>(string at, string reason) => throw new FilterException(at, reason);

    /// <summary>The one exact|prefix|regex of a path or body filter: a second one, or the same one twice, is an error.</summary>
    private static void TakeOperator(ref JsonProperty op, ref int operators, JsonProperty property, string where)
    {
        if (operators > 0 && op.Name == property.Name)
        {
            Fail(where, $"duplicate key \"{property.Name}\"");
        }

        if (++operators > 1)
        {
            Fail(where, $"only one of {OperatorList} may be given (found \"{op.Name}\" and \"{property.Name}\")");
        }

        op = property;
    }
}
