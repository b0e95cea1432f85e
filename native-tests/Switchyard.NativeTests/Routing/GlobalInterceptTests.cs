using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>
/// SPEC: an intercept without `match` takes the whole port at transport level: TCP connections go to the developer
/// without decryption, UDP datagrams are relayed per source address. Only one per port; it conflicts with filtered rules.
/// </summary>
public sealed class GlobalInterceptTests(ITestOutputHelper output)
{
    private static readonly HttpClient Admin = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task AGlobalTcpInterceptCarriesARawLineProtocolToTheDeveloperAndItsRemovalGivesThePortBack()
    {
        using var dir = new TempDir();
        await using var app = TcpTestServer.Start(LineProtocol.Server("app"));
        await using var developer = TcpTestServer.Start(LineProtocol.Server("dev"));
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("lines", listen, app.Port);
        port["appProtocol"] = "tcp";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        Assert.Equal("app: hello", await LineProtocol.AskAsync(listen, "hello"));

        var global = new JsonObject { ["id"] = "carol", ["port"] = "lines", ["target"] = Ports.Loopback(developer.Port) };
        using (var added = await PostAsync(agent, global))
        {
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        }

        Assert.Equal("dev: to the laptop", await LineProtocol.AskAsync(listen, "to the laptop"));
        await agent.WaitForMetricAsync("switchyard_global_intercept_connections_total", [("port", "lines"), ("intercept", "carol")], v => v >= 1, ">= 1");

        using (var removed = await Admin.DeleteAsync(agent.AdminUri("/v1/intercepts/carol")))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }

        Assert.Equal("app: back home", await LineProtocol.AskAsync(listen, "back home"));
    }

    [Fact]
    public async Task AGlobalInterceptOnATlsPortRelaysTheCallersTlsUndecrypted()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var developer = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.ServerFromOtherCa, Name = "laptop" });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(new JsonObject { ["id"] = "carol", ["port"] = "web", ["target"] = Ports.Loopback(developer.Port) });
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        // The caller's handshake reaches the developer's server: it presents its own certificate (other CA), not the agent's.
        var trustingAgent = await Curl.HttpsAsync(listen, "/hi", "--cacert", pem.CaCert);
        var trustingDeveloper = await Curl.HttpsAsync(listen, "/hi", "--cacert", pem.OtherCaCert);

        Assert.NotEqual(0, trustingAgent.ExitCode);
        Assert.True(trustingDeveloper.Succeeded, trustingDeveloper.ToString());
        Assert.StartsWith("app=laptop\n", trustingDeveloper.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGlobalInterceptConflictsWithFilteredOnesOnItsPort()
    {
        using var dir = new TempDir();
        var listen = Ports.GetFreeTcpPort();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", listen, Ports.GetFreeTcpPort()));
        config["intercepts"] = new JsonArray(new JsonObject
        {
            ["id"] = "alice",
            ["port"] = "web",
            ["target"] = "127.0.0.1:1",
            ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
        });
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        using var refused = await PostAsync(agent, new JsonObject { ["id"] = "carol", ["port"] = "web", ["target"] = "127.0.0.1:2" });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
        Assert.Equal("request body: $: conflicts with intercept \"alice\": a global intercept takes the whole port \"web\", which already has filtered rules", error);
    }

    [Fact]
    public async Task UdpDatagramsReachTheAppAndAGlobalUdpInterceptSendsThemToTheDeveloper()
    {
        using var dir = new TempDir();
        using var app = new UdpEchoServer("app");
        using var developer = new UdpEchoServer("dev");
        var listen = Ports.GetFreeTcpPort();
        var port = new JsonObject
        {
            ["name"] = "dns",
            ["protocol"] = "UDP",
            ["listen"] = Ports.Loopback(listen),
            ["app"] = Ports.Loopback(app.Port),
            ["udpIdleTimeout"] = "2s",
        };
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Loopback, listen);

        Assert.Equal("app:query-1", await AskAsync(client, target, "query-1"));

        using (var added = await PostAsync(agent, new JsonObject { ["id"] = "dan", ["port"] = "dns", ["target"] = Ports.Loopback(developer.Port) }))
        {
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        }

        Assert.Equal("dev:query-2", await AskAsync(client, target, "query-2"));
        using (var removed = await Admin.DeleteAsync(agent.AdminUri("/v1/intercepts/dan")))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }

        Assert.Equal("app:query-3", await AskAsync(client, target, "query-3"));
        await agent.WaitForMetricAsync("switchyard_udp_sessions_total", [("port", "dns"), ("route", "dan")], v => v == 1, "== 1");
        await agent.WaitForMetricAsync("switchyard_udp_datagrams_total", [("port", "dns"), ("direction", "app_to_downstream")], v => v == 3, "== 3");
    }

    private static Task<HttpResponseMessage> PostAsync(AgentProcess agent, JsonObject intercept) =>
        Admin.PostAsync(agent.AdminUri("/v1/intercepts"), new StringContent(intercept.ToJsonString(), Encoding.UTF8, "application/json"));

    private static async Task<string> AskAsync(UdpClient client, IPEndPoint target, string text)
    {
        await client.SendAsync(Encoding.UTF8.GetBytes(text), target);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var answer = await client.ReceiveAsync(timeout.Token);
        return Encoding.UTF8.GetString(answer.Buffer);
    }

    /// <summary>Answers every datagram with "NAME:" + its payload.</summary>
    private sealed class UdpEchoServer : IDisposable
    {
        private readonly UdpClient _socket = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _stop = new();

        public UdpEchoServer(string name)
        {
            Port = ((IPEndPoint)_socket.Client.LocalEndPoint!).Port;
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        var received = await _socket.ReceiveAsync(_stop.Token);
                        var answer = Encoding.UTF8.GetBytes(name + ":" + Encoding.UTF8.GetString(received.Buffer));
                        await _socket.SendAsync(answer, answer.Length, received.RemoteEndPoint);
                    }
                    catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                    {
                        return;
                    }
                }
            });
        }

        public int Port { get; }

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
        }
    }
}
