using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Switchyard.BrokenConfigs;
using Switchyard.NativeTests.Infrastructure;
using Switchyard.NativeTests.Reload;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Config;

/// <summary>
/// The broken-config catalog through the published AOT binary, where the runtime's own messages are resource keys
/// (UseSystemResourceKeys): `switchyard agent --config F` exits 2 with exactly one stderr line naming the file, the
/// JSON path and the reason in words, never a resource key or a .NET type name (SPEC "Exit codes").
/// </summary>
public sealed class BrokenConfigNativeTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (BrokenConfig c in BrokenConfigCatalog.All)
        {
            data.Add(c.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_agent_exits_2_with_one_line_in_words(string name)
    {
        BrokenConfig c = BrokenConfigCatalog.All.Single(x => x.Name == name);
        using var dir = new CaseDirectory();
        BrokenSetup setup = c.Write(dir);
        using IDisposable? hold = setup.Hold;

        ProcessResult result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["agent", "--config", setup.ConfigPath], timeout: TimeSpan.FromSeconds(20));

        output.WriteLine(result.ToString());
        Assert.True(result.ExitCode == 2, $"expected exit code 2\n{result}");
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected exactly one stderr line, got {lines.Length}\n{result}");
        string? problem = BrokenConfigCatalog.Check(c, setup.ConfigPath, lines[0], dir);
        Assert.True(problem is null, $"{problem}\n{result}");
    }

    [Fact]
    public async Task A_reload_onto_an_address_in_use_is_rejected_in_the_same_words_and_the_last_good_config_stays()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync();
        int admin = Ports.GetFreeTcpPort();
        int web = Ports.GetFreeTcpPort();
        JsonObject good = AgentConfig.Create(admin, AgentConfig.Port("web", web, app.Port));
        var volume = new KubeletVolume(Path.Combine(dir.Path, "config"), new Dictionary<string, string> { ["config.json"] = good.ToJsonString() });
        string configPath = volume.PathOf("config.json");
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, configPath, admin, ConfigReloadTests.FastPoll);

        using var busy = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        busy.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        busy.Listen();
        int taken = ((IPEndPoint)busy.LocalEndPoint!).Port;
        JsonObject bad = JsonNode.Parse(good.ToJsonString())!.AsObject();
        bad["ports"]!.AsArray().Add(AgentConfig.Port("api", taken, app.Port));
        volume.Swap(new Dictionary<string, string> { ["config.json"] = bad.ToJsonString() });

        AgentLogEntry error = await agent.WaitForLogAsync(l => l.Message.Contains("config reload rejected", StringComparison.Ordinal), "the rejection");
        Assert.EndsWith($"{configPath}: $.ports[1].listen: 127.0.0.1:{taken} is already in use", error.Message, StringComparison.Ordinal);
        CurlResult result = await Curl.HttpAsync(web, "/still-here");
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync("/readyz")).Status);
    }
}
