using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using Switchyard.Kubernetes;
using Switchyard.Tests.TestSupport;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using static Switchyard.Kubernetes.InjectYaml;

namespace Switchyard.Tests.Kubernetes.Inject;

/// <summary>
/// inject's output read by js-yaml, a strict YAML 1.2 parser (SPEC: "Output YAML parses under strict YAML 1.2 parsers"):
/// it must accept every document, every string must read back exactly as js-yaml reads it in the input, and injecting
/// the output again must change nothing. YamlDotNet's emitter left to itself writes a value ending in a line break with
/// the closing quote at column 0 (js-yaml: "deficient indentation") and writes CR, NEL, LS and PS as raw line breaks.
/// </summary>
public sealed class StrictYamlTests
{
    private const string Service = """
        apiVersion: v1
        kind: Service
        metadata:
          name: shop
          namespace: web
        spec:
          selector:
            app: shop
          ports:
          - name: http
            port: 80
            targetPort: 8080
        """;

    /// <summary>Strings that YAML writers get wrong: trailing and leading breaks and blanks, comment and mapping indicators, controls, non-ASCII.</summary>
    private static readonly string[] Awkward =
    [
        "{\"apiVersion\":\"v1\",\"kind\":\"Service\"}\n",
        "one trailing break\n",
        "two trailing breaks\n\n",
        "three\n\n\n",
        "\n",
        "\n\nleading breaks",
        "  leading spaces\nsecond line\n",
        "trailing space \nsecond\n",
        "line\n  more indented\n    and more\nback\n",
        "# a comment?\n#! and another\n",
        "key: value\n- item\n? complex\n",
        "--- \n...\nnot a document marker\n",
        "'single' and \"double\" quotes\n",
        "tab\there\n",
        "crlf\r\nline ends\r\n",
        "cr only\rhere",
        "nel\u0085ls\u2028ps\u2029bom\uFEFF",
        "caf\u00e9 \u4e2d\u6587 \ud83d\ude00 \u00ff\n",
        "control \u0001\u001f\u007f\u0080\n",
        "true",
        "0x1F\n",
        "~",
        "null\n",
        "",
        " ",
        "ends with a backslash \\\n",
        "|\n",
        "> folded?\n",
        new string('x', 70_000) + "\n" + new string('y', 5) + "\n",
    ];

    [Fact]
    public void KubectlGetListWithLastAppliedConfigurationReadsBackTheSame()
    {
        string input = InjectFixtures.Text("kubectl-get-list.yaml");

        string output = InjectReal(input);

        JsonElement[] before = JsYaml.LoadAll(input);
        JsonElement[] after = JsYaml.LoadAll(output);
        JsonElement deploymentBefore = before[0].GetProperty("items")[0];
        JsonElement deploymentAfter = after.Single(d => d.GetProperty("kind").GetString() == "Deployment");
        JsonElement serviceAfter = after.Single(d => d.GetProperty("kind").GetString() == "Service");
        const string LastApplied = "kubectl.kubernetes.io/last-applied-configuration";
        string? original = deploymentBefore.GetProperty("metadata").GetProperty("annotations").GetProperty(LastApplied).GetString();
        Assert.EndsWith("}}}}\n", original, StringComparison.Ordinal);
        Assert.Equal(original, deploymentAfter.GetProperty("metadata").GetProperty("annotations").GetProperty(LastApplied).GetString());
        Assert.Equal(
            before[0].GetProperty("items")[1].GetProperty("metadata").GetProperty("annotations").GetProperty(LastApplied).GetString(),
            serviceAfter.GetProperty("metadata").GetProperty("annotations").GetProperty(LastApplied).GetString());
        Assert.Equal("caf\u00e9: #1\n", deploymentAfter.GetProperty("spec").GetProperty("template").GetProperty("metadata").GetProperty("annotations").GetProperty("note").GetString());
        Assert.Contains($"    {LastApplied}: |\n      {{\"apiVersion\":\"apps/v1\"", output, StringComparison.Ordinal);
        Assert.Equal(output, InjectReal(output));
    }

    /// <summary>All of <see cref="Awkward"/> in one manifest: one inject, one js-yaml run for the input and one for the output.</summary>
    [Fact]
    public void AwkwardStringsReadBackExactlyUnderJsYaml()
    {
        string input = Manifest(Awkward);

        string output = InjectReal(input);

        JsonElement[] before = JsYaml.LoadAll(input);
        JsonElement[] after = JsYaml.LoadAll(output);
        for (int i = 0; i < Awkward.Length; i++)
        {
            string expected = Awkward[i];
            Assert.Equal(expected, Annotation(before, i));
            Assert.True(expected == Annotation(after, i), $"annotation k{i}: {JsonSerializer.Serialize(expected)} read back as {JsonSerializer.Serialize(Annotation(after, i))}");
            Assert.True(expected == Data(after, i), $"data d{i}: {JsonSerializer.Serialize(expected)} read back as {JsonSerializer.Serialize(Data(after, i))}");
        }

        Assert.Equal(output, InjectReal(output));
    }

    /// <summary>`kubectl get deploy,svc -o json`: a JSON List, kept in flow style, where block scalars cannot go.</summary>
    [Fact]
    public void AwkwardStringsInKubectlJsonReadBackExactlyUnderJsYaml()
    {
        var annotations = new Dictionary<string, string>();
        for (int i = 0; i < Awkward.Length; i++)
        {
            annotations[$"k{i}"] = Awkward[i];
        }

        var list = new Dictionary<string, object>
        {
            ["apiVersion"] = "v1",
            ["kind"] = "List",
            ["items"] = new object[]
            {
                new Dictionary<string, object>
                {
                    ["apiVersion"] = "apps/v1",
                    ["kind"] = "Deployment",
                    ["metadata"] = new Dictionary<string, object> { ["name"] = "shop", ["namespace"] = "web", ["annotations"] = annotations },
                    ["spec"] = JsonDocument.Parse("""{"selector":{"matchLabels":{"app":"shop"}},"template":{"metadata":{"labels":{"app":"shop"}},"spec":{"containers":[{"name":"web","image":"shop:1","ports":[{"containerPort":8080}]}]}}}""").RootElement,
                },
                JsonDocument.Parse("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"shop","namespace":"web"},"spec":{"selector":{"app":"shop"},"ports":[{"port":80,"targetPort":8080}]}}""").RootElement,
            },
        };
        string input = JsonSerializer.Serialize(list, new JsonSerializerOptions { WriteIndented = true });

        string output = InjectReal(input);

        JsonElement[] after = Parse(output);
        for (int i = 0; i < Awkward.Length; i++)
        {
            Assert.True(Awkward[i] == Annotation(after, i), $"k{i}: {JsonSerializer.Serialize(Awkward[i])} read back as {JsonSerializer.Serialize(Annotation(after, i))}");
        }

        Assert.Equal(output, InjectReal(output));
    }

    /// <summary>
    /// The same strings as another tool's YAML leaves them: single-quoted over several lines (PyYAML), folded, literal,
    /// plain. Each in each style, as the value of an annotation of the Deployment.
    /// </summary>
    [Theory]
    [InlineData(ScalarStyle.SingleQuoted)]
    [InlineData(ScalarStyle.Folded)]
    [InlineData(ScalarStyle.Literal)]
    [InlineData(ScalarStyle.Any)]
    [InlineData(ScalarStyle.Plain)]
    public void AwkwardStringsReadInAnyStyleReadBackExactlyUnderJsYaml(ScalarStyle style)
    {
        List<ManifestDocument> documents = ManifestReader.Read("input.yaml", Manifest([]));
        YamlMappingNode annotations = GetOrAddMap(documents.Single(d => d.Kind == "Deployment").Metadata!, "annotations");
        string[] values = style is ScalarStyle.Plain or ScalarStyle.Any ? Awkward.Select(v => "x" + v).ToArray() : Awkward;
        for (int i = 0; i < values.Length; i++)
        {
            Set(annotations, $"k{i}", new YamlScalarNode(values[i]) { Style = style });
        }

        string output = ManifestInjector.Inject(documents, new InjectOptions()).Yaml;

        JsonElement[] after = Parse(output);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(values[i] == Annotation(after, i), $"{style} k{i}: {JsonSerializer.Serialize(values[i])} read back as {JsonSerializer.Serialize(Annotation(after, i))}");
        }

        Assert.Equal(output, InjectReal(output));
    }

    [Fact]
    public void LastAppliedConfigurationIsALiteralBlockIndentedUnderItsKey()
    {
        string output = InjectReal(Manifest(["{\"a\":1}\n", "{\"b\":2}\n\n", "{\"c\":3}"]));

        Assert.Contains("    k0: |\n      {\"a\":1}\n    k1: |+\n      {\"b\":2}\n\n    k2: \"{\\\"c\\\":3}\"\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\n\"", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\n'", output, StringComparison.Ordinal);
    }

    /// <summary>The chars strings are drawn from: the YAML indicators and breaks alongside plain text, so most strings mix them.</summary>
    private static readonly Gen<string> Text = Gen.Frequency(
        (4, Gen.Char["ab xy:#-?'\"\n\n\n |>{}[],&*!%@`\\~."].Array[0, 24].Select(c => new string(c))),
        (2, Gen.Char[' ', '~'].Array[0, 30].Select(c => new string(c))),
        (1, Gen.Char["\r\t\u0000\u001f\u007f\u0085\u00a0\u00e9\u2028\u2029\ufeff\u4e2d\n "].Array[0, 10].Select(c => new string(c))),
        (1, Gen.OneOf("\ud83d\ude00", "caf\u00e9\n", "\n\n", "true", "1.5", "~", "---", "...", "- x", "a: b", "#x", "")));

    private static readonly Gen<string> Value = Text.Array[1, 4].Select(parts => string.Concat(parts));

    private static readonly Gen<ScalarStyle> Style = Gen.OneOf(ScalarStyle.Any, ScalarStyle.Plain, ScalarStyle.SingleQuoted, ScalarStyle.DoubleQuoted, ScalarStyle.Literal, ScalarStyle.Folded);

    /// <summary>
    /// Any strings, placed both as written in an input file (double-quoted) and as nodes of any scalar style (as a reader
    /// of another tool's YAML would have them), in annotations and in a ConfigMap's data (the last value of its document),
    /// read back by js-yaml exactly. One inject and one node run per sample of 32 strings.
    /// </summary>
    [Fact]
    public void AnyStringInAnyStyleReadsBackExactlyUnderJsYaml()
    {
        Gen.Select(Value.Array[32], Style.Array[32]).Sample((values, styles) =>
        {
            List<ManifestDocument> documents = ManifestReader.Read("input.yaml", Manifest(values));
            YamlMappingNode data = GetMap(documents.Single(d => d.Kind == "ConfigMap").Root, "data")!;
            var expected = values.ToList();
            for (int i = 0; i < values.Length; i++)
            {
                // Plain and Any styles are strings only when the text does not resolve to something else (true, 1.5, ~).
                string value = styles[i] is ScalarStyle.Plain or ScalarStyle.Any ? "x" + values[i] : values[i];
                Set(data, $"d{i}", new YamlScalarNode(value) { Style = styles[i] });
                expected[i] = value;
            }

            string output = ManifestInjector.Inject(documents, new InjectOptions()).Yaml;

            JsonElement[] parsed = Parse(output);

            for (int i = 0; i < values.Length; i++)
            {
                Assert.Equal(values[i], Annotation(parsed, i));
                Assert.Equal(expected[i], Data(parsed, i));
            }

            Assert.Equal(output, InjectReal(output));
        }, iter: 25, print: sample => JsonSerializer.Serialize(sample.Item1.Zip(sample.Item2, (v, s) => $"{s}: {v}")));
    }

    private static JsonElement[] Parse(string output)
    {
        try
        {
            return JsYaml.LoadAll(output);
        }
        catch (YamlRejectedException e)
        {
            Assert.Fail($"js-yaml refused the output: {e.Message}\n{output}");
            throw;
        }
    }

    private static string InjectReal(string yaml) => ManifestInjector.Inject(ManifestReader.Read("input.yaml", yaml), new InjectOptions()).Yaml;

    /// <summary>A Deployment whose annotations k0.. and a ConfigMap whose data d0.. hold the values, double-quoted with YAML escapes.</summary>
    private static string Manifest(IReadOnlyList<string> values)
    {
        var text = new StringBuilder(Service).Append("\n---\n");
        text.Append("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\n  namespace: web\n  annotations:\n");
        for (int i = 0; i < values.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"    k{i}: {Quote(values[i])}\n");
        }

        text.Append("spec:\n  selector:\n    matchLabels:\n      app: shop\n  template:\n    metadata:\n      labels:\n        app: shop\n")
            .Append("    spec:\n      containers:\n      - name: web\n        image: registry.example.com/shop:1.0\n        ports:\n        - containerPort: 8080\n");
        text.Append("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scripts\n  namespace: web\ndata:\n");
        for (int i = 0; i < values.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"  d{i}: {Quote(values[i])}\n");
        }

        return text.ToString();
    }

    /// <summary>A YAML double-quoted scalar: backslash, quote and every character outside printable ASCII and BMP text escaped.</summary>
    private static string Quote(string value)
    {
        var quoted = new StringBuilder("\"");
        foreach (char c in value)
        {
            if (c is '"' or '\\')
            {
                quoted.Append('\\').Append(c);
            }
            else if (c is < ' ' or (>= '\u007f' and <= '\u009f') or '\u2028' or '\u2029' or '\ufeff')
            {
                quoted.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                quoted.Append(c);
            }
        }

        return quoted.Append('"').ToString();
    }

    private static string? Annotation(JsonElement[] documents, int i) =>
        documents.Single(d => d.GetProperty("kind").GetString() == "Deployment").GetProperty("metadata").GetProperty("annotations").GetProperty($"k{i}").GetString();

    private static string? Data(JsonElement[] documents, int i) =>
        documents.Single(d => d.GetProperty("kind").GetString() == "ConfigMap" && d.GetProperty("metadata").GetProperty("name").GetString() == "scripts")
            .GetProperty("data").GetProperty($"d{i}").GetString();
}
