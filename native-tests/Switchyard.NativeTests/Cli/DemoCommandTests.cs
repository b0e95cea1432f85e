using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Cli;

/// <summary>`switchyard demo`: a TLS app with the agent in front, curl lines that work, SIGTERM ends it.</summary>
public sealed class DemoCommandTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DemoPrintsCurlLinesThatGetAnAnswerAndStopsOnSigterm()
    {
        using var dir = new TempDir();
        await using var demo = AgentProcess.StartCommand(output, dir, "demo");

        var curlLines = await WaitForCurlLinesAsync(demo);
        var first = ShellWords.Split(curlLines[0]);
        Assert.Equal("curl", first[0]);
        var result = await ProcessRunner.RunAsync("curl",
            ["--silent", "--show-error", "--noproxy", "*", "--max-time", "15", "--write-out", "\n%{http_code}", .. first.Skip(1)]);

        Assert.True(result.ExitCode == 0, $"the demo's first curl line failed: {curlLines[0]}\n{result}");
        var status = result.Stdout.TrimEnd().Split('\n')[^1];
        Assert.True(status.StartsWith('2'), $"the demo's first curl line got HTTP {status}: {curlLines[0]}\n{result}");

        // The second curl line carries x-dev: alice and must reach the developer's server, not the app.
        Assert.True(curlLines.Count >= 2, string.Join("\n", curlLines));
        var second = ShellWords.Split(curlLines[1]);
        var intercepted = await ProcessRunner.RunAsync("curl",
            ["--silent", "--show-error", "--noproxy", "*", "--max-time", "15", .. second.Skip(1)]);
        Assert.True(intercepted.ExitCode == 0, intercepted.ToString());
        Assert.StartsWith("alice-laptop: GET /api/orders", intercepted.Stdout, StringComparison.Ordinal);
        Assert.StartsWith("demo-app: GET /hello", result.Stdout, StringComparison.Ordinal);

        demo.SendSigterm();
        Assert.Equal(0, await demo.WaitForExitAsync(Timeouts.Short));
    }

    private static async Task<IReadOnlyList<string>> WaitForCurlLinesAsync(AgentProcess demo)
    {
        var deadline = DateTime.UtcNow + Timeouts.AgentReady;
        while (DateTime.UtcNow < deadline)
        {
            var lines = demo.StdoutLines
                .Select(l => l.Trim().TrimStart('$').Trim())
                .Where(l => l.StartsWith("curl ", StringComparison.Ordinal))
                .ToList();
            if (lines.Count > 0)
            {
                // Give the demo a moment to finish printing and to start listening.
                await Task.Delay(300);
                return lines;
            }

            if (demo.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"`switchyard demo` exited before printing a curl line\n{demo.Dump()}");
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"`switchyard demo` printed no curl line within {Timeouts.AgentReady.TotalSeconds}s\n{demo.Dump()}");
    }
}
