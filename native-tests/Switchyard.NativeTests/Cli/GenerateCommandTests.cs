using System.Globalization;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Cli;

/// <summary>`switchyard generate`: Kubernetes YAML in, config JSON out; and that config actually runs the agent.</summary>
public sealed class GenerateCommandTests(ITestOutputHelper output)
{
    private static string Manifest(int appPort, string annotations = "") => $$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: shop
          namespace: web
        spec:
          selector:
            matchLabels: {app: shop}
          template:
            metadata:
              labels: {app: shop}
              annotations:
                prometheus.io/scrape: "true"
        {{annotations}}
            spec:
              containers:
              - name: app
                image: shop
                ports:
                - name: https
                  containerPort: {{appPort}}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: shop
          namespace: web
        spec:
          selector: {app: shop}
          ports:
          - name: https
            port: 443
            targetPort: https
            appProtocol: https
        """;

    private static Task<ProcessResult> Generate(IEnumerable<string> arguments, string? stdin = null) =>
        ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["generate", .. arguments], stdin, TimeSpan.FromSeconds(20));

    [Fact]
    public async Task GenerateWithAFilePrintsTheConfigOnStdout()
    {
        using var dir = new TempDir();
        var file = dir.File("app.yaml");
        await File.WriteAllTextAsync(file, Manifest(8443));

        var result = await Generate(["-f", file]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        var config = JsonNode.Parse(result.Stdout)!;
        Assert.Equal(1, config["version"]!.GetValue<int>());
        Assert.Equal("Deployment", config["workload"]!["kind"]!.GetValue<string>());
        Assert.Equal("web", config["workload"]!["namespace"]!.GetValue<string>());
        var port = Assert.Single(config["ports"]!.AsArray())!;
        Assert.Equal("""{"name":"https","protocol":"TCP","appProtocol":"https","listen":9900,"app":"127.0.0.1:8443"}""", port.ToJsonString());
        Assert.EndsWith("}\n", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StdinAndOutputFileGiveTheSameBytesAsAFileToStdout()
    {
        using var dir = new TempDir();
        var file = dir.File("app.yaml");
        var yaml = Manifest(8443, "        telepresence.io/downstream-tls-secret.8443: shop-tls");
        await File.WriteAllTextAsync(file, yaml);
        var outFile = dir.File("config.json");

        var fromFile = await Generate(["-f", file]);
        var fromStdin = await Generate(["-f", "-", "--workload", "deploy/shop"], stdin: yaml);
        var toFile = await Generate(["--workload", "Deployment/shop", "-f", file, "-o", outFile]);

        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.True(fromStdin.ExitCode == 0, fromStdin.ToString());
        Assert.True(toFile.ExitCode == 0, toFile.ToString());
        Assert.Equal(fromFile.Stdout, fromStdin.Stdout);
        Assert.Equal("", toFile.Stdout);
        Assert.Equal(fromFile.Stdout, await File.ReadAllTextAsync(outFile));
        Assert.Contains("/var/run/switchyard/secrets/shop-tls/tls.crt", fromFile.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInputExitsTwoWithOneLineNamingFileDocumentAndField()
    {
        using var dir = new TempDir();
        var file = dir.File("app.yaml");
        await File.WriteAllTextAsync(file, Manifest(8443, "        telepresence.io/upstream-probe-timeout.8443: soon"));
        var outFile = dir.File("config.json");

        var result = await Generate(["-f", file, "-o", outFile]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(
            $"{file}: document 0: spec.template.metadata.annotations[\"telepresence.io/upstream-probe-timeout.8443\"]: expected a duration such as 10s, 1m30s or 500ms, found \"soon\"\n",
            result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.False(File.Exists(outFile), "no output file on bad input");
    }

    [Fact]
    public async Task AMissingFileAndAMissingFlagAreErrors()
    {
        using var dir = new TempDir();

        var missing = await Generate(["-f", dir.File("nope.yaml")]);
        var noFlag = await Generate([]);
        var unknown = await Generate(["-f", "x.yaml", "--frobnicate"]);

        Assert.True(missing.ExitCode == 2, missing.ToString());
        Assert.Equal($"{dir.File("nope.yaml")}: -f: file not found\n", missing.Stderr);
        Assert.True(noFlag.ExitCode == 2, noFlag.ToString());
        Assert.StartsWith("switchyard: generate: at least one -f FILE is required", noFlag.Stderr, StringComparison.Ordinal);
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.StartsWith("switchyard: generate: unknown option '--frobnicate'", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WarningsGoToStderrAndDoNotFail()
    {
        using var dir = new TempDir();
        var file = dir.File("app.yaml");
        var yaml = Manifest(8443).Replace("          containerPort: 8443", "          containerPort: 8443\n        - containerPort: 9090", StringComparison.Ordinal)
            .Replace("prometheus.io/scrape: \"true\"", "prometheus.io/scrape: \"true\"\n        telepresence.io/downstream-tls-path.9090: /etc/metrics", StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, yaml);

        var result = await Generate(["-f", file]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            $"switchyard: warning: {file}: document 0: telepresence.io/downstream-tls-path.9090: no Service reaches container port 9090, so the agent does not front it; ignored\n",
            result.Stderr);
        Assert.Single(JsonNode.Parse(result.Stdout)!["ports"]!.AsArray());
    }

    [Fact]
    public async Task AGeneratedConfigRunsTheAgentAndCurlGetsTheAppThroughIt()
    {
        using var dir = new TempDir();
        var certDir = Directory.CreateDirectory(dir.File("certs")).FullName;
        TestPki.WritePem(TestPki.Shared.Server, certDir, "tls");
        var ca = TestPki.WriteCertPem(TestPki.Shared.Ca, dir.Path, "ca");
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "generated" });
        var file = dir.File("app.yaml");
        await File.WriteAllTextAsync(file, Manifest(app.Port, $"""
                    telepresence.io/downstream-tls-path.{app.Port}: {certDir}
                    telepresence.io/upstream-insecure-skip-verify.{app.Port}: enabled
                    telepresence.io/upstream-probe-timeout.{app.Port}: 3s
            """));
        var generated = await Generate(["-f", file]);
        Assert.True(generated.ExitCode == 0, generated.ToString());

        // The generated ports are cluster ports (9900, 9901, 9902): move them to free loopback ports for this machine.
        var config = JsonNode.Parse(generated.Stdout)!.AsObject();
        var port = config["ports"]![0]!.AsObject();
        Assert.Equal($"127.0.0.1:{app.Port}", port["app"]!.GetValue<string>());
        Assert.Equal($"{certDir}/tls.crt", port["downstreamTls"]!["certPem"]!.GetValue<string>());
        var listen = Ports.GetFreeTcpPort();
        port["listen"] = Ports.Loopback(listen);
        config["admin"]!["listen"] = Ports.Loopback(Ports.GetFreeTcpPort());
        config["tunnel"]!["listen"] = Ports.Loopback(Ports.GetFreeTcpPort());
        port["inspect"] = "always";

        await using var agent = await AgentProcess.StartAsync(output, dir, config);
        var result = await Curl.HttpsAsync(listen, "/through/generated", "--cacert", ca, "-H", "x-test: gen");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("app=generated\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("path=/through/generated\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("x-test=gen\n", result.Body, StringComparison.Ordinal);
        var status = await agent.GetStatusAsync();
        Assert.Equal(Ports.Loopback(listen), AgentProcess.PortStatus(status, "https")["listen"]!.GetValue<string>());
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"agent on {listen} in front of app {app.Port}"));
    }
}
