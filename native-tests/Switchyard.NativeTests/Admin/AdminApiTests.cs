using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Admin;

/// <summary>The admin API shapes: /healthz, /readyz, /metrics, /v1/status.</summary>
public sealed partial class AdminApiTests(ITestOutputHelper output)
{
    [GeneratedRegex("^[0-9a-fA-F]{8,}$")]
    private static partial Regex Hex();

    private static async Task<(TempDir Dir, TcpTestServer Echo, AgentProcess Agent, int Listen)> StartEchoAgentAsync(ITestOutputHelper output)
    {
        var dir = new TempDir();
        var echo = TcpTestServer.StartEcho();
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("echo", listen, echo.Port, "never");
        port["tls"] = "off";
        port["http"] = "none";
        var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));
        return (dir, echo, agent, listen);
    }

    [Fact]
    public async Task HealthzAndReadyzAnswerOkOnceAllPortsListen()
    {
        var (dir, echo, agent, _) = await StartEchoAgentAsync(output);
        using (dir)
        await using (echo)
        await using (agent)
        {
            var (healthStatus, healthBody, _) = await agent.GetAsync("/healthz");
            var (readyStatus, _, _) = await agent.GetAsync("/readyz");

            Assert.Equal(HttpStatusCode.OK, healthStatus);
            Assert.Equal("ok", healthBody.Trim());
            Assert.Equal(HttpStatusCode.OK, readyStatus);
        }
    }

    [Fact]
    public async Task StatusDescribesVersionConfigAndPorts()
    {
        var (dir, echo, agent, listen) = await StartEchoAgentAsync(output);
        using (dir)
        await using (echo)
        await using (agent)
        {
            var status = await agent.GetStatusAsync();
            var version = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["version"]);

            var versionText = status["version"]!.GetValue<string>();
            Assert.False(string.IsNullOrWhiteSpace(versionText), status.ToJsonString());
            Assert.Contains(versionText, version.Stdout, StringComparison.Ordinal);
            Assert.Equal(agent.ConfigPath, status["config"]!["path"]!.GetValue<string>());
            Assert.Matches(Hex(), status["config"]!["fingerprint"]!.GetValue<string>());
            Assert.True(status["ready"]!.GetValue<bool>());
            Assert.False(status["draining"]!.GetValue<bool>());
            Assert.Empty(status["intercepts"]!.AsArray());

            var ports = status["ports"]!.AsArray();
            var port = Assert.Single(ports)!;
            Assert.Equal("echo", port["name"]!.GetValue<string>());
            Assert.Equal(Ports.Loopback(listen), port["listen"]!.GetValue<string>());
            Assert.Equal(Ports.Loopback(echo.Port), port["app"]!.GetValue<string>());
            Assert.Equal("never", port["inspect"]!.GetValue<string>());
            Assert.Equal(0, port["connections"]!["active"]!.GetValue<long>());
            Assert.Equal(0, port["connections"]!["total"]!.GetValue<long>());
        }
    }

    [Fact]
    public async Task FingerprintIsStableForTheSameConfigAndChangesWithIt()
    {
        var listen = Ports.GetFreeTcpPort();
        var admin = Ports.GetFreeTcpPort();
        var app = Ports.GetFreeTcpPort();
        JsonObject MakeConfig(string inspect) => AgentConfig.Create(admin, AgentConfig.Port("echo", listen, app, inspect));

        async Task<string> FingerprintAsync(JsonObject config)
        {
            using var dir = new TempDir();
            await using var agent = await AgentProcess.StartAsync(output, dir, config);
            return (await agent.GetStatusAsync())["config"]!["fingerprint"]!.GetValue<string>();
        }

        var first = await FingerprintAsync(MakeConfig("never"));
        var again = await FingerprintAsync(MakeConfig("never"));
        var changed = await FingerprintAsync(MakeConfig("auto"));

        Assert.Equal(first, again);
        Assert.NotEqual(first, changed);
    }

    [Fact]
    public async Task StatusAndMetricsCountAFinishedRawConnectionAndItsBytes()
    {
        var (dir, echo, agent, listen) = await StartEchoAgentAsync(output);
        using (dir)
        await using (echo)
        await using (agent)
        {
            using (var socket = await TlsClient.ConnectAsync(listen))
            await using (var stream = new NetworkStream(socket, ownsSocket: false))
            {
                using var cts = new CancellationTokenSource(Timeouts.Short);
                var reading = Payload.ReadToEndAsync(stream, cts.Token);
                var sent = await Payload.WriteAsync(stream, 12_345, seed: 5, cts.Token);
                socket.Shutdown(SocketShutdown.Send);
                Assert.Equal(sent, await reading.WaitAsync(Timeouts.Short));
            }

            await agent.WaitForStatusAsync(
                s => AgentProcess.PortStatus(s, "echo")["connections"]!["total"]!.GetValue<long>() == 1
                     && AgentProcess.PortStatus(s, "echo")["connections"]!["active"]!.GetValue<long>() == 0,
                "connections total=1 active=0");

            var (metricsStatus, _, contentType) = await agent.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, metricsStatus);
            Assert.Equal("text/plain", contentType);

            await agent.WaitForMetricAsync("switchyard_connections_total", [("port", "echo"), ("path", "raw")], v => v == 1, "== 1");
            await agent.WaitForMetricAsync("switchyard_connections_active", [("port", "echo")], v => v == 0, "== 0");
            await agent.WaitForMetricAsync("switchyard_connection_ends_total", [("port", "echo"), ("reason", "completed")], v => v == 1, "== 1");
            await agent.WaitForMetricAsync("switchyard_bytes_total", [("port", "echo"), ("direction", "downstream_to_app")], v => v == 12_345, "== 12345");
            await agent.WaitForMetricAsync("switchyard_bytes_total", [("port", "echo"), ("direction", "app_to_downstream")], v => v == 12_345, "== 12345");
        }
    }
}
