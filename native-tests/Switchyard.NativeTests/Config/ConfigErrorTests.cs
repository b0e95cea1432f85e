using System.Text.Json;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Config;

/// <summary>
/// A bad config is a usage error: exit code 2 and exactly one stderr line naming the file, the JSON path and
/// the reason (SPEC.md "Exit codes").
/// </summary>
public sealed class ConfigErrorTests
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>A valid config (TLS port with real PEM files); each test breaks one thing in it.</summary>
    private static JsonObject ValidConfig(PemSet pem)
    {
        var port = AgentConfig.Port("web", Ports.GetFreeTcpPort(), Ports.GetFreeTcpPort(), "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        return AgentConfig.Create(Ports.GetFreeTcpPort(), port);
    }

    private static JsonObject FirstPort(JsonObject config) => config["ports"]![0]!.AsObject();

    private static Task<ProcessResult> RunAgentAsync(string configPath) =>
        ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["agent", "--config", configPath], timeout: TimeSpan.FromSeconds(10));

    private static async Task<ProcessResult> RunWithConfigAsync(TempDir dir, JsonObject config)
    {
        var path = dir.File("config.json");
        await File.WriteAllTextAsync(path, config.ToJsonString(Indented));
        return await RunAgentAsync(path);
    }

    private static void AssertConfigError(ProcessResult result, params string[] fragments)
    {
        Assert.True(result.ExitCode == 2, $"expected exit code 2\n{result}");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected exactly one stderr line, got {lines.Length}\n{result}");
        foreach (var fragment in fragments)
        {
            Assert.True(lines[0].Contains(fragment, StringComparison.Ordinal), $"the stderr line lacks \"{fragment}\"\n{result}");
        }
    }

    [Fact]
    public async Task UnknownFieldTypoNamesTheFileThePathAndTheField()
    {
        using var dir = new TempDir();
        var config = ValidConfig(PemSet.Write(dir.Path));
        var port = FirstPort(config);
        var listen = port["listen"]!.DeepClone();
        port.Remove("listen");
        port["lisen"] = listen;

        var result = await RunWithConfigAsync(dir, config);

        AssertConfigError(result, "config.json", "$.ports[0]", "lisen");
    }

    [Fact]
    public async Task UnknownTopLevelFieldIsRejected()
    {
        using var dir = new TempDir();
        var config = ValidConfig(PemSet.Write(dir.Path));
        config["interceptz"] = new JsonArray();

        var result = await RunWithConfigAsync(dir, config);

        AssertConfigError(result, "config.json", "$", "interceptz");
    }

    [Fact]
    public async Task MissingCertificateFileNamesTheJsonPathAndTheFile()
    {
        using var dir = new TempDir();
        var config = ValidConfig(PemSet.Write(dir.Path));
        var missing = Path.Combine(dir.Path, "nowhere", "tls.crt");
        FirstPort(config)["downstreamTls"]!["certPem"] = missing;

        var result = await RunWithConfigAsync(dir, config);

        AssertConfigError(result, "config.json", "$.ports[0].downstreamTls.certPem", "not found", missing);
    }

    [Fact]
    public async Task KeyThatDoesNotMatchTheCertificateIsRejected()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        var config = ValidConfig(pem);
        FirstPort(config)["downstreamTls"]!["keyPem"] = pem.Client.KeyPem;

        var result = await RunWithConfigAsync(dir, config);

        AssertConfigError(result, "config.json", "$.ports[0].downstreamTls");
    }

    [Fact]
    public async Task BadDurationNamesThePath()
    {
        using var dir = new TempDir();
        var config = ValidConfig(PemSet.Write(dir.Path));
        FirstPort(config)["probeTimeout"] = "2 parsecs";

        var result = await RunWithConfigAsync(dir, config);

        AssertConfigError(result, "config.json", "$.ports[0].probeTimeout");
    }

    [Fact]
    public async Task UnknownInspectModeNamesThePath()
    {
        using var dir = new TempDir();
        var config = ValidConfig(PemSet.Write(dir.Path));
        FirstPort(config)["inspect"] = "sometimes";

        var result = await RunWithConfigAsync(dir, config);

        AssertConfigError(result, "config.json", "$.ports[0].inspect");
    }

    [Fact]
    public async Task FileThatIsNotJsonIsAConfigError()
    {
        using var dir = new TempDir();
        var path = dir.File("config.json");
        await File.WriteAllTextAsync(path, "this is { not json");

        var result = await RunAgentAsync(path);

        AssertConfigError(result, "config.json", "$");
    }

    [Fact]
    public async Task MissingConfigFileIsAConfigError()
    {
        using var dir = new TempDir();
        var path = dir.File("absent.json");

        var result = await RunAgentAsync(path);

        AssertConfigError(result, "absent.json");
    }
}
