using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>POST/DELETE /v1/intercepts change routing for the next request, on a connection already open.</summary>
public sealed class AdminInterceptApiTests(ITestOutputHelper output)
{
    private static readonly HttpClient Admin = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task AnInterceptAddedAndRemovedThroughTheApiTakesEffectForTheNextRequestOnAnOpenConnection()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var developer = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "bob-laptop" });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var caller = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = 1, // one keep-alive connection for every request below
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca) },
            ConnectCallback = async (_, ct) =>
            {
                var socket = await TlsClient.ConnectAsync(listen, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        });
        async Task<string> Ask()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"https://localhost:{listen}/api/cart");
            request.Headers.Add("x-dev", "bob");
            using var response = await caller.SendAsync(request);
            return await response.Content.ReadAsStringAsync();
        }

        Assert.StartsWith("app=the-app\n", await Ask(), StringComparison.Ordinal);

        var body = new JsonObject
        {
            ["id"] = "bob",
            ["port"] = "web",
            ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "bob" },
            ["target"] = $"127.0.0.1:{developer.Port}",
            ["delivery"] = new JsonObject { ["plaintext"] = true },
        };
        using (var added = await Admin.PostAsync(agent.AdminUri("/v1/intercepts"), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        }

        Assert.StartsWith("app=bob-laptop\n", await Ask(), StringComparison.Ordinal);

        using (var duplicate = await Admin.PostAsync(agent.AdminUri("/v1/intercepts"), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        }

        using (var removed = await Admin.DeleteAsync(agent.AdminUri("/v1/intercepts/bob")))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }

        Assert.StartsWith("app=the-app\n", await Ask(), StringComparison.Ordinal);
        await agent.WaitForMetricAsync("switchyard_connections_total", [("port", "web"), ("path", "terminate")], v => v == 1, "== 1 (one connection throughout)");

        using var missing = await Admin.DeleteAsync(agent.AdminUri("/v1/intercepts/bob"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task WithATokenFileEveryV1CallNeedsTheBearerTokenButHealthDoesNot()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        string tokenFile = dir.File("token");
        await File.WriteAllTextAsync(tokenFile, "s3cret-token\n");
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", Ports.GetFreeTcpPort(), echo.Port));
        config["admin"]!["tokenFile"] = tokenFile;
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        async Task<HttpStatusCode> Get(string path, string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, agent.AdminUri(path));
            if (token is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await Admin.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await Get("/v1/status", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("/v1/intercepts", "wrong"));
        Assert.Equal(HttpStatusCode.OK, await Get("/v1/status", "s3cret-token"));
        Assert.Equal(HttpStatusCode.OK, await Get("/healthz", null));
        Assert.Equal(HttpStatusCode.OK, await Get("/readyz", null));
    }

    [Fact]
    public async Task AnAdminOnANonLoopbackAddressWithoutATokenFileIsRefusedAtStartup()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", Ports.GetFreeTcpPort(), echo.Port));
        config["admin"]!["listen"] = "0.0.0.0:" + Ports.GetFreeTcpPort();
        config["admin"]!.AsObject().Remove("tokenFile");
        await using var agent = await AgentProcess.StartAsync(output, dir, config, waitUntilReady: false);

        Assert.Equal(2, await agent.WaitForExitAsync(Timeouts.Process));
        Assert.Contains(agent.StderrLines, l => l.Contains("$.admin.tokenFile", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExplainSaysWhichRouteARequestWouldTakeAndWhy()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", Ports.GetFreeTcpPort(), echo.Port));
        config["intercepts"] = new JsonArray(new JsonObject
        {
            ["id"] = "alice",
            ["port"] = "web",
            ["match"] = new JsonObject { ["all"] = new JsonArray(
                new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
                new JsonObject { ["path"] = new JsonObject { ["prefix"] = "/api/" } }) },
            ["target"] = "127.0.0.1:18080",
        });
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        async Task<JsonNode> Explain(string json)
        {
            using var response = await Admin.PostAsync(agent.AdminUri("/v1/explain"), new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }

        JsonNode hit = await Explain("{\"method\":\"GET\",\"path\":\"/api/x?q=1\",\"headers\":{\"X-Dev\":\"alice\"}}");
        Assert.Equal("intercept", hit["route"]!.GetValue<string>());
        Assert.Equal("alice", hit["intercept"]!.GetValue<string>());

        JsonNode miss = await Explain("{\"method\":\"GET\",\"path\":\"/other\",\"headers\":{\"x-dev\":\"alice\"}}");
        Assert.Equal("app", miss["route"]!.GetValue<string>());
        Assert.False(miss["rules"]![0]!["matched"]!.GetValue<bool>());
        JsonNode failed = miss["rules"]![0]!["filter"]!["children"]![1]!;
        Assert.Equal("path prefix \"/api/\"", failed["condition"]!.GetValue<string>());
        Assert.False(failed["matched"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("{\"id\":\"x\",\"port\":\"web\",\"target\":\"127.0.0.1:1\",\"match\":{\"header\":\"x-dev\",\"regex\":\"(a)\\\\1\"}}", "$.match.regex")]
    [InlineData("{\"id\":\"x\",\"port\":\"nope\",\"target\":\"127.0.0.1:1\"}", "$.port")]
    [InlineData("{\"id\":\"x\",\"port\":\"web\",\"target\":\"127.0.0.1:1\",\"mach\":{}}", "$.mach: unknown field 'mach' (did you mean 'match'?)")]
    [InlineData("{\"id\":\"x\",\"id\":\"y\",\"port\":\"web\",\"target\":\"127.0.0.1:1\"}", "$.id: duplicate key")]
    [InlineData("{\"id\":\"x\",\"port\":\"web\",\"target\":1}", "$.target: expected a string, found a number")]
    [InlineData("{\"id\":\"x\",", "$: invalid JSON: the body ends before the document is complete")]
    public async Task AnInvalidInterceptIsRefusedWith400NamingTheJsonPath(string json, string expected)
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        await using var agent = await AgentProcess.StartAsync(output, dir,
            AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", Ports.GetFreeTcpPort(), echo.Port)));

        using var response = await Admin.PostAsync(agent.AdminUri("/v1/intercepts"), new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        string error = System.Text.Json.Nodes.JsonNode.Parse(body)!["error"]!.GetValue<string>();
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.True(Switchyard.BrokenConfigs.BrokenConfigCatalog.ResourceKeyIn(error) is null, error);
        using var list = await Admin.GetAsync(agent.AdminUri("/v1/intercepts"));
        Assert.Equal("[]", (await list.Content.ReadAsStringAsync()).Trim());
    }
}
