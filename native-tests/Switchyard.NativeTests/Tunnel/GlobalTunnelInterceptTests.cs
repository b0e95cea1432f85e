using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tunnel;

/// <summary>`switchyard intercept` without filter flags: a global intercept, the port's raw bytes through the developer's tunnel.</summary>
public sealed class GlobalTunnelInterceptTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ACliWithoutFiltersCarriesARawTcpLineProtocolThroughTheTunnelAndItsExitGivesThePortBack()
    {
        using var dir = new TempDir();
        await using var app = TcpTestServer.Start(LineProtocol.Server("app"));
        await using var laptop = TcpTestServer.Start(LineProtocol.Server("laptop"));
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("lines", listen, app.Port);
        port["appProtocol"] = "tcp";
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["tunnel"] = new JsonObject { ["listen"] = Ports.Loopback(Ports.GetFreeTcpPort()) };
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        Assert.Equal("app: before", await LineProtocol.AskAsync(listen, "before"));

        await using (var cli = AgentProcess.StartCommand(output, dir,
            "intercept", "--agent", $"127.0.0.1:{agent.AdminPort}", "--to", $"127.0.0.1:{laptop.Port}", "--id", "carol"))
        {
            await agent.WaitForStatusAsync(s => s["tunnel"]?["connected"]?.AsArray().Any(n => n!.GetValue<string>() == "carol") == true, "carol connected");

            Assert.Equal("laptop: first", await LineProtocol.AskAsync(listen, "first"));
            Assert.Equal("laptop: second", await LineProtocol.AskAsync(listen, "second"));
            await agent.WaitForMetricAsync("switchyard_global_intercept_connections_total", [("port", "lines"), ("intercept", "carol")], v => v == 2, "== 2");
        }

        // The CLI is gone (killed): after the tunnel grace the intercept is removed and the port is the app's again.
        var deadline = DateTime.UtcNow + Timeouts.Short;
        string answer;
        do
        {
            answer = await LineProtocol.AskAsync(listen, "after");
        }
        while (answer != "app: after" && DateTime.UtcNow < deadline);

        Assert.Equal("app: after", answer);
    }
}
