using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Cli;

/// <summary>
/// `switchyard demo`: a TLS app with the agent in front, `switchyard intercept` as the developer (its tunnel carries the
/// x-dev: alice curl line to alice-laptop), curl lines that work, SIGTERM ends the CLI and then the demo.
/// </summary>
public sealed class DemoCommandTests(ITestOutputHelper output)
{
    private static readonly HttpClient Admin = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task DemoPrintsCurlLinesThatGetAnAnswerAndStopsOnSigterm()
    {
        using var dir = new TempDir();
        int listenPort = Ports.GetFreeTcpPort(), adminPort = Ports.GetFreeTcpPort(), tunnelPort = Ports.GetFreeTcpPort();
        await using var demo = AgentProcess.StartCommand(output, dir, "demo",
            "--listen", $"{listenPort}", "--admin", $"{adminPort}", "--tunnel", $"{tunnelPort}");

        var curlLines = await WaitForCurlLinesAsync(demo);

        // The banner comes after the CLI's tunnel is up, and shows the command line the demo ran.
        var cliLine = $" intercept --agent 127.0.0.1:{adminPort} --to 127.0.0.1:";
        Assert.Contains(demo.StdoutLines, l => l.Contains(cliLine, StringComparison.Ordinal) && l.EndsWith(" --header x-dev=alice --id alice", StringComparison.Ordinal));
        var cliPids = ChildProcesses(demo.Pid).Where(p => p.CommandLine.Contains(cliLine, StringComparison.Ordinal)).Select(p => p.Pid).ToList();
        Assert.True(cliPids.Count == 1, $"expected one `switchyard intercept` child of the demo, found {cliPids.Count}\n{demo.Dump()}");
        var connected = await GetJsonAsync(adminPort, "/v1/status");
        Assert.Contains("alice", connected["tunnel"]!["connected"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal($"127.0.0.1:{tunnelPort}", connected["tunnel"]!["listen"]!.GetValue<string>());

        var first = ShellWords.Split(curlLines[0]);
        Assert.Equal("curl", first[0]);
        var result = await ProcessRunner.RunAsync("curl",
            ["--silent", "--show-error", "--noproxy", "*", "--max-time", "15", "--write-out", "\n%{http_code}", .. first.Skip(1)]);

        Assert.True(result.ExitCode == 0, $"the demo's first curl line failed: {curlLines[0]}\n{result}");
        var status = result.Stdout.TrimEnd().Split('\n')[^1];
        Assert.True(status.StartsWith('2'), $"the demo's first curl line got HTTP {status}: {curlLines[0]}\n{result}");
        Assert.StartsWith("demo-app: GET /hello", result.Stdout, StringComparison.Ordinal);

        // The second curl line carries x-dev: alice and must reach the developer's server through the CLI's tunnel.
        Assert.True(curlLines.Count >= 2, string.Join("\n", curlLines));
        var second = ShellWords.Split(curlLines[1]);
        var intercepted = await ProcessRunner.RunAsync("curl",
            ["--silent", "--show-error", "--noproxy", "*", "--max-time", "15", .. second.Skip(1)]);
        Assert.True(intercepted.ExitCode == 0, intercepted.ToString());
        Assert.StartsWith("alice-laptop: GET /api/orders", intercepted.Stdout, StringComparison.Ordinal);
        await WaitForStdoutAsync(demo, l => l.StartsWith("GET /api/orders -> 200 (", StringComparison.Ordinal), "the CLI's request line for /api/orders");

        // The app requires mTLS, so the agent does too: the curl lines carry the caller certificate, and the third
        // line (without one) is refused at the TLS handshake.
        Assert.Contains("--cert ", curlLines[0], StringComparison.Ordinal);
        Assert.Contains("--key ", curlLines[0], StringComparison.Ordinal);
        Assert.True(curlLines.Count >= 3 && !curlLines[2].Contains("--cert", StringComparison.Ordinal), string.Join("\n", curlLines));
        var anonymous = await ProcessRunner.RunAsync("curl",
            ["--silent", "--show-error", "--noproxy", "*", "--max-time", "15", .. ShellWords.Split(curlLines[2]).Skip(1)]);
        Assert.True(anonymous.ExitCode != 0, $"a caller without a client certificate must fail the TLS handshake: {curlLines[2]}\n{anonymous}");
        Assert.DoesNotContain("demo-app:", anonymous.Stdout, StringComparison.Ordinal);
        var metrics = PrometheusText.Parse(await Admin.GetStringAsync($"http://127.0.0.1:{adminPort}/metrics"));
        Assert.Contains(metrics, m => m.Name == "switchyard_tunnel_connections_total" && m.Labels.GetValueOrDefault("role") == "data" && m.Value >= 1);

        demo.SendSigterm();
        Assert.Equal(0, await demo.WaitForExitAsync(Timeouts.Short));

        // SIGTERM reached the CLI (it removed its intercept) and no `switchyard intercept` is left behind.
        Assert.Contains(demo.StdoutLines, l => l == "switchyard: intercept \"alice\" removed");
        Assert.DoesNotContain(demo.StderrLines, l => l.Contains("exited early", StringComparison.Ordinal));
        foreach (var pid in cliPids)
        {
            Assert.False(IsRunning(pid, cliLine), $"the demo's CLI (pid {pid}) is still running after the demo exited");
        }

        var pgrep = await ProcessRunner.RunAsync("pgrep", ["-f", $"intercept --agent 127.0.0.1:{adminPort} "]);
        Assert.True(pgrep.ExitCode == 1 && pgrep.Stdout.Length == 0, $"a `switchyard intercept` process is left: {pgrep}");
    }

    private static async Task<JsonNode> GetJsonAsync(int adminPort, string path) =>
        JsonNode.Parse(await Admin.GetStringAsync($"http://127.0.0.1:{adminPort}{path}")) ?? throw new InvalidOperationException($"{path}: JSON null");

    /// <summary>The processes whose parent is <paramref name="parent"/> (from /proc/PID/stat), with their command lines.</summary>
    private static List<(int Pid, string CommandLine)> ChildProcesses(int parent)
    {
        var children = new List<(int, string)>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(entry, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == parent)
                {
                    children.Add((pid, File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ')));
                }
            }
            catch (IOException)
            {
                // the process ended while we looked
            }
        }

        return children;
    }

    /// <summary>True while /proc/PID exists, is not a zombie and still runs the same command line.</summary>
    private static bool IsRunning(int pid, string commandLinePart)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[stat.LastIndexOf(')') + 2];
            return state != 'Z' && File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Contains(commandLinePart, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task WaitForStdoutAsync(AgentProcess demo, Func<string, bool> match, string description)
    {
        var deadline = DateTime.UtcNow + Timeouts.Short;
        while (!demo.StdoutLines.Any(match))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"`switchyard demo` did not print {description} within {Timeouts.Short.TotalSeconds}s\n{demo.Dump()}");
            }

            await Task.Delay(100);
        }
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
