using System.Text.RegularExpressions;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Cli;

/// <summary>The command line: version, usage errors, and where `agent` finds its config.</summary>
public sealed partial class CommandLineTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"\d+\.\d+\.\d+")]
    private static partial Regex SemVer();

    [Fact]
    public async Task VersionCommandPrintsOneVersionLineAndExitsZero()
    {
        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["version"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var line = result.Stdout.Trim();
        Assert.False(line.Contains('\n', StringComparison.Ordinal), $"one line expected\n{result}");
        Assert.Matches(SemVer(), line);
    }

    [Fact]
    public async Task UnknownCommandIsAUsageErrorThatNamesIt()
    {
        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["frobnicate"]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("frobnicate", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadDrainTimeoutIsAUsageError()
    {
        using var dir = new TempDir();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", Ports.GetFreeTcpPort(), Ports.GetFreeTcpPort()));
        var path = dir.File("config.json");
        await File.WriteAllTextAsync(path, config.ToJsonString());

        var result = await ProcessRunner.RunAsync(
            RepoPaths.RequireAgentBinary(), ["agent", "--config", path, "--drain-timeout", "soon"], timeout: TimeSpan.FromSeconds(10));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("soon", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AgentReadsItsConfigPathFromSwitchyardConfigWhenNoFlagIsGiven()
    {
        using var dir = new TempDir();
        var listen = Ports.GetFreeTcpPort();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("from-env", listen, Ports.GetFreeTcpPort(), "never"));

        await using var agent = await AgentProcess.StartAsync(output, dir, config, configFromEnvironment: true);
        var status = await agent.GetStatusAsync();

        Assert.Equal(agent.ConfigPath, status["config"]!["path"]!.GetValue<string>());
        Assert.Equal(Ports.Loopback(listen), AgentProcess.PortStatus(status, "from-env")["listen"]!.GetValue<string>());
    }
}
