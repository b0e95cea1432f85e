using Switchyard.Kubernetes;

namespace Switchyard.Tests.Kubernetes.Inject;

public sealed class InjectNamesTests
{
    [Theory]
    [InlineData("http", true)]
    [InlineData("grpc-internal1", true)]
    [InlineData("app-metrics", true)]
    [InlineData("a123456789012345", false)] // 16 characters
    [InlineData("8080", false)] // no letter
    [InlineData("-http", false)]
    [InlineData("http-", false)]
    [InlineData("ht--tp", false)]
    [InlineData("HTTP", false)]
    [InlineData("h_ttp", false)]
    [InlineData("", false)]
    public void PortNamesFollowIanaSvcName(string name, bool valid)
    {
        Assert.Equal(valid, InjectNames.IsValidPortName(name));
    }

    [Theory]
    [InlineData("http", "app-http")]
    [InlineData("metrics", "app-metrics")]
    [InlineData("grpc-internal1", "app-grpc-inte-1")]
    [InlineData("12345678901", "app-12345678901")]
    [InlineData("123456789012", "app-123456789-1")]
    public void AppPortNameIsPrefixedWhenItFitsAndShortenedOtherwise(string original, string expected)
    {
        Assert.Equal(expected, InjectNames.AppPortName(original, new HashSet<string>()));
    }

    [Fact]
    public void AppPortNameAvoidsTakenNames()
    {
        var taken = new HashSet<string> { "app-http", "app-http-1" };

        string name = InjectNames.AppPortName("http", taken);

        Assert.Equal("app-http-2", name);
        Assert.True(InjectNames.IsValidPortName(name));
    }

    [Fact]
    public void VolumeNamesAreDns1123LabelsOfAtMost63CharactersAndUnique()
    {
        string secret = "a.very-long.secret_name-that-goes-on-and-on-and-on-well-past-the-limit";
        string first = InjectNames.VolumeName("sy-secret-", secret, new HashSet<string>());
        string second = InjectNames.VolumeName("sy-secret-", secret, new HashSet<string> { first });

        Assert.True(InjectNames.IsDns1123Label(first), first);
        Assert.True(InjectNames.IsDns1123Label(second), second);
        Assert.NotEqual(first, second);
        Assert.StartsWith("sy-secret-a-very-long-secret-name", first, StringComparison.Ordinal);
        Assert.Equal("sy-secret-api-tls", InjectNames.VolumeName("sy-secret-", "api-tls", new HashSet<string>()));
    }
}
