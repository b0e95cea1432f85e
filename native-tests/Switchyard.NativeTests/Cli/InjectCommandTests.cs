using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Cli;

/// <summary>`switchyard inject` on real manifests (files and stdin), its input errors, and `switchyard probe` against a running agent.</summary>
public sealed class InjectCommandTests(ITestOutputHelper output)
{
    private static string Fixture(string name) =>
        Path.Combine(RepoPaths.RepoRoot, "src", "Switchyard.Tests", "Kubernetes", "Fixtures", "inject", name);

    [Fact]
    public async Task InjectFromAFileAddsTheSidecarAndIsIdempotentThroughStdin()
    {
        var once = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", Fixture("shop-named-ports.yaml"), "--image", "registry.local/switchyard:test"]);

        Assert.True(once.ExitCode == 0, once.ToString());
        Assert.Contains("  name: shop-switchyard\n", once.Stdout, StringComparison.Ordinal);
        Assert.Contains("      - name: switchyard\n        image: registry.local/switchyard:test\n", once.Stdout, StringComparison.Ordinal);
        Assert.Contains("        - name: app-http\n          containerPort: 8080\n", once.Stdout, StringComparison.Ordinal);
        Assert.Contains("        switchyard.io/injected: \"", once.Stdout, StringComparison.Ordinal);

        var twice = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", "-", "--image", "registry.local/switchyard:test"], stdin: once.Stdout);

        Assert.True(twice.ExitCode == 0, twice.ToString());
        Assert.Equal(once.Stdout, twice.Stdout);
    }

    [Fact]
    public async Task StdinAndFileGiveTheSameOutputAndWarningsGoToStderr()
    {
        string text = await File.ReadAllTextAsync(Fixture("shop-named-ports.yaml"));

        var fromFile = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", Fixture("shop-named-ports.yaml")]);
        var fromStdin = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", "-"], stdin: text);

        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.True(fromStdin.ExitCode == 0, fromStdin.ToString());
        Assert.Equal(fromFile.Stdout, fromStdin.Stdout);
        Assert.Contains("switchyard: warning: -: document 0: configmap/shop-settings: neither a workload nor a Service; passed through unchanged\n", fromStdin.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", fromStdin.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADeploymentWithoutItsServiceExitsTwoSayingToPassTheService()
    {
        string deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shop}\nspec:\n  template:\n    metadata:\n      labels: {app: shop}\n    spec:\n      containers:\n      - {name: shop, image: shop, ports: [{containerPort: 8080}]}\n";

        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", "-"], stdin: deployment);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(
            "-: document 0: spec.template.metadata.labels: no Service of the input selects deployment/shop: pass the Service(s) selecting it too, e.g. kubectl get deploy,svc -o yaml | switchyard inject -f -\n",
            result.Stderr);
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Fact]
    public async Task AServiceThatSelectsNoWorkloadIsOneWarningAndTheRestIsInjected()
    {
        string text = await File.ReadAllTextAsync(Fixture("dns-udp-numeric.yaml"))
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: infra}\nspec:\n  selector: {app: other}\n  ports: [{port: 80}]\n";

        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", "-"], stdin: text);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            "switchyard: warning: -: document 2: service/other: spec.selector app=other selects no workload in namespace infra of the input; passed through unchanged\n",
            result.Stderr);
        Assert.Contains("  name: dns-switchyard\n", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n", "-: line ")]
    [InlineData("- just\n- a list\n", "-: document 0: $: expected a Kubernetes object")]
    public async Task BadInputIsOneLineAndExitTwo(string input, string expected)
    {
        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", "-"], stdin: input);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith(expected, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal(string.Empty, result.Stdout);
    }

    /// <summary>Issue 13: these were a warning (tls-path) or ignored (mirrord's older schema) with exit 0, and the pod crash-looped or lacked TLS.</summary>
    [Theory]
    [InlineData("telepresence.io/downstream-tls-path.9443: /opt/baked/certs", "",
        "-: document 0: spec.template.metadata.annotations[\"telepresence.io/downstream-tls-path.9443\"]: /opt/baked/certs: no volume of deployment/api is mounted there or above")]
    [InlineData("telepresence.io/downstream-tls-path.9443: /opt/api/certs",
        "---\napiVersion: mirrord.metalbear.co/v1alpha\nkind: MirrordTlsStealConfig\nmetadata: {name: old, namespace: payments}\nspec:\n  ports:\n  - port: 8443\n    agentClientAuth: {certPem: /etc/client-certs/tls.crt, keyPem: /etc/client-certs/tls.key}\n",
        "-: document 2: spec.ports[0].agentClientAuth: unknown field (mirrord's older schema; the current one (mirrord.metalbear.co/v1alpha) has agentAsClient)")]
    public async Task CertificatesTheAgentCouldNeverReadAreExitTwo(string annotation, string extra, string expected)
    {
        string input = (await File.ReadAllTextAsync(Fixture("api-tls-annotations.yaml")))
            .Replace("telepresence.io/downstream-tls-path.9443: /opt/api/certs", annotation, StringComparison.Ordinal) + extra;

        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", "-"], stdin: input);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith(expected, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal(string.Empty, result.Stdout);
    }

    [Fact]
    public async Task MissingFileAndMissingFlagAreExitTwo()
    {
        var missing = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", "/nonexistent/app.yaml"]);
        var noFlag = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject"]);

        Assert.True(missing.ExitCode == 2, missing.ToString());
        Assert.Equal("/nonexistent/app.yaml: -f: file not found\n", missing.Stderr);
        Assert.True(noFlag.ExitCode == 2, noFlag.ToString());
        Assert.Contains("at least one -f FILE", noFlag.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeReadyAndLiveExitZeroAgainstARunningAgent()
    {
        using var dir = new TempDir();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", Ports.GetFreeTcpPort(), Ports.GetFreeTcpPort(), "never"));
        await using var agent = await AgentProcess.StartAsync(output, dir, config);
        string admin = Ports.Loopback(agent.AdminPort);

        var ready = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["probe", "ready", "--admin", admin]);
        var live = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["probe", "live", "--admin", admin]);

        Assert.True(ready.ExitCode == 0, ready.ToString());
        Assert.True(live.ExitCode == 0, live.ToString());
        Assert.Equal(string.Empty, ready.Stderr + live.Stderr);
    }

    [Fact]
    public async Task ProbeAgainstNothingExitsOneWithOneLine()
    {
        string admin = Ports.Loopback(Ports.GetFreeTcpPort());

        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["probe", "ready", "--admin", admin]);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"switchyard: probe ready: {admin}/readyz: ", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }
}
