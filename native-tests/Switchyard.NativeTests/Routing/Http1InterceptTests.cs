using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>
/// HTTP/1.1 per-request routing on a TLS port with inspect auto: a header-filtered intercept makes the agent
/// decrypt, requests matching it reach the developer's server, the rest reach the app, on one connection.
/// </summary>
public sealed class Http1InterceptTests(ITestOutputHelper output)
{
    private sealed record Env(TempDir Dir, KestrelApp App, KestrelApp? Developer, AgentProcess Agent, int Listen, PemSet Pem) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Agent.DisposeAsync();
            await App.DisposeAsync();
            if (Developer is not null)
            {
                await Developer.DisposeAsync();
            }

            Dir.Dispose();
        }
    }

    private async Task<Env> StartAsync(bool developerUp, bool failOpen = true, bool plaintextDelivery = false)
    {
        var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        KestrelApp? developer = null;
        int developerPort;
        if (developerUp)
        {
            developer = await KestrelApp.StartAsync(new KestrelAppOptions
            {
                Certificate = plaintextDelivery ? null : TestPki.Shared.ServerFromOtherCa, // not trusted: delivery does not verify
                Name = "alice-laptop",
            });
            developerPort = developer.Port;
        }
        else
        {
            developerPort = Ports.GetFreeTcpPort(); // nothing listens there
        }

        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "auto");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(new JsonObject
        {
            ["id"] = "alice",
            ["port"] = "web",
            ["mode"] = "intercept",
            ["match"] = new JsonObject { ["all"] = new JsonArray(
                new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
                new JsonObject { ["path"] = new JsonObject { ["prefix"] = "/api/" } }) },
            ["target"] = $"127.0.0.1:{developerPort}",
            ["failOpen"] = failOpen,
            ["delivery"] = new JsonObject { ["plaintext"] = plaintextDelivery },
        });
        var agent = await AgentProcess.StartAsync(output, dir, config);
        return new Env(dir, app, developer, agent, listen, pem);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MatchingRequestsReachTheDeveloperAndTheRestTheAppOnOneKeepAliveConnection(bool plaintextDelivery)
    {
        await using var env = await StartAsync(developerUp: true, plaintextDelivery: plaintextDelivery);
        string url(string path) => $"https://localhost:{env.Listen}{path}";

        // One curl run, three requests on one connection: matching, not matching (wrong path), matching again.
        var result = await ProcessRunner.RunAsync("curl",
        [
            "--silent", "--show-error", "--noproxy", "*", "--max-time", "15", "--http1.1",
            "--resolve", $"localhost:{env.Listen}:127.0.0.1", "--cacert", env.Pem.CaCert,
            "-H", "x-dev: alice", url("/api/orders"),
            "--next", "--http1.1", "--resolve", $"localhost:{env.Listen}:127.0.0.1", "--cacert", env.Pem.CaCert,
            "-H", "x-dev: alice", url("/health"),
            "--next", "--http1.1", "--resolve", $"localhost:{env.Listen}:127.0.0.1", "--cacert", env.Pem.CaCert,
            "-H", "x-dev: bob", "--data-binary", "order-2", url("/api/orders"),
            "--next", "--http1.1", "--resolve", $"localhost:{env.Listen}:127.0.0.1", "--cacert", env.Pem.CaCert,
            "-H", "X-Dev: alice", "--data-binary", "order-3", url("/api/orders?x=1"),
        ], timeout: TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] answers = result.Stdout.Split("app=", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, answers.Length);
        Assert.StartsWith("alice-laptop\nmethod=GET\npath=/api/orders\n", answers[0], StringComparison.Ordinal);
        Assert.StartsWith("the-app\nmethod=GET\npath=/health\n", answers[1], StringComparison.Ordinal);
        Assert.StartsWith("the-app\nmethod=POST\npath=/api/orders\n", answers[2], StringComparison.Ordinal);
        Assert.Contains("body=order-2\n", answers[2], StringComparison.Ordinal);
        Assert.StartsWith("alice-laptop\nmethod=POST\npath=/api/orders?x=1\n", answers[3], StringComparison.Ordinal);
        Assert.Contains("body=order-3\n", answers[3], StringComparison.Ordinal);
        Assert.Contains(plaintextDelivery ? "scheme=http\n" : "scheme=https\n", answers[3], StringComparison.Ordinal);

        await env.Agent.WaitForMetricAsync("switchyard_requests_total", [("port", "web"), ("route", "alice")], v => v == 2, "== 2");
        await env.Agent.WaitForMetricAsync("switchyard_requests_total", [("port", "web"), ("route", "app")], v => v == 2, "== 2");
        await env.Agent.WaitForMetricAsync("switchyard_connections_total", [("port", "web"), ("path", "terminate")], v => v == 1, "== 1 (one keep-alive connection)");
    }

    [Fact]
    public async Task SeparateCallersReuseOnePooledConnectionToTheAppAndToTheTarget()
    {
        await using var env = await StartAsync(developerUp: true);
        var appConnections = new HashSet<string>();
        var developerConnections = new HashSet<string>();
        for (int i = 0; i < 4; i++)
        {
            // Each curl run is a new caller connection (new TLS handshake with the agent).
            var toApp = await Curl.HttpsAsync(env.Listen, $"/n/{i}", "--cacert", env.Pem.CaCert, "--http1.1");
            var toDeveloper = await Curl.HttpsAsync(env.Listen, $"/api/{i}", "--cacert", env.Pem.CaCert, "--http1.1", "-H", "x-dev: alice");
            Assert.StartsWith("app=the-app\n", toApp.Body, StringComparison.Ordinal);
            Assert.StartsWith("app=alice-laptop\n", toDeveloper.Body, StringComparison.Ordinal);
            appConnections.Add(toApp.Body.Split('\n').Single(l => l.StartsWith("connection=", StringComparison.Ordinal)));
            developerConnections.Add(toDeveloper.Body.Split('\n').Single(l => l.StartsWith("connection=", StringComparison.Ordinal)));
        }

        Assert.Single(appConnections);
        Assert.Single(developerConnections);
        await env.Agent.WaitForMetricAsync("switchyard_connections_total", [("port", "web"), ("path", "terminate")], v => v == 8, "== 8 caller connections");
    }

    [Fact]
    public async Task ExpectContinueGetsTheAppsInterimResponseBeforeTheBodyIsSent()
    {
        await using var env = await StartAsync(developerUp: true);
        string file = env.Dir.File("big.bin");
        await File.WriteAllBytesAsync(file, Enumerable.Range(0, 300_000).Select(i => (byte)('a' + (i % 26))).ToArray());

        // --expect100-timeout 30: if the agent held the 100 back, curl would wait 30 s, and the whole run 15 s at most.
        var result = await Curl.HttpsAsync(env.Listen, "/upload", "--cacert", env.Pem.CaCert, "--http1.1", "-v",
            "-H", "Expect: 100-continue", "--expect100-timeout", "30", "--data-binary", "@" + file);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("HTTP/1.1 100 Continue", result.Process.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("app=the-app\n", result.Body, StringComparison.Ordinal);
        string sent = await File.ReadAllTextAsync(file);
        Assert.Contains("body=" + sent + "\n", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACallerThatDisconnectsMidBodyAbortsTheExchangeAndTheNextCallerStillGetsAnswers()
    {
        await using var env = await StartAsync(developerUp: true);
        using (var cts = new CancellationTokenSource(Timeouts.Short))
        {
            using var socket = await TlsClient.ConnectAsync(env.Listen, cts.Token);
            await using var tls = await TlsClient.AuthenticateAsync(socket, TestPki.Shared.Ca, cancellationToken: cts.Token);
            await tls.WriteAsync(Encoding.ASCII.GetBytes("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\npartial"), cts.Token);
            await tls.FlushAsync(cts.Token);
            await Task.Delay(300, cts.Token);
        } // the caller is gone with 99,993 bytes missing

        await env.Agent.WaitForMetricAsync("switchyard_connections_active", [("port", "web")], v => v == 0, "== 0 (the exchange was torn down)");
        for (int i = 0; i < 3; i++)
        {
            var result = await Curl.HttpsAsync(env.Listen, $"/after/{i}", "--cacert", env.Pem.CaCert, "--http1.1");
            Assert.True(result.Succeeded, result.ToString());
            Assert.StartsWith("app=the-app\nmethod=GET\npath=/after/" + i, result.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnEmptyContentLengthBodyIsForwardedAndAnswered()
    {
        await using var env = await StartAsync(developerUp: true);

        var toApp = await Curl.HttpsAsync(env.Listen, "/empty", "--cacert", env.Pem.CaCert, "--http1.1", "-X", "POST", "--data-binary", "");
        var toDeveloper = await Curl.HttpsAsync(env.Listen, "/api/empty", "--cacert", env.Pem.CaCert, "--http1.1", "-X", "POST", "-H", "Content-Length: 0", "-H", "x-dev: alice");

        Assert.True(toApp.Succeeded, toApp.ToString());
        Assert.StartsWith("app=the-app\nmethod=POST\npath=/empty\n", toApp.Body, StringComparison.Ordinal);
        Assert.Contains("body=\n", toApp.Body, StringComparison.Ordinal);
        Assert.True(toDeveloper.Succeeded, toDeveloper.ToString());
        Assert.StartsWith("app=alice-laptop\nmethod=POST\npath=/api/empty\n", toDeveloper.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableTargetFailsOpenToTheAppAndIsCounted()
    {
        await using var env = await StartAsync(developerUp: false, failOpen: true);

        var result = await Curl.HttpsAsync(env.Listen, "/api/x", "--cacert", env.Pem.CaCert, "--http1.1", "-H", "x-dev: alice");

        Assert.True(result.Succeeded, result.ToString());
        Assert.StartsWith("app=the-app\n", result.Body, StringComparison.Ordinal);
        await env.Agent.WaitForMetricAsync("switchyard_intercept_fail_open_total", [("port", "web"), ("intercept", "alice")], v => v == 1, "== 1");
        await env.Agent.WaitForLogAsync(l => l.Message.Contains("intercept alice", StringComparison.Ordinal) && l.Message.Contains("failing open", StringComparison.Ordinal), "the fail-open log line");
    }

    [Fact]
    public async Task AnUnreachableTargetWithFailOpenFalseAnswers503NamingTheIntercept()
    {
        await using var env = await StartAsync(developerUp: false, failOpen: false);

        var result = await Curl.HttpsAsync(env.Listen, "/api/x", "--cacert", env.Pem.CaCert, "--http1.1", "-H", "x-dev: alice");

        Assert.Equal(503, result.StatusCode);
        Assert.StartsWith("intercept alice: target 127.0.0.1:", result.Body, StringComparison.Ordinal);
        Assert.Single(result.Body.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task ChunkedRequestBodiesAreReframedAndArriveWhole()
    {
        await using var env = await StartAsync(developerUp: true);
        string body = string.Concat(Enumerable.Range(0, 5000).Select(i => $"line {i};"));
        string file = env.Dir.File("body.txt");
        await File.WriteAllTextAsync(file, body);

        var toApp = await Curl.HttpsAsync(env.Listen, "/upload", "--cacert", env.Pem.CaCert, "--http1.1",
            "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file);
        var toDeveloper = await Curl.HttpsAsync(env.Listen, "/api/upload", "--cacert", env.Pem.CaCert, "--http1.1",
            "-H", "x-dev: alice", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file);

        Assert.True(toApp.Succeeded, toApp.ToString());
        Assert.True(toDeveloper.Succeeded, toDeveloper.ToString());
        Assert.Contains($"body={body}\n", toApp.Body, StringComparison.Ordinal);
        Assert.StartsWith("app=alice-laptop\n", toDeveloper.Body, StringComparison.Ordinal);
        Assert.Contains($"body={body}\n", toDeveloper.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello", "Content-Length")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", "obs-fold")]
    [InlineData("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "whitespace")]
    public async Task MalformedRequestsGet400WithAOneLineReasonAndTheConnectionCloses(string request, string reasonPart)
    {
        using var dir = new TempDir();
        var app = await KestrelApp.StartAsync(new KestrelAppOptions { Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1 });
        await using var _ = app;
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("plain", listen, app.Port, "always");
        port["tls"] = "off";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        string response = await reader.ReadToEndAsync(cts.Token); // ends: the agent closed the connection

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response, StringComparison.Ordinal);
        string body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.StartsWith("bad request: ", body, StringComparison.Ordinal);
        Assert.Contains(reasonPart, body, StringComparison.OrdinalIgnoreCase);
        Assert.Single(body.TrimEnd('\n').Split('\n'));
        await agent.WaitForMetricAsync("switchyard_connection_ends_total", [("port", "plain"), ("reason", "bad_request")], v => v == 1, "== 1");
    }

    [Theory]
    [InlineData(2000, 200)]
    [InlineData(2000, 400)]
    public async Task TheRequestHeadLimitIsConfigurablePerPort(int headerBytes, int expectedStatus)
    {
        using var dir = new TempDir();
        var app = await KestrelApp.StartAsync(new KestrelAppOptions { Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1 });
        await using var _ = app;
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("plain", listen, app.Port, "always");
        port["tls"] = "off";
        port["maxRequestHeadBytes"] = expectedStatus == 200 ? 4096 : 1024;
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        var result = await Curl.HttpAsync(listen, "/big", "-H", "x-fill: " + new string('f', headerBytes));

        Assert.Equal(expectedStatus, result.StatusCode);
        if (expectedStatus == 400)
        {
            Assert.StartsWith("bad request: ", result.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnUnreachableAppOnTheHttpPathAnswers502WithAOneLineReason()
    {
        using var dir = new TempDir();
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("plain", listen, Ports.GetFreeTcpPort(), "always");
        port["tls"] = "off";
        port["http"] = "http1";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        var result = await Curl.HttpAsync(listen, "/x");

        Assert.Equal(502, result.StatusCode);
        Assert.StartsWith("app 127.0.0.1:", result.Body, StringComparison.Ordinal);
        Assert.Single(result.Body.TrimEnd('\n').Split('\n'));
    }
}
