using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tunnel;

/// <summary>
/// `switchyard intercept` end to end with real processes: the agent (TLS port in front of a Kestrel app, tunnel.listen),
/// developer CLIs connected through the tunnel, and the developers' local Kestrel servers on loopback.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class InterceptTunnelTests(ITestOutputHelper output)
{
    private sealed record Rig(TempDir Dir, PemSet Pem, JsonObject Config, int Listen, int Tunnel, string? TokenFile);

    private static Rig CreateRig(TempDir dir, int appPort, string? token = null)
    {
        var pem = PemSet.Write(dir.Path);
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, appPort);
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        var tunnel = Ports.GetFreeTcpPort();
        config["tunnel"] = new JsonObject { ["listen"] = Ports.Loopback(tunnel) };
        string? tokenFile = null;
        if (token is not null)
        {
            tokenFile = dir.File("token");
            File.WriteAllText(tokenFile, token + "\n");
            config["admin"]!["tokenFile"] = tokenFile;
        }

        return new Rig(dir, pem, config, listen, tunnel, tokenFile);
    }

    private AgentProcess StartCli(Rig rig, AgentProcess agent, string id, int to, params string[] extra) =>
        AgentProcess.StartCommand(output, rig.Dir,
            ["intercept", "--agent", $"127.0.0.1:{agent.AdminPort}", "--to", $"127.0.0.1:{to}", "--id", id, .. extra]);

    private static async Task WaitConnectedAsync(AgentProcess agent, string id) =>
        await agent.WaitForStatusAsync(s => s["tunnel"]?["connected"]?.AsArray().Any(n => n!.GetValue<string>() == id) == true, $"developer {id} connected");

    private static async Task WaitForLineAsync(AgentProcess process, Func<string, bool> condition, string description)
    {
        var deadline = DateTime.UtcNow + Timeouts.Short;
        while (DateTime.UtcNow < deadline)
        {
            if (process.StdoutLines.Any(condition))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no line like {description}\n{process.Dump()}");
    }

    private static Task<CurlResult> Ask(Rig rig, string path, string? dev, bool http2)
    {
        List<string> args = ["--cacert", rig.Pem.CaCert, http2 ? "--http2" : "--http1.1"];
        if (dev is not null)
        {
            args.AddRange(["-H", $"x-dev: {dev}"]);
        }

        return Curl.HttpsAsync(rig.Listen, path, [.. args]);
    }

    private static async Task<string> AnsweredByAsync(Rig rig, string path, string? dev, bool http2 = false)
    {
        var result = await Ask(rig, path, dev, http2);
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(http2 ? "2" : "1.1", result.HttpVersion);
        return result.Body.Split('\n')[0];
    }

    [Fact]
    public async Task TwoDevelopersEachReceiveOnlyTheirRequestsOverHttp1AndHttp2WithTlsAndPlaintextDelivery()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var alice = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.ServerFromOtherCa, Name = "alice-laptop" });
        await using var bob = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "bob-laptop" });
        var rig = CreateRig(dir, app.Port);
        await using var agent = await AgentProcess.StartAsync(output, dir, rig.Config);
        await using var aliceCli = StartCli(rig, agent, "alice", alice.Port, "--header", "x-dev: alice");
        await using var bobCli = StartCli(rig, agent, "bob", bob.Port, "--header", "x-dev=bob", "--plaintext");
        await WaitConnectedAsync(agent, "alice");
        await WaitConnectedAsync(agent, "bob");

        foreach (bool http2 in new[] { false, true })
        {
            Assert.Equal("app=alice-laptop", await AnsweredByAsync(rig, "/api/a", "alice", http2));
            Assert.Equal("app=bob-laptop", await AnsweredByAsync(rig, "/api/b", "bob", http2));
            Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/api/c", "carol", http2));
            Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/api/d", null, http2));
        }

        // TLS end to end to alice's server (the CLI only relays bytes), plaintext to bob's.
        Assert.Contains("scheme=https", (await Ask(rig, "/scheme", "alice", http2: false)).Body, StringComparison.Ordinal);
        Assert.Contains("scheme=http\n", (await Ask(rig, "/scheme", "bob", http2: false)).Body, StringComparison.Ordinal);

        await WaitForLineAsync(aliceCli, l => l.StartsWith("GET /api/a -> 200 (", StringComparison.Ordinal), "GET /api/a -> 200 (N ms)");
        await WaitForLineAsync(bobCli, l => l.StartsWith("GET /api/b -> 200 (", StringComparison.Ordinal), "GET /api/b -> 200 (N ms)");
        Assert.DoesNotContain(aliceCli.StdoutLines, l => l.Contains("/api/b", StringComparison.Ordinal) || l.Contains("/api/c", StringComparison.Ordinal));
        Assert.Contains(aliceCli.StdoutLines, l => l.StartsWith("switchyard: intercept \"alice\" on port web", StringComparison.Ordinal));

        // A third developer asking for alice's exact filter is refused, naming alice.
        await using var carolCli = StartCli(rig, agent, "carol", bob.Port, "--header", "x-dev=alice");
        Assert.Equal(2, await carolCli.WaitForExitAsync(Timeouts.Short));
        Assert.Contains(carolCli.StderrLines, l => l.Contains("conflicts with intercept \"alice\"", StringComparison.Ordinal));
        Assert.Equal("app=alice-laptop", await AnsweredByAsync(rig, "/api/a", "alice"));

        // Ctrl-C removes the intercept at once and exits 0.
        aliceCli.SendSignal(2);
        Assert.Equal(0, await aliceCli.WaitForExitAsync(Timeouts.Short));
        Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/api/a", "alice"));
        Assert.Equal("app=bob-laptop", await AnsweredByAsync(rig, "/api/b", "bob"));

        // The CLI said BYE on its control connection (or its DELETE came first): a developer leaving is not a tunnel
        // lost, so no warning about alice. Signals, no sleep: alice's control connection is detached (only bob's is
        // counted), and then a log barrier: a refused tunnel hello is logged after anything the agent logged before it,
        // and a lost tunnel is logged the moment its control connection is detached.
        await agent.WaitForMetricAsync("switchyard_tunnel_developers", [], v => v == 1, "== 1 (only bob attached)");
        Assert.StartsWith("ERR bad hello", await RawHelloAsync(rig.Tunnel, "LOG-BARRIER\n"), StringComparison.Ordinal);
        await agent.WaitForLogAsync(l => l.Message.Contains("refused", StringComparison.Ordinal) && l.Message.Contains("bad hello", StringComparison.Ordinal), "for the barrier hello");
        Assert.DoesNotContain(agent.Logs, l => l.Message.Contains("developer alice: tunnel control connection lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AKilledCliFailsOpenToTheAppAndARestartedAgentGetsTheInterceptBackFromTheReconnectingCli()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var alice = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "alice-laptop" });
        await using var bob = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "bob-laptop" });
        var rig = CreateRig(dir, app.Port);
        await using var agent = await AgentProcess.StartAsync(output, dir, rig.Config);
        await using var aliceCli = StartCli(rig, agent, "alice", alice.Port, "--header", "x-dev=alice", "--plaintext");
        await using var bobCli = StartCli(rig, agent, "bob", bob.Port, "--header", "x-dev=bob", "--plaintext");
        await WaitConnectedAsync(agent, "alice");
        await WaitConnectedAsync(agent, "bob");
        Assert.Equal("app=alice-laptop", await AnsweredByAsync(rig, "/a", "alice"));

        aliceCli.SendSignal(9);
        await aliceCli.WaitForExitAsync(Timeouts.Short);
        var started = DateTime.UtcNow;
        Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/a", "alice"));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), "the request failed open without waiting for the tunnel");
        await agent.WaitForMetricAsync("switchyard_tunnel_intercepts_expired_total", [], v => v == 1, "== 1 (alice expired)");
        Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/a", "alice"));
        Assert.Equal("app=bob-laptop", await AnsweredByAsync(rig, "/b", "bob"));

        // The agent restarts (same ports): bob's CLI reconnects and registers bob again.
        agent.SendSigterm();
        Assert.Equal(0, await agent.WaitForExitAsync(Timeouts.Short));
        using var secondDir = new TempDir();
        await using var second = await AgentProcess.StartAsync(output, secondDir, rig.Config);
        await WaitConnectedAsync(second, "bob");
        Assert.Equal("app=bob-laptop", await AnsweredByAsync(rig, "/b", "bob"));
        Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/a", "alice"));
        await WaitForLineAsync(bobCli, l => l.Contains("connected again", StringComparison.Ordinal), "connected again");
    }

    [Fact]
    public async Task AWrongTokenIsRefusedByTheAdminApiAndByTheTunnel()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var alice = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "alice-laptop" });
        var rig = CreateRig(dir, app.Port, token: "s3cret");
        await using var agent = await AgentProcess.StartAsync(output, dir, rig.Config);
        var wrong = dir.File("wrong-token");
        await File.WriteAllTextAsync(wrong, "guess\n");

        await using (var refused = StartCli(rig, agent, "alice", alice.Port, "--header", "x-dev=alice", "--token-file", wrong))
        {
            Assert.Equal(2, await refused.WaitForExitAsync(Timeouts.Short));
            Assert.Contains(refused.StderrLines, l => l.Contains("refused", StringComparison.Ordinal) && l.Contains("token", StringComparison.Ordinal));
        }

        await using var cli = StartCli(rig, agent, "alice", alice.Port, "--header", "x-dev=alice", "--plaintext", "--token-file", rig.TokenFile!);
        await WaitForLineAsync(cli, l => l.StartsWith("switchyard: intercept \"alice\"", StringComparison.Ordinal), "registered");
        Assert.Equal("app=alice-laptop", await AnsweredByAsync(rig, "/a", "alice"));

        // A raw tunnel hello for the registered id with a wrong token: ERR and close.
        Assert.StartsWith("ERR unauthorized", await RawHelloAsync(rig.Tunnel, "SWITCHYARD-TUNNEL/1 data alice guess\n"), StringComparison.Ordinal);
        Assert.StartsWith("ERR unauthorized", await RawHelloAsync(rig.Tunnel, "SWITCHYARD-TUNNEL/1 control alice -\n"), StringComparison.Ordinal);
        Assert.StartsWith("ERR unknown intercept", await RawHelloAsync(rig.Tunnel, "SWITCHYARD-TUNNEL/1 data mallory s3cret\n"), StringComparison.Ordinal);
        Assert.StartsWith("ERR bad hello", await RawHelloAsync(rig.Tunnel, "GET / HTTP/1.1\r\n"), StringComparison.Ordinal);
        await agent.WaitForMetricAsync("switchyard_tunnel_refused_total", [("reason", "unauthorized")], v => v == 2, "== 2");
        Assert.Equal("app=alice-laptop", await AnsweredByAsync(rig, "/a", "alice"));
    }

    [Fact]
    public async Task AWiretapThroughTheTunnelReceivesCopiesWhileCallersGetTheAppsAnswers()
    {
        using var dir = new TempDir();
        var seen = new ConcurrentQueue<string>();
        var twoCopies = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var tap = await KestrelApp.StartAsync(new KestrelAppOptions
        {
            Name = "tap-laptop",
            Pipeline = a => a.Use(async (context, next) =>
            {
                seen.Enqueue(context.Request.Method + " " + context.Request.Path + " " + context.Request.Headers["x-dev"]);
                if (seen.Count >= 2)
                {
                    twoCopies.TrySetResult();
                }

                await next(context);
            }),
        });
        var rig = CreateRig(dir, app.Port);
        await using var agent = await AgentProcess.StartAsync(output, dir, rig.Config);
        await using var cli = StartCli(rig, agent, "tap", tap.Port, "--header", "x-dev=alice", "--wiretap", "--plaintext");
        await WaitConnectedAsync(agent, "tap");

        Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/copy/1", "alice"));
        Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/copy/2", "alice", http2: true));
        Assert.Equal("app=the-app", await AnsweredByAsync(rig, "/not-copied", "bob"));

        await twoCopies.Task.WaitAsync(Timeouts.Short); // the tap received both copies

        Assert.Equal(["GET /copy/1 alice", "GET /copy/2 alice"], seen.Order(StringComparer.Ordinal).ToArray());
        await WaitForLineAsync(cli, l => l.StartsWith("GET /copy/2 -> 200 (", StringComparison.Ordinal), "GET /copy/2 -> 200");
    }

    [Fact]
    public async Task Http11AndHttp2CallersOverTlsReachAnH2cOnlyDeveloperThroughTheTunnelAndTheCliPrintsTheRequests()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var dana = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "dana-h2c", Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2 });
        var rig = CreateRig(dir, app.Port);
        await using var agent = await AgentProcess.StartAsync(output, dir, rig.Config);
        await using var cli = StartCli(rig, agent, "dana", dana.Port, "--header", "x-dev=dana", "--plaintext");
        await WaitConnectedAsync(agent, "dana");

        var result = await Ask(rig, "/api/h2c", "dana", http2: false);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("1.1", result.HttpVersion);
        Assert.Contains("app=dana-h2c", result.Body, StringComparison.Ordinal);
        Assert.Contains("protocol=HTTP/2", result.Body, StringComparison.Ordinal); // translated on the agent, carried by the tunnel
        await WaitForLineAsync(cli, l => l.StartsWith("GET /api/h2c -> 200 (", StringComparison.Ordinal), "GET /api/h2c -> 200 (N ms)");

        // An HTTP/2 caller over TLS: its stream goes on as h2c, with the scheme of that plaintext hop (Kestrel checks it).
        var h2 = await Ask(rig, "/api/h2-stream", "dana", http2: true);
        Assert.True(h2.Succeeded, h2.ToString());
        Assert.Contains("app=dana-h2c", h2.Body, StringComparison.Ordinal);
        await WaitForLineAsync(cli, l => l.StartsWith("GET /api/h2-stream -> 200 (", StringComparison.Ordinal), "GET /api/h2-stream -> 200 (N ms)");
    }

    [Fact]
    public async Task AnUnreachableAgentIsReportedWithExitCode1()
    {
        using var dir = new TempDir();
        var port = Ports.GetFreeTcpPort();
        await using var cli = AgentProcess.StartCommand(output, dir, "intercept", "--agent", $"127.0.0.1:{port}", "--to", "127.0.0.1:1", "--header", "x-dev=a");

        Assert.Equal(1, await cli.WaitForExitAsync(Timeouts.Short));
        Assert.Contains(cli.StderrLines, l => l.StartsWith($"switchyard: cannot reach the agent at 127.0.0.1:{port}: ", StringComparison.Ordinal));
    }

    private static async Task<string> RawHelloAsync(int tunnel, string hello)
    {
        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", tunnel, cts.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(hello), SocketFlags.None, cts.Token);
        var received = new StringBuilder();
        var buffer = new byte[256];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
        {
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return received.ToString(); // read to the end: the agent closes after ERR
    }
}
