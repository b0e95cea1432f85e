using Switchyard.Config;
using Switchyard.Kubernetes;

namespace Switchyard.Tests.Kubernetes;

/// <summary>Agent port names generate writes are names the agent accepts (IANA service names, ConfigLimits.CheckPortName).</summary>
public sealed class GeneratedPortNameTests
{
    [Theory]
    [InlineData("https", "https")]
    [InlineData("grpc-web", "grpc-web")]
    [InlineData("a-very-long-service-port-name", "a-very-long-ser")]
    [InlineData("http-metrics--x", "http-metrics-x")]
    [InlineData("8080", "p8080")]
    [InlineData("123456789012345678", "p12345678901234")]
    [InlineData("metrics-1234567-", "metrics-1234567")]
    [InlineData("HTTP_API", "http-api")]
    public void A_name_becomes_a_valid_port_name(string wanted, string expected)
    {
        string name = ConfigGenerator.UniqueName([], wanted);

        Assert.Equal(expected, name);
        Assert.Null(ConfigLimits.CheckPortName(name));
    }

    [Fact]
    public void Duplicates_get_a_suffix_within_fifteen_characters()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        string[] got = [.. Enumerable.Range(0, 12).Select(_ => ConfigGenerator.UniqueName(names, "a-very-long-service-port-name"))];

        Assert.Equal("a-very-long-ser", got[0]);
        Assert.Equal("a-very-long-s-2", got[1]);
        Assert.Equal("a-very-long-10", got[9]);
        Assert.Equal(got.Length, got.Distinct().Count());
        Assert.All(got, n => Assert.Null(ConfigLimits.CheckPortName(n)));
    }
}
