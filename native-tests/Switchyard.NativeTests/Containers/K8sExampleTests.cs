using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Containers;

/// <summary>containers/k8s: the example's generated config and injected manifests are what the binary produces today.</summary>
public sealed class K8sExampleTests
{
    private static string Example(string name) => Path.Combine(RepoPaths.RepoRoot, "containers", "k8s", name);

    [Fact]
    public async Task TheGeneratedConfigIsUpToDate()
    {
        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["generate", "-f", Example("echo.yaml")]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(await File.ReadAllTextAsync(Example("echo.config.json")) == result.Stdout, "containers/k8s/echo.config.json is stale: run `make k8s-examples`");
    }

    [Fact]
    public async Task TheInjectedManifestsAreUpToDateAndInjectingThemAgainChangesNothing()
    {
        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", Example("echo.yaml")]);
        var again = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["inject", "-f", "-"], stdin: result.Stdout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(await File.ReadAllTextAsync(Example("echo.injected.yaml")) == result.Stdout, "containers/k8s/echo.injected.yaml is stale: run `make k8s-examples`");
        Assert.Equal(result.Stdout, again.Stdout);
    }

    [Fact]
    public async Task TheInjectedConfigMapCarriesTheGeneratedConfig()
    {
        var injected = await File.ReadAllTextAsync(Example("echo.injected.yaml"));
        var config = await File.ReadAllTextAsync(Example("echo.config.json"));

        // The ConfigMap holds the config as a literal block, indented under config.json.
        foreach (var line in config.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.Contains(line, injected, StringComparison.Ordinal);
        }

        Assert.Contains("name: echo-switchyard", injected, StringComparison.Ordinal);
        Assert.Contains("image: ghcr.io/switchyard/switchyard:", injected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDockerfilePutsTheBinaryWhereTheInjectedProbesRunItAsANonRootUserWithoutAShell()
    {
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(RepoPaths.RepoRoot, "containers", "Dockerfile"));
        var rootfs = await File.ReadAllTextAsync(Path.Combine(RepoPaths.RepoRoot, "containers", "rootfs.sh"));
        var injected = await File.ReadAllTextAsync(Example("echo.injected.yaml"));
        var finalStage = dockerfile[dockerfile.LastIndexOf("FROM ", StringComparison.Ordinal)..];

        // One recipe: the build stage runs containers/rootfs.sh, the final stage (FROM scratch, which `make image` builds
        // without pulling) holds only its output.
        Assert.Contains("RUN containers/rootfs.sh /out/switchyard /rootfs", dockerfile, StringComparison.Ordinal);
        Assert.StartsWith("FROM scratch\n", finalStage, StringComparison.Ordinal);
        Assert.DoesNotContain("RUN ", finalStage, StringComparison.Ordinal);
        Assert.Single(finalStage.Split('\n'), line => line.StartsWith("COPY ", StringComparison.Ordinal));
        Assert.Contains("COPY --from=build /rootfs/ /\n", finalStage, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"/usr/local/bin/switchyard\"]", finalStage, StringComparison.Ordinal);
        Assert.Contains("\"$DIR/usr/local/bin/switchyard\"", rootfs, StringComparison.Ordinal);
        Assert.Matches(@"USER [1-9][0-9]*:[1-9][0-9]*", finalStage);
        Assert.Contains("- /usr/local/bin/switchyard", injected, StringComparison.Ordinal);
    }
}
