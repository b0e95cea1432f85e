using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;

namespace Switchyard.Routing;

/// <summary>What evaluating a <see cref="JsonBodyPath"/> over a body found.</summary>
public enum JsonBodyLookup : byte
{
    /// <summary>The body is not one complete, valid JSON value (RFC 8259), or nests deeper than the reader allows.</summary>
    NotJson,

    /// <summary>Valid JSON, but no value at the path, or the value there is null, an object or an array.</summary>
    NotFound,

    /// <summary>A string, number or boolean at the path that did not match.</summary>
    NoValueMatched,

    /// <summary>A string, number or boolean at the path that matched.</summary>
    Matched,
}

/// <summary>
/// The JSONPath subset of body filters (SPEC.md "Body filters"): `$` followed by steps, each a member name
/// (`.name`, `['any name']`, `["any name"]`) or an array index (`[n]`, from 0). Parsed once when the config
/// or the intercept is read; evaluated over the body bytes with <see cref="Utf8JsonReader"/>, without a DOM,
/// skipping every value off the path, and without allocating unless the value at the path is longer than
/// 256 characters (a pooled buffer) or the body is not JSON (the reader's exception).
/// </summary>
/// <remarks>
/// <code>
/// path   := "$" step*
/// step   := "." name | "[" digits "]" | "['" quoted "']" | "[\"" quoted "\"]"
/// name   := 1*(any character but . [ ] ' " and whitespace)
/// quoted := (any character but the quote and \ | "\" any character)*
/// </code>
/// The value at the path is compared as text: a string unescaped, a number or a boolean as its JSON text
/// (`42`, `4.2e1` and `true` as written). A repeated member name: the first one counts. The whole body must
/// be valid JSON, even past the value found.
/// </remarks>
public sealed class JsonBodyPath : IEquatable<JsonBodyPath>
{
    /// <summary>Longest path text, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>Most steps in one path (the reader's own depth limit is 64).</summary>
    public const int MaxSteps = 64;

    private const int StackChars = 256;

    private readonly Step[] _steps;

    private JsonBodyPath(Step[] steps)
    {
        _steps = steps;
        string current = "$";
        foreach (Step step in steps)
        {
            current = step.Name is null ? FilterText.Index(current, step.Index) : FilterText.Child(current, step.Name);
        }

        Text = current;
    }

    /// <summary>The canonical text: `.name` where the name is an identifier, `['...']` otherwise, `[n]` for indexes.</summary>
    public string Text { get; }

    /// <summary>Number of steps after `$`.</summary>
    public int Length => _steps.Length;

    /// <summary>Parses <paramref name="text"/>; throws <see cref="ArgumentException"/> with the reason when it is not a path of the subset.</summary>
    public static JsonBodyPath Parse(string text) =>
        TryParse(text, out JsonBodyPath? path, out string? error) ? path : throw new ArgumentException(error, nameof(text));

    /// <summary>Parses <paramref name="text"/>; false with the reason (in words, with the offset) when it is not a path of the subset.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out JsonBodyPath? path, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        path = null;
        if (text.Length > MaxLength)
        {
            error = $"JSONPath of {text.Length} characters; the limit is {MaxLength}";
            return false;
        }

        if (text.Length == 0 || text[0] != '$')
        {
            error = $"JSONPath {FilterText.Quote(text)} must start with '$'";
            return false;
        }

        var steps = new List<Step>();
        int i = 1;
        while (i < text.Length)
        {
            if (steps.Count == MaxSteps)
            {
                error = $"JSONPath {FilterText.Quote(text)} has more than {MaxSteps} steps";
                return false;
            }

            char c = text[i];
            if (c == '.')
            {
                int start = ++i;
                while (i < text.Length && !IsNameStop(text[i]))
                {
                    i++;
                }

                if (i == start)
                {
                    error = StepError(text, start, "expected a member name after '.'");
                    return false;
                }

                if (i < text.Length && text[i] is not ('.' or '['))
                {
                    error = StepError(text, i, $"unexpected '{text[i]}' in a member name; quote the name: ['...']");
                    return false;
                }

                steps.Add(new Step(text[start..i], 0));
            }
            else if (c == '[')
            {
                i++;
                if (i < text.Length && text[i] is '\'' or '"')
                {
                    char quote = text[i++];
                    var name = new StringBuilder();
                    while (true)
                    {
                        if (i >= text.Length)
                        {
                            error = StepError(text, i, $"unterminated quoted name; expected {quote}]");
                            return false;
                        }

                        char q = text[i++];
                        if (q == quote)
                        {
                            break;
                        }

                        if (q == '\\')
                        {
                            if (i >= text.Length)
                            {
                                error = StepError(text, i, "a '\\' at the end of the path");
                                return false;
                            }

                            q = text[i++];
                        }

                        name.Append(q);
                    }

                    if (i >= text.Length || text[i] != ']')
                    {
                        error = StepError(text, i, $"expected ']' after the quoted name");
                        return false;
                    }

                    i++;
                    steps.Add(new Step(name.ToString(), 0));
                }
                else
                {
                    int start = i;
                    long index = 0;
                    while (i < text.Length && char.IsAsciiDigit(text[i]))
                    {
                        index = (index * 10) + (text[i] - '0');
                        if (index > int.MaxValue)
                        {
                            error = StepError(text, start, "array index too large");
                            return false;
                        }

                        i++;
                    }

                    if (i == start || i >= text.Length || text[i] != ']')
                    {
                        error = StepError(text, start, "expected an array index (digits) or a quoted name, then ']' (wildcards, slices and filters are not supported)");
                        return false;
                    }

                    i++;
                    steps.Add(new Step(null, (int)index));
                }
            }
            else
            {
                error = StepError(text, i, $"expected '.' or '[', found '{c}'");
                return false;
            }
        }

        path = new JsonBodyPath([.. steps]);
        error = null;
        return true;
    }

    /// <summary>Finds the value at the path in <paramref name="body"/> and tests it with <paramref name="match"/>.</summary>
    public JsonBodyLookup Match(ReadOnlySequence<byte> body, StringMatch match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var reader = new Utf8JsonReader(body, isFinalBlock: true, state: default);
        return Evaluate(ref reader, match, out _, wantText: false);
    }

    /// <summary>Like <see cref="Match(ReadOnlySequence{byte}, StringMatch)"/> over one span.</summary>
    public JsonBodyLookup Match(ReadOnlySpan<byte> body, StringMatch match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var reader = new Utf8JsonReader(body, isFinalBlock: true, state: default);
        return Evaluate(ref reader, match, out _, wantText: false);
    }

    /// <summary>
    /// The value at the path as text (a string unescaped, a number or boolean as its JSON text), for explanations
    /// and tests: <see cref="JsonBodyLookup.Matched"/> with the text, or <see cref="JsonBodyLookup.NotFound"/> /
    /// <see cref="JsonBodyLookup.NotJson"/> with null. Allocates the string.
    /// </summary>
    public JsonBodyLookup Find(ReadOnlySequence<byte> body, out string? value)
    {
        var reader = new Utf8JsonReader(body, isFinalBlock: true, state: default);
        return Evaluate(ref reader, null, out value, wantText: true);
    }

    /// <inheritdoc cref="Find(ReadOnlySequence{byte}, out string?)"/>
    public JsonBodyLookup Find(ReadOnlySpan<byte> body, out string? value)
    {
        var reader = new Utf8JsonReader(body, isFinalBlock: true, state: default);
        return Evaluate(ref reader, null, out value, wantText: true);
    }

    public bool Equals(JsonBodyPath? other) => other is not null && string.Equals(Text, other.Text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as JsonBodyPath);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    public override string ToString() => Text;

    private static bool IsNameStop(char c) => c is '.' or '[' or ']' or '\'' or '"' || char.IsWhiteSpace(c);

    private static string StepError(string text, int offset, string reason) =>
        $"JSONPath {FilterText.Quote(text)}: {reason} at offset {offset}";

    private JsonBodyLookup Evaluate(ref Utf8JsonReader reader, StringMatch? match, out string? value, bool wantText)
    {
        value = null;
        JsonBodyLookup result = JsonBodyLookup.NotFound;
        try
        {
            if (!reader.Read())
            {
                return JsonBodyLookup.NotJson;
            }

            if (Walk(ref reader))
            {
                result = Test(ref reader, match, wantText, out value);
            }

            // The whole body must be JSON: read on to its end (the reader throws on anything invalid,
            // trailing data included).
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }

            while (reader.Read())
            {
            }

            return result;
        }
        catch (JsonException)
        {
            value = null;
            return JsonBodyLookup.NotJson;
        }
    }

    /// <summary>Moves the reader from the root value's first token to the value at the path; false when there is none.</summary>
    private bool Walk(ref Utf8JsonReader reader)
    {
        foreach (Step step in _steps)
        {
            if (step.Utf8 is { } utf8)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (true)
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.EndObject)
                    {
                        return false;
                    }

                    bool found = reader.ValueTextEquals(utf8);
                    reader.Read();
                    if (found)
                    {
                        break;
                    }

                    reader.Skip();
                }
            }
            else
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return false;
                }

                for (int i = 0; ; i++)
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.EndArray)
                    {
                        return false;
                    }

                    if (i == step.Index)
                    {
                        break;
                    }

                    reader.Skip();
                }
            }
        }

        return true;
    }

    private static JsonBodyLookup Test(ref Utf8JsonReader reader, StringMatch? match, bool wantText, out string? value)
    {
        value = null;
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False))
        {
            return JsonBodyLookup.NotFound;
        }

        int byteLength = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        char[]? rented = null;
        Span<char> chars = byteLength <= StackChars ? stackalloc char[StackChars] : (rented = ArrayPool<char>.Shared.Rent(byteLength));
        try
        {
            int n;
            if (reader.TokenType == JsonTokenType.String)
            {
                n = reader.CopyString(chars);
            }
            else if (reader.HasValueSequence)
            {
                n = 0;
                foreach (ReadOnlyMemory<byte> segment in reader.ValueSequence)
                {
                    n += Encoding.ASCII.GetChars(segment.Span, chars[n..]);
                }
            }
            else
            {
                n = Encoding.ASCII.GetChars(reader.ValueSpan, chars);
            }

            if (wantText)
            {
                value = new string(chars[..n]);
                return JsonBodyLookup.Matched;
            }

            return match!.IsMatch(chars[..n]) ? JsonBodyLookup.Matched : JsonBodyLookup.NoValueMatched;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>A member name (with its UTF-8 bytes, compared against escaped or plain JSON names by the reader) or an index.</summary>
    private readonly struct Step(string? name, int index)
    {
        public string? Name { get; } = name;

        public byte[]? Utf8 { get; } = name is null ? null : Encoding.UTF8.GetBytes(name);

        public int Index { get; } = index;
    }
}
