using Switchyard.Kubernetes;

namespace Switchyard.Tests.Kubernetes;

/// <summary>ManifestReader on malformed YAML: always a <see cref="KubeInputException"/> naming the file (exit 2), never another exception.</summary>
public sealed class ManifestReaderTests
{
    [Theory]
    [InlineData("a: [b\n")]
    [InlineData("a: {b: c\n")]
    [InlineData("- a\nb: c\n")]
    public void Malformed_yaml_is_bad_input_with_its_line_and_column(string text)
    {
        var e = Assert.Throws<KubeInputException>(() => ManifestReader.Read("app.yaml", text));

        Assert.StartsWith("app.yaml: line ", e.Message, StringComparison.Ordinal);
        Assert.Contains("invalid YAML", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Found by `make fuzz` (target manifest; the minimized input, then the fuzzer's own as text): YamlDotNet throws InvalidOperationException here, not YamlException.</summary>
    [Theory]
    [InlineData(": [\n0")]
    [InlineData("apiV  ports: [{conta\u0084rt: 80ebug}\nse\"u\u0087}\nspec\n080me: d80me: dpec\n: PPd\u00a7\u00a7\u00a7\u00e8\u0003\u00a7\u00a7\nmetaa  \nkind  - name: d\u00aata: \u0090na}]")]
    public void Yaml_the_parser_gives_up_on_is_bad_input_too(string text)
    {
        var e = Assert.Throws<KubeInputException>(() => ManifestReader.Read("app.yaml", text));

        Assert.Equal("app.yaml: $: invalid YAML: the YAML parser gave up (InvalidOperationException)", e.Message);
    }

    [Fact]
    public void Generate_reports_such_yaml_as_bad_input_instead_of_crashing()
    {
        var e = Assert.Throws<KubeInputException>(() =>
            GenerateCommand.Run(["-f", "-"], new StringReader(": [\n0"), Stream.Null, TextWriter.Null));

        Assert.Null(e.DocumentIndex);
        Assert.Equal("-", e.File);
    }
}
