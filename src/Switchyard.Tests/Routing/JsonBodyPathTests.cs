using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Bogus;
using CsCheck;
using Switchyard.Routing;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Routing;

public sealed class JsonBodyPathTests
{
    [Theory]
    [InlineData("$", "$")]
    [InlineData("$.customer.id", "$.customer.id")]
    [InlineData("$['customer']['id']", "$.customer.id")]
    [InlineData("$[\"a b\"][0]", "$['a b'][0]")]
    [InlineData("$.items[12].sku", "$.items[12].sku")]
    [InlineData("$['it\\'s']", "$['it\\'s']")]
    [InlineData("$.caf\u00e9", "$['caf\u00e9']")]
    [InlineData("$.a-b", "$['a-b']")]
    public void A_path_of_the_subset_parses_to_its_canonical_text(string text, string canonical)
    {
        JsonBodyPath path = JsonBodyPath.Parse(text);

        Assert.Equal(canonical, path.Text);
        Assert.Equal(path, JsonBodyPath.Parse(canonical));
    }

    [Theory]
    [InlineData("", "must start with '$'")]
    [InlineData("customer.id", "must start with '$'")]
    [InlineData("$.", "expected a member name after '.' at offset 2")]
    [InlineData("$..id", "expected a member name after '.' at offset 2")]
    [InlineData("$.a b", "unexpected ' ' in a member name")]
    [InlineData("$[*]", "wildcards, slices and filters are not supported")]
    [InlineData("$[1:2]", "expected an array index")]
    [InlineData("$[-1]", "expected an array index")]
    [InlineData("$[99999999999]", "array index too large")]
    [InlineData("$['a'", "expected ']' after the quoted name")]
    [InlineData("$['a", "unterminated quoted name")]
    [InlineData("$x", "expected '.' or '[', found 'x'")]
    public void A_path_outside_the_subset_is_refused_with_the_reason(string text, string reason)
    {
        Assert.False(JsonBodyPath.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"customer":{"id":42}}""", "$.customer.id", JsonBodyLookup.Matched, "42")]
    [InlineData("""{"customer":{"id":"4\u0032"}}""", "$.customer.id", JsonBodyLookup.Matched, "42")]
    [InlineData("""{"customer":{"id":4.2e1}}""", "$.customer.id", JsonBodyLookup.Matched, "4.2e1")]
    [InlineData("""{"ok":true}""", "$.ok", JsonBodyLookup.Matched, "true")]
    [InlineData("""{"ok":null}""", "$.ok", JsonBodyLookup.NotFound, null)]
    [InlineData("""{"ok":{}}""", "$.ok", JsonBodyLookup.NotFound, null)]
    [InlineData("""[1,[2,3],{"a":4}]""", "$[2].a", JsonBodyLookup.Matched, "4")]
    [InlineData("""[1,[2,3],{"a":4}]""", "$[1][1]", JsonBodyLookup.Matched, "3")]
    [InlineData("""[1,[2,3],{"a":4}]""", "$[3]", JsonBodyLookup.NotFound, null)]
    [InlineData("""{"a":1,"a":2}""", "$.a", JsonBodyLookup.Matched, "1")]
    [InlineData("""{"\u0061 b":"x"}""", "$['a b']", JsonBodyLookup.Matched, "x")]
    [InlineData("\"top\"", "$", JsonBodyLookup.Matched, "top")]
    [InlineData("""{"a":1} x""", "$.a", JsonBodyLookup.NotJson, null)]
    [InlineData("""{"a":1,""", "$.a", JsonBodyLookup.NotJson, null)]
    [InlineData("""{"a":1,"b":[}""", "$.a", JsonBodyLookup.NotJson, null)]
    [InlineData("", "$.a", JsonBodyLookup.NotJson, null)]
    [InlineData("customer=42", "$.customer", JsonBodyLookup.NotJson, null)]
    public void The_value_at_the_path_is_found_as_text(string json, string path, JsonBodyLookup expected, string? value)
    {
        JsonBodyLookup found = JsonBodyPath.Parse(path).Find(Encoding.UTF8.GetBytes(json), out string? text);

        Assert.Equal(expected, found);
        Assert.Equal(value, text);
    }

    [Fact]
    public void Matching_compares_the_text_with_exact_prefix_and_regex()
    {
        byte[] body = """{"customer":{"id":4217,"name":"Zo\u00eb"}}"""u8.ToArray();
        JsonBodyPath id = JsonBodyPath.Parse("$.customer.id");
        JsonBodyPath name = JsonBodyPath.Parse("$.customer.name");

        Assert.Equal(JsonBodyLookup.Matched, id.Match(body, StringMatch.Exact("4217")));
        Assert.Equal(JsonBodyLookup.NoValueMatched, id.Match(body, StringMatch.Exact("42")));
        Assert.Equal(JsonBodyLookup.Matched, id.Match(body, StringMatch.Prefix("42")));
        Assert.Equal(JsonBodyLookup.Matched, id.Match(body, StringMatch.Regex("^4\\d+$")));
        Assert.Equal(JsonBodyLookup.Matched, name.Match(body, StringMatch.Exact("Zo\u00eb")));
        Assert.Equal(JsonBodyLookup.NotFound, JsonBodyPath.Parse("$.customer.age").Match(body, StringMatch.Exact("1")));
    }

    [Fact]
    public void A_long_value_is_matched_through_a_pooled_buffer()
    {
        string longValue = new('x', 5000);
        byte[] body = Encoding.UTF8.GetBytes($$"""{"v":"{{longValue}}"}""");

        Assert.Equal(JsonBodyLookup.Matched, JsonBodyPath.Parse("$.v").Match(body, StringMatch.Exact(longValue)));
    }

    [Fact]
    public void The_non_matching_path_allocates_nothing()
    {
        var faker = new Faker { Random = new Randomizer(7) };
        byte[] body = Encoding.UTF8.GetBytes(OrderJson(faker));
        var sequence = Segments.SplitAt(body, [body.Length / 3, body.Length / 2]);
        JsonBodyPath path = JsonBodyPath.Parse("$.customer.id");
        JsonBodyPath missing = JsonBodyPath.Parse("$.lines[1].nothere");
        StringMatch exact = StringMatch.Exact("no such id");
        StringMatch regex = StringMatch.Regex("^zzz");
        for (int warm = 0; warm < 3; warm++)
        {
            path.Match(sequence, exact);
            path.Match(body, regex);
            missing.Match(sequence, exact);
        }

        int[] counts = new int[4];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            counts[(int)path.Match(sequence, exact)]++;
            counts[(int)path.Match(body, regex)]++;
            counts[(int)missing.Match(sequence, exact)]++;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal([0, 100, 200, 0], counts);
        Assert.Equal(0, allocated);
    }

    /// <summary>Orders as a shop API receives them (Bogus, fixed seed): every field the generator wrote is found at its path.</summary>
    [Fact]
    public void Fields_of_generated_orders_are_found_at_their_paths()
    {
        var faker = new Faker { Random = new Randomizer(20261202) };
        for (int n = 0; n < 200; n++)
        {
            string json = OrderJson(faker);
            using JsonDocument document = JsonDocument.Parse(json);
            byte[] bytes = Encoding.UTF8.GetBytes(json);
            foreach (string path in new[] { "$.id", "$.customer.id", "$.customer.email", "$['customer']['full name']", "$.lines[0].sku", "$.lines[1].quantity", "$.paid", "$.total", "$.lines[9].sku", "$.customer.id.x" })
            {
                JsonBodyLookup expected = Reference(document.RootElement, JsonBodyPath.Parse(path), out string? text);
                Assert.Equal(expected, JsonBodyPath.Parse(path).Find(bytes, out string? found));
                Assert.Equal(text, found);
                Assert.Equal(expected, JsonBodyPath.Parse(path).Find(Segments.SplitAt(bytes, [faker.Random.Int(0, bytes.Length)]), out found));
                Assert.Equal(text, found);
            }
        }
    }

    /// <summary>CsCheck: any JSON tree, written with any escaping, split into any segments; any path into it or beside it: the reader walk agrees with a walk over JsonDocument.</summary>
    [Fact]
    public void The_reader_walk_agrees_with_a_document_walk_on_any_json()
    {
        Gen.Select(Tree, Gen.Bool, Gen.Int[0, 1000].Array[0, 3], Gen.Int[0, 1000].Array[0, 6]).Sample((tree, relaxed, cuts, choices) =>
        {
            byte[] bytes = Write(tree, relaxed);
            string pathText = PathInto(tree, choices);
            JsonBodyPath path = JsonBodyPath.Parse(pathText);
            using JsonDocument document = JsonDocument.Parse(bytes);
            JsonBodyLookup expected = Reference(document.RootElement, path, out string? text);

            Assert.Equal(expected, path.Find(bytes, out string? found));
            Assert.Equal(text, found);
            Assert.Equal(expected, path.Find(Segments.SplitAt(bytes, [.. cuts.Select(c => c % (bytes.Length + 1))]), out found));
            Assert.Equal(text, found);
            if (text is not null)
            {
                Assert.Equal(JsonBodyLookup.Matched, path.Match(bytes, StringMatch.Exact(text)));
                Assert.Equal(JsonBodyLookup.NoValueMatched, path.Match(bytes, StringMatch.Exact(text + "~")));
            }

            // The same document cut short is never JSON.
            if (bytes.Length > 1 && !IsStillJson(bytes[..^1]))
            {
                Assert.Equal(JsonBodyLookup.NotJson, path.Find(bytes.AsSpan(0, bytes.Length - 1), out _));
            }
        }, iter: 1000, print: t => Encoding.UTF8.GetString(Write(t.Item1, t.Item2)) + " @ " + PathInto(t.Item1, t.Item4));
    }

    private static bool IsStillJson(byte[] bytes)
    {
        try
        {
            using JsonDocument _ = JsonDocument.Parse(bytes);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private abstract record J;

    private sealed record JScalar(string Raw, string? Text) : J;

    private sealed record JObject((string Name, J Value)[] Members) : J;

    private sealed record JArray(J[] Items) : J;

    private static readonly Gen<string> Name = Gen.Frequency(
        (4, Gen.OneOf("id", "customer", "a", "b", "items", "x_1")),
        (1, Gen.Char[" '\"\\.[]$\u00e9\u4e2d\ud83d\ude00az"].Array[0, 4].Select(c => new string(c)))).Select(s => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)));

    private static readonly Gen<J> Scalar = Gen.Frequency(
        (3, Gen.Char[' ', '~'].Array[0, 12].Select(c => (J)new JScalar(string.Empty, new string(c)))),
        (1, Gen.OneOf("\u00e9\u2028", "\ud83d\ude00", "\"\\\n\t", "").Select(s => (J)new JScalar(string.Empty, s))),
        (2, Gen.OneOf("0", "-1", "42", "4.2e1", "1E+2", "-0.5", "123456789012345678901234567890", "true", "false", "null").Select(r => (J)new JScalar(r, null))));

    private static readonly Gen<J> Tree = Gen.Recursive<J>((depth, tree) => depth >= 4
        ? Scalar
        : Gen.Frequency(
            (2, Scalar),
            (2, Gen.Select(Name, tree).Array[0, 5].Select(m => (J)new JObject(m))),
            (1, tree.Array[0, 5].Select(items => (J)new JArray(items)))));

    private static byte[] Write(J tree, bool relaxed)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = relaxed ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : JavaScriptEncoder.Default, Indented = relaxed, SkipValidation = true }))
        {
            WriteNode(writer, tree);
        }

        return buffer.ToArray();
    }

    private static void WriteNode(Utf8JsonWriter writer, J node)
    {
        switch (node)
        {
            case JScalar { Text: { } text }:
                writer.WriteStringValue(text);
                break;
            case JScalar scalar:
                writer.WriteRawValue(scalar.Raw, skipInputValidation: true);
                break;
            case JObject obj:
                writer.WriteStartObject();
                foreach ((string name, J value) in obj.Members)
                {
                    writer.WritePropertyName(name);
                    WriteNode(writer, value);
                }

                writer.WriteEndObject();
                break;
            case JArray array:
                writer.WriteStartArray();
                foreach (J item in array.Items)
                {
                    WriteNode(writer, item);
                }

                writer.WriteEndArray();
                break;
        }
    }

    /// <summary>A path that follows the tree as far as the choices go (a choice past the members or items leaves the tree).</summary>
    private static string PathInto(J tree, int[] choices)
    {
        string path = "$";
        J? node = tree;
        foreach (int choice in choices)
        {
            switch (node)
            {
                case JObject obj:
                    string name = obj.Members.Length == 0 || choice % 7 == 6 ? "missing" : obj.Members[choice % obj.Members.Length].Name;
                    path = obj.Members.Length > 0 && choice % 5 == 4 ? $"{path}[\"{name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"]" : AppendName(path, name);
                    node = obj.Members.FirstOrDefault(m => m.Name == name).Value;
                    break;
                case JArray array:
                    int index = choice % (array.Items.Length + 1);
                    path = $"{path}[{index}]";
                    node = index < array.Items.Length ? array.Items[index] : null;
                    break;
                default:
                    path = choice % 2 == 0 ? $"{path}[{choice % 3}]" : AppendName(path, "id");
                    node = null;
                    break;
            }
        }

        return path;
    }

    private static string AppendName(string path, string name) =>
        $"{path}['{name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}']";

    /// <summary>The reference: a walk over JsonDocument (first member of a repeated name, as the reader walk).</summary>
    private static JsonBodyLookup Reference(JsonElement root, JsonBodyPath path, out string? text)
    {
        text = null;
        JsonElement current = root;
        foreach (object step in Steps(path))
        {
            if (step is string name)
            {
                if (current.ValueKind != JsonValueKind.Object)
                {
                    return JsonBodyLookup.NotFound;
                }

                bool found = false;
                foreach (JsonProperty property in current.EnumerateObject())
                {
                    if (property.NameEquals(name))
                    {
                        current = property.Value;
                        found = true;
                        break;
                    }
                }

                if (!found)
                {
                    return JsonBodyLookup.NotFound;
                }
            }
            else
            {
                int index = (int)step;
                if (current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength())
                {
                    return JsonBodyLookup.NotFound;
                }

                current = current[index];
            }
        }

        switch (current.ValueKind)
        {
            case JsonValueKind.String:
                text = current.GetString();
                return JsonBodyLookup.Matched;
            case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                text = current.GetRawText();
                return JsonBodyLookup.Matched;
            default:
                return JsonBodyLookup.NotFound;
        }
    }

    /// <summary>The steps of a canonical path, re-read independently of the parser (names via a JSON round trip of each quoted step).</summary>
    private static List<object> Steps(JsonBodyPath path)
    {
        var steps = new List<object>();
        string text = path.Text;
        int i = 1;
        while (i < text.Length)
        {
            if (text[i] == '.')
            {
                int start = ++i;
                while (i < text.Length && text[i] is not ('.' or '['))
                {
                    i++;
                }

                steps.Add(text[start..i]);
            }
            else if (text[i + 1] == '\'')
            {
                var name = new StringBuilder();
                i += 2;
                while (text[i] != '\'')
                {
                    if (text[i] == '\\')
                    {
                        i++;
                    }

                    name.Append(text[i++]);
                }

                i += 2;
                steps.Add(name.ToString());
            }
            else
            {
                int close = text.IndexOf(']', i);
                steps.Add(int.Parse(text.AsSpan(i + 1, close - i - 1), System.Globalization.CultureInfo.InvariantCulture));
                i = close + 1;
            }
        }

        return steps;
    }

    private static string OrderJson(Faker faker)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", faker.Random.Guid());
            writer.WriteStartObject("customer");
            if (faker.Random.Bool())
            {
                writer.WriteNumber("id", faker.Random.Int(1, 99999));
            }
            else
            {
                writer.WriteString("id", faker.Random.AlphaNumeric(6));
            }

            writer.WriteString("email", faker.Internet.Email());
            writer.WriteString("full name", faker.Name.FullName());
            writer.WriteEndObject();
            writer.WriteStartArray("lines");
            int lines = faker.Random.Int(0, 4);
            for (int i = 0; i < lines; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("sku", faker.Commerce.Ean13());
                writer.WriteNumber("quantity", faker.Random.Int(1, 9));
                writer.WriteNumber("price", faker.Random.Decimal(1, 500));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteBoolean("paid", faker.Random.Bool());
            writer.WriteNumber("total", faker.Random.Double(0, 10000));
            writer.WriteString("note", faker.Lorem.Sentence());
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
