using Switchyard.Kubernetes;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Kubernetes.Inject;

public sealed class InjectCommandTests
{
    [Fact]
    public void ReadsFilesAndStdinAndWritesTheInjectedStreamWithWarningsOnStderr()
    {
        using var dir = new TempDirectory();
        string settings = dir.Write("settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: debug\n");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int code = InjectCommand.Run(
            ["-f", "-", "-f", settings, "--image", "registry.local/sy:dev"],
            new StringReader(InjectFixtures.Text("shop-named-ports.yaml")), stdout, stderr);

        Assert.Equal(0, code);
        Assert.Contains("image: registry.local/sy:dev\n", stdout.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("kind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: debug\n", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(
            "switchyard: warning: -: document 0: configmap/shop-settings: neither a workload nor a Service; passed through unchanged\n" +
            $"switchyard: warning: {settings}: document 0: configmap/settings: neither a workload nor a Service; passed through unchanged\n" +
            "switchyard: warning: service/shop-headless is headless: clients that dial pod addresses at port 8080 still reach the app directly; the agent listens on 9900\n",
            stderr.ToString());
    }

    [Theory]
    [InlineData(new string[0], "at least one -f FILE")]
    [InlineData(new[] { "-f" }, "-f needs a value")]
    [InlineData(new[] { "-f", "a.yaml", "--replicas", "2" }, "unknown option '--replicas'")]
    [InlineData(new[] { "-f", "-", "-f", "-" }, "standard input (-f -) can be read once only")]
    [InlineData(new[] { "-f", "a.yaml", "--image", "" }, "--image: expected an image reference")]
    public void CommandLineMistakesAreUsageErrors(string[] args, string message)
    {
        var e = Assert.Throws<UsageException>(() => InjectCommand.Run(args, new StringReader(string.Empty), new StringWriter(), new StringWriter()));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFileIsAnInputErrorNamingTheFile()
    {
        var e = Assert.Throws<KubeInputException>(() =>
            InjectCommand.Run(["-f", "/nonexistent/app.yaml"], new StringReader(string.Empty), new StringWriter(), new StringWriter()));

        Assert.Equal("/nonexistent/app.yaml: -f: file not found", e.Message);
    }
}
