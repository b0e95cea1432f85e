using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Switchyard.Config;

/// <summary>
/// The first pass over a config file, before the source-generated deserializer: strict JSON (no comments, no
/// trailing commas), one value per key, only the fields of the config types (with a "did you mean"), each value of
/// the kind its field takes. Every error is a <see cref="ConfigException"/> in our own words with the JSON path
/// and, for syntax errors, the line and column: the deserializer's messages are runtime resource keys in the AOT
/// build (<c>UnmappedJsonProperty</c>, <c>ExpectedStartOfValueNotFound</c>) and must never reach a user.
/// The expected fields come from the serializer context's metadata, so a field added to a config type is known here.
/// </summary>
internal static class ConfigJsonReader
{
    private static readonly JsonReaderOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = ConfigLimits.MaxJsonDepth + 16, // ours is checked first, with a path
    };

    private static readonly Dictionary<Type, Shape> Shapes = [];
    private static readonly Lock ShapesLock = new();

    /// <summary>The bytes after a UTF-8 byte order mark, if there is one.</summary>
    public static ReadOnlySpan<byte> WithoutBom(ReadOnlySpan<byte> json) =>
        json.StartsWith(Encoding.UTF8.Preamble) ? json[Encoding.UTF8.Preamble.Length..] : json;

    /// <summary>Throws <see cref="ConfigException"/> when <paramref name="json"/> (without BOM) is not a well-formed config document.</summary>
    public static void Check(ReadOnlySpan<byte> json, string file) => Check(json, file, typeof(AgentConfig), "the file");

    /// <summary>
    /// Like <see cref="Check(ReadOnlySpan{byte}, string)"/> for a document of another config type (an intercept
    /// posted to the admin API); <paramref name="document"/> names it in messages ("the file", "the body").
    /// </summary>
    public static void Check(ReadOnlySpan<byte> json, string file, Type root, string document)
    {
        if (json.Length > ConfigLimits.MaxFileBytes)
        {
            throw new ConfigException(file, "$", $"{document} is {json.Length} bytes; the limit is {ConfigLimits.MaxFileBytes} bytes (1 MiB)");
        }

        if (json.Trim(" \t\r\n"u8).IsEmpty)
        {
            throw new ConfigException(file, "$", root == typeof(AgentConfig)
                ? "the file is empty; expected a JSON object such as {\"version\": 1, \"ports\": [...]}"
                : $"{document} is empty; expected a JSON object");
        }

        var walk = new Walk(file, json.ToArray(), document);
        var reader = new Utf8JsonReader(json, Options);
        walk.Read(ref reader, "$");
        walk.Value(ref reader, ShapeOf(root), "$", depth: 1);
        if (walk.Read(ref reader, "$", endAllowed: true))
        {
            walk.Fail("$", $"unexpected {Found(reader.TokenType)} after the end of the object", reader);
        }
    }

    private enum Kind : byte { Object, Array, Map, String, Integer, Boolean, Listen, Any }

    private sealed class Shape(Kind kind, bool nullable)
    {
        public Kind Kind { get; } = kind;
        public bool Nullable { get; } = nullable;
        public Dictionary<string, Shape>? Fields { get; set; }
        public Shape? Element { get; set; }
    }

    private static Shape ShapeOf(Type type)
    {
        lock (ShapesLock)
        {
            return ShapeOfLocked(type, nullable: !type.IsValueType);
        }
    }

    private static Shape ShapeOfLocked(Type type, bool nullable)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return ShapeOfLocked(underlying, nullable: true);
        }

        if (type == typeof(string))
        {
            return new Shape(Kind.String, nullable);
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return new Shape(Kind.Integer, nullable);
        }

        if (type == typeof(bool))
        {
            return new Shape(Kind.Boolean, nullable);
        }

        if (type == typeof(JsonElement))
        {
            return new Shape(Kind.Any, nullable: true);
        }

        JsonTypeInfo? info = ConfigJsonContext.Default.GetTypeInfo(type);
        switch (info?.Kind)
        {
            case JsonTypeInfoKind.Object:
                if (Shapes.TryGetValue(type, out Shape? known))
                {
                    return known;
                }

                var shape = new Shape(Kind.Object, nullable: true) { Fields = new Dictionary<string, Shape>(StringComparer.Ordinal) };
                Shapes[type] = shape; // before the fields: a type may contain itself
                foreach (JsonPropertyInfo property in info.Properties)
                {
                    shape.Fields[property.Name] = property.CustomConverter is ListenJsonConverter
                        ? new Shape(Kind.Listen, nullable: true)
                        : ShapeOfLocked(property.PropertyType, nullable: !property.PropertyType.IsValueType);
                }

                return shape;
            case JsonTypeInfoKind.Enumerable:
                return new Shape(Kind.Array, nullable: true) { Element = ShapeOfLocked(info.ElementType!, nullable: !info.ElementType!.IsValueType) };
            case JsonTypeInfoKind.Dictionary:
                return new Shape(Kind.Map, nullable: true) { Element = ShapeOfLocked(info.ElementType!, nullable: !info.ElementType!.IsValueType) };
            default:
                return new Shape(Kind.Any, nullable: true);
        }
    }

    private sealed class Walk(string file, byte[] bytes, string document)
    {
        /// <summary>Reads the next token; a syntax error becomes a <see cref="ConfigException"/> at <paramref name="path"/>.</summary>
        public bool Read(ref Utf8JsonReader reader, string path, bool endAllowed = false)
        {
            bool read;
            try
            {
                read = reader.Read();
            }
            catch (JsonException e)
            {
                throw new ConfigException(file, path, Syntax(e.LineNumber ?? 0, e.BytePositionInLine ?? 0));
            }

            if (!read && !endAllowed)
            {
                throw new ConfigException(file, path, $"invalid JSON: {document} ends before the document is complete (an object, array or string is not closed) (line {Lines() + 1})");
            }

            return read;
        }

        public void Value(ref Utf8JsonReader reader, Shape shape, string path, int depth)
        {
            JsonTokenType token = reader.TokenType;
            if (token == JsonTokenType.Null)
            {
                if (!shape.Nullable)
                {
                    Fail(path, $"expected {Expected(shape.Kind)}, found null", reader);
                }

                return;
            }

            if (depth > ConfigLimits.MaxJsonDepth && token is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                Fail(path, $"nested deeper than {ConfigLimits.MaxJsonDepth} levels", reader);
            }

            switch (shape.Kind)
            {
                case Kind.Object or Kind.Map:
                    Expect(token == JsonTokenType.StartObject, shape, path, reader);
                    ObjectMembers(ref reader, shape, path, depth);
                    return;
                case Kind.Array:
                    Expect(token == JsonTokenType.StartArray, shape, path, reader);
                    for (int i = 0; ; i++)
                    {
                        Read(ref reader, $"{path}[{i}]");
                        if (reader.TokenType == JsonTokenType.EndArray)
                        {
                            return;
                        }

                        Value(ref reader, shape.Element!, $"{path}[{i}]", depth + 1);
                    }

                case Kind.String:
                    Expect(token == JsonTokenType.String, shape, path, reader);
                    Text(ref reader, path);
                    return;
                case Kind.Boolean:
                    Expect(token is JsonTokenType.True or JsonTokenType.False, shape, path, reader);
                    return;
                case Kind.Integer:
                    Expect(token == JsonTokenType.Number, shape, path, reader);
                    Integer(ref reader, path);
                    return;
                case Kind.Listen:
                    Expect(token is JsonTokenType.Number or JsonTokenType.String, shape, path, reader);
                    if (token == JsonTokenType.Number)
                    {
                        Integer(ref reader, path);
                    }
                    else
                    {
                        Text(ref reader, path);
                    }

                    return;
                default:
                    AnyValue(ref reader, path, depth);
                    return;
            }
        }

        private void ObjectMembers(ref Utf8JsonReader reader, Shape shape, string path, int depth)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                Read(ref reader, path);
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    return;
                }

                Utf8(ref reader, path);
                string name = reader.GetString()!;
                if (name.Length > ConfigLimits.MaxStringLength)
                {
                    Fail(path, $"a key is {name.Length} characters long; the limit is {ConfigLimits.MaxStringLength}", reader);
                }

                string at = Routing.FilterText.Child(path, name);
                if (!seen.Add(name))
                {
                    Fail(at, $"duplicate key \"{ConfigLimits.Shorten(name)}\": each key may appear once in an object", reader);
                }

                Shape? field = shape.Element;
                if (shape.Kind == Kind.Object && !shape.Fields!.TryGetValue(name, out field))
                {
                    Fail(at, $"unknown field '{ConfigLimits.Shorten(name)}'{Suggestion(name, shape.Fields.Keys)}", reader);
                }

                Read(ref reader, at);
                Value(ref reader, field!, at, depth + 1);
            }
        }

        /// <summary>A value of any kind (a `match` filter): syntax and duplicate keys are checked; FilterParser checks the rest.</summary>
        private void AnyValue(ref Utf8JsonReader reader, string path, int depth)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                Text(ref reader, path);
            }
            else if (reader.TokenType == JsonTokenType.StartObject)
            {
                var map = new Shape(Kind.Map, nullable: true) { Element = new Shape(Kind.Any, nullable: true) };
                ObjectMembers(ref reader, map, path, depth);
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                var array = new Shape(Kind.Array, nullable: true) { Element = new Shape(Kind.Any, nullable: true) };
                Value(ref reader, array, path, depth);
            }
        }

        private void Text(ref Utf8JsonReader reader, string path)
        {
            Utf8(ref reader, path);
            // ValueSpan is the escaped form: at least as long as the text, at most 6 bytes (\uXXXX) per character.
            if (reader.ValueSpan.Length > ConfigLimits.MaxStringLength && reader.GetString()!.Length > ConfigLimits.MaxStringLength)
            {
                Fail(path, $"a string of {reader.GetString()!.Length} characters; the limit is {ConfigLimits.MaxStringLength}", reader);
            }
        }

        /// <summary>The reader does not validate UTF-8 inside strings; the deserializer would fail later without a sentence.</summary>
        private void Utf8(ref Utf8JsonReader reader, string path)
        {
            if (!System.Text.Unicode.Utf8.IsValid(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan))
            {
                Fail(path, "invalid JSON: a string holds bytes that are not valid UTF-8", reader);
            }
        }

        private void Integer(ref Utf8JsonReader reader, string path)
        {
            if (!reader.TryGetInt32(out _))
            {
                string text = Encoding.UTF8.GetString(reader.ValueSpan);
                Fail(path, reader.TryGetDouble(out double d) && Math.Abs(d) < int.MaxValue
                    ? $"expected a whole number, found {ConfigLimits.Shorten(text)}"
                    : $"{ConfigLimits.Shorten(text)} is out of range (at most {int.MaxValue})", reader);
            }
        }

        private void Expect(bool ok, Shape shape, string path, Utf8JsonReader reader)
        {
            if (!ok)
            {
                Fail(path, $"expected {Expected(shape.Kind)}, found {Found(reader.TokenType)}", reader);
            }
        }

        [DoesNotReturn]
        public void Fail(string path, string reason, Utf8JsonReader reader) =>
            throw new ConfigException(file, path, $"{reason} (line {Line(reader.TokenStartIndex) + 1})");

        private int Line(long offset) => bytes.AsSpan(0, (int)Math.Min(offset, bytes.Length)).Count((byte)'\n');

        private int Lines() => bytes.AsSpan().Count((byte)'\n') + (bytes.Length > 0 && bytes[^1] != '\n' ? 0 : -1);

        /// <summary>A syntax error at a 0-based line and byte in that line, in words.</summary>
        private string Syntax(long line, long byteInLine)
        {
            int offset = 0;
            for (long l = 0; l < line && offset < bytes.Length; offset++)
            {
                if (bytes[offset] == '\n')
                {
                    l++;
                }
            }

            offset = (int)Math.Min(bytes.Length, offset + byteInLine);
            string where = $"(line {line + 1}, column {byteInLine + 1})";
            if (offset < bytes.Length && InsideString(offset))
            {
                byte c = bytes[offset];
                return c < 0x20 ? $"invalid JSON: the control character U+{c:X4} in a string must be escaped {where}"
                    : c >= 0x80 ? $"invalid JSON: a string holds bytes that are not valid UTF-8 {where}"
                    : c == (byte)'\\' || bytes[offset - 1] == (byte)'\\' ? $"invalid JSON: an invalid escape sequence in a string (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX) {where}"
                    : $"invalid JSON: an invalid string {where}";
            }

            int at = offset;
            while (at < bytes.Length && bytes[at] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                at++;
            }

            if (at >= bytes.Length)
            {
                return $"invalid JSON: {document} ends before the document is complete (an object, array or string is not closed) {where}";
            }

            byte b = bytes[at];
            if (b is (byte)',' or (byte)':' or (byte)'[' or (byte)'{' && NextNonSpace(at + 1) == 0)
            {
                return $"invalid JSON: {document} ends before the document is complete (an object, array or string is not closed) {where}";
            }

            int before = offset - 1;
            while (before >= 0 && bytes[before] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                before--;
            }

            if (b == (byte)'/' || (before >= 0 && bytes[before] == (byte)'/' && b is (byte)'/' or (byte)'*'))
            {
                return $"invalid JSON: comments are not allowed (the config is strict JSON) {where}";
            }

            if (b is (byte)'}' or (byte)']' && before >= 0 && bytes[before] == (byte)',')
            {
                return $"invalid JSON: trailing comma before '{(char)b}' {where}";
            }

            if (b == (byte)',' && at + 1 < bytes.Length && NextNonSpace(at + 1) is (byte)'}' or (byte)']')
            {
                return $"invalid JSON: trailing comma before '{(char)NextNonSpace(at + 1)}' {where}";
            }

            if (b == (byte)'\'')
            {
                return $"invalid JSON: strings and keys are written in double quotes, not single quotes {where}";
            }

            if (b >= 0x80)
            {
                return $"invalid JSON: a byte that is not valid UTF-8 or not allowed here {where}";
            }

            if (b < 0x20)
            {
                return $"invalid JSON: the control character U+{b:X4} must be escaped {where}";
            }

            if (b is (byte)'"' && before >= 0 && bytes[before] is (byte)'"' or (byte)'}' or (byte)']' or (byte)'e' or (byte)'l' || (b is (byte)'"' && before >= 0 && bytes[before] is >= (byte)'0' and <= (byte)'9'))
            {
                return $"invalid JSON: a ',' is missing before '\"' {where}";
            }

            if (b is (byte)'t' or (byte)'f' or (byte)'n')
            {
                return $"invalid JSON: unexpected '{(char)b}' (true, false and null are written in lower case and in full; strings are quoted) {where}";
            }

            return $"invalid JSON: unexpected '{(char)b}' {where}";
        }

        /// <summary>True when <paramref name="offset"/> is inside a string (between an opening quote and its closing one).</summary>
        private bool InsideString(int offset)
        {
            bool inside = false;
            for (int i = 0; i < offset; i++)
            {
                if (inside && bytes[i] == (byte)'\\')
                {
                    i++;
                }
                else if (bytes[i] == (byte)'"')
                {
                    inside = !inside;
                }
            }

            return inside;
        }

        private byte NextNonSpace(int from)
        {
            while (from < bytes.Length && bytes[from] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                from++;
            }

            return from < bytes.Length ? bytes[from] : (byte)0;
        }
    }

    private static string Expected(Kind kind) => kind switch
    {
        Kind.Object or Kind.Map => "an object",
        Kind.Array => "an array",
        Kind.String => "a string",
        Kind.Integer => "a number",
        Kind.Boolean => "true or false",
        Kind.Listen => "a port number or a \"HOST:PORT\" string",
        _ => "a value",
    };

    private static string Found(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String or JsonTokenType.PropertyName => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "something else",
    };

    /// <summary>" (did you mean 'listen'?)" when a known field is close to <paramref name="name"/> (case, or at most 2 edits).</summary>
    internal static string Suggestion(string name, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in known)
        {
            int distance = string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(name, candidate);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best is not null && bestDistance <= Math.Max(1, Math.Min(2, name.Length / 3)) ? $" (did you mean '{best}'?)" : string.Empty;
    }

    /// <summary>Levenshtein distance (names are short; a long unknown name is cut at 64 characters).</summary>
    private static int Distance(string a, string b)
    {
        if (a.Length > 64)
        {
            return int.MaxValue;
        }

        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
