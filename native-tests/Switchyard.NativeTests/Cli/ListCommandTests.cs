using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Cli;

/// <summary>
/// `switchyard list --agent HOST:PORT [--token-file F]` against a running agent: one intercept added through the
/// admin API with a target, one developer connected through the tunnel with `switchyard intercept`, and a wiretap.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class ListCommandTests(ITestOutputHelper output)
{
    private static readonly HttpClient Admin = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task ListShowsEachInterceptAndWiretapWithItsFilterDeliveryAndRequestCount()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var alice = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "alice-laptop" });
        await using var bob = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "bob-laptop" });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port);
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["tunnel"] = new JsonObject { ["listen"] = Ports.Loopback(Ports.GetFreeTcpPort()) };
        await using var agent = await AgentProcess.StartAsync(output, dir, config);
        string admin = $"127.0.0.1:{agent.AdminPort}";

        var empty = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["list", "--agent", admin]);
        Assert.True(empty.ExitCode == 0, empty.ToString());
        Assert.Equal($"no intercepts or wiretaps on the agent at {admin}\n", empty.Stdout);

        await AddAsync(agent, new JsonObject
        {
            ["id"] = "bob",
            ["port"] = "web",
            ["match"] = new JsonObject { ["all"] = new JsonArray(new JsonObject { ["header"] = "x-dev", ["exact"] = "bob" }, new JsonObject { ["path"] = new JsonObject { ["prefix"] = "/api/" } }) },
            ["target"] = $"127.0.0.1:{bob.Port}",
            ["delivery"] = new JsonObject { ["plaintext"] = true },
        });
        await AddAsync(agent, new JsonObject
        {
            ["id"] = "audit",
            ["port"] = "web",
            ["mode"] = "wiretap",
            ["match"] = new JsonObject { ["method"] = "DELETE" },
            ["target"] = $"127.0.0.1:{alice.Port}",
            ["delivery"] = new JsonObject { ["plaintext"] = true },
        });
        await using var cli = AgentProcess.StartCommand(output, dir,
            ["intercept", "--agent", admin, "--to", $"127.0.0.1:{alice.Port}", "--id", "alice", "--header", "x-dev: alice", "--plaintext"]);
        await agent.WaitForStatusAsync(s => s["tunnel"]?["connected"]?.AsArray().Any(n => n!.GetValue<string>() == "alice") == true, "alice connected");

        Assert.Contains("app=bob-laptop", (await Curl.HttpsAsync(listen, "/api/1", "--cacert", pem.CaCert, "-H", "x-dev: bob")).Body, StringComparison.Ordinal);
        Assert.Contains("app=bob-laptop", (await Curl.HttpsAsync(listen, "/api/2", "--cacert", pem.CaCert, "-H", "x-dev: bob")).Body, StringComparison.Ordinal);
        Assert.Contains("app=alice-laptop", (await Curl.HttpsAsync(listen, "/", "--cacert", pem.CaCert, "-H", "x-dev: alice")).Body, StringComparison.Ordinal);

        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["list", "--agent", admin]);

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 4, result.ToString());
        Assert.Matches(@"^ID +PORT +MODE +FILTER +TARGET +REQUESTS$", lines[0]);
        Assert.Matches(@"^alice +web +intercept +--header x-dev=alice +tunnel \(connected\) +1$", lines[1]);
        Assert.Matches(@"^audit +web +wiretap +--method DELETE +127\.0\.0\.1:" + alice.Port + @" +0$", lines[2]);
        Assert.Matches(@"^bob +web +intercept +--header x-dev=bob --path-prefix /api/ +127\.0\.0\.1:" + bob.Port + @" +2$", lines[3]);
        int[] columns = [.. Regex.Matches(lines[0], @"\S+").Select(m => m.Index)];
        Assert.All(lines.Skip(1), line => Assert.Equal(columns, Regex.Matches(line, @"(?<=^|  )\S").Select(m => m.Index).Take(columns.Length)));
    }

    [Fact]
    public async Task ListSendsTheTokenOfTokenFileAndSaysWhenTheAgentRefuses()
    {
        using var dir = new TempDir();
        var echo = TcpTestServer.StartEcho();
        await using var _ = echo;
        var port = AgentConfig.Port("echo", Ports.GetFreeTcpPort(), echo.Port, "never");
        port["tls"] = "off";
        port["http"] = "none";
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        string tokenFile = dir.File("token");
        await File.WriteAllTextAsync(tokenFile, "s3cret\n");
        config["admin"]!["tokenFile"] = tokenFile;
        await using var agent = await AgentProcess.StartAsync(output, dir, config);
        string admin = $"127.0.0.1:{agent.AdminPort}";

        var refused = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["list", "--agent", admin]);
        var allowed = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["list", "--agent", admin, "--token-file", tokenFile]);
        var unreachable = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["list", "--agent", $"127.0.0.1:{Ports.GetFreeTcpPort()}"]);

        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("(check --token-file)", refused.Stderr, StringComparison.Ordinal);
        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        Assert.Equal($"no intercepts or wiretaps on the agent at {admin}\n", allowed.Stdout);
        Assert.True(unreachable.ExitCode == 1, unreachable.ToString());
        Assert.StartsWith("switchyard: cannot reach the agent at ", unreachable.Stderr, StringComparison.Ordinal);
    }

    private static async Task AddAsync(AgentProcess agent, JsonObject body)
    {
        using var added = await Admin.PostAsync(agent.AdminUri("/v1/intercepts"), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(added.StatusCode == HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
    }
}
