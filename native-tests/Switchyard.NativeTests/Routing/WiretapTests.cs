using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>Wiretaps get a copy of every matching request while the original still reaches the app.</summary>
public sealed class WiretapTests(ITestOutputHelper output)
{
    private static JsonObject Config(int adminPort, JsonObject port, int tapPort) =>
        new()
        {
            ["version"] = 1,
            ["admin"] = new JsonObject { ["listen"] = $"127.0.0.1:{adminPort}" },
            ["ports"] = new JsonArray(port),
            ["intercepts"] = new JsonArray(new JsonObject
            {
                ["id"] = "tap",
                ["port"] = "web",
                ["mode"] = "wiretap",
                ["match"] = new JsonObject { ["header"] = "x-dev", ["prefix"] = "ali" },
                ["target"] = $"127.0.0.1:{tapPort}",
                ["delivery"] = new JsonObject { ["plaintext"] = true },
            }),
        };

    [Fact]
    public async Task MatchingRequestsAreCopiedToTheTapWhileTheAppAnswersTheCaller()
    {
        var seen = new ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var tap = builder.Build();
        tap.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            seen.Enqueue($"{context.Request.Method} {context.Request.Path} {context.Request.Headers["x-dev"]} {await reader.ReadToEndAsync()}");
            await context.Response.WriteAsync("tap-ignored");
        });
        await tap.StartAsync();
        int tapPort = new Uri(tap.Urls.First()).Port;

        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "auto");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        await using var agent = await AgentProcess.StartAsync(output, dir, Config(Ports.GetFreeTcpPort(), port, tapPort));

        var copied = await Curl.HttpsAsync(listen, "/api/pay", "--cacert", pem.CaCert, "-H", "x-dev: alice", "--data-binary", "amount=5");
        var bodiless = await Curl.HttpsAsync(listen, "/api/list", "--cacert", pem.CaCert, "-H", "x-dev: alina");
        var notCopied = await Curl.HttpsAsync(listen, "/api/pay", "--cacert", pem.CaCert, "-H", "x-dev: bob", "--data-binary", "amount=7");
        // A HEAD copy: the tap's answer has a Content-Length but no body; reading it as a body would wedge the tap
        // connection and lose the copy after it.
        var head = await Curl.HttpsAsync(listen, "/api/head", "--cacert", pem.CaCert, "-I", "-H", "x-dev: alice");
        var afterHead = await Curl.HttpsAsync(listen, "/api/after", "--cacert", pem.CaCert, "-H", "x-dev: alice");
        Assert.Equal(200, head.StatusCode);

        foreach (var result in new[] { copied, bodiless, notCopied, afterHead })
        {
            Assert.True(result.Succeeded, result.ToString());
            Assert.StartsWith("app=the-app\n", result.Body, StringComparison.Ordinal);
        }

        Assert.Contains("body=amount=5\n", copied.Body, StringComparison.Ordinal);
        await agent.WaitForMetricAsync("switchyard_wiretap_copies_total", [("wiretap", "tap")], v => v == 4, "== 4");
        Assert.Equal(["POST /api/pay alice amount=5", "GET /api/list alina ", "HEAD /api/head alice ", "GET /api/after alice "], seen.ToArray());
    }

    [Fact]
    public async Task ATapThatIsDownNeverDelaysOrFailsTheRealRequestAndTheDropsAreCounted()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "auto");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        await using var agent = await AgentProcess.StartAsync(output, dir, Config(Ports.GetFreeTcpPort(), port, Ports.GetFreeTcpPort()));

        for (int i = 0; i < 3; i++)
        {
            var result = await Curl.HttpsAsync(listen, $"/api/{i}", "--cacert", pem.CaCert, "-H", "x-dev: alice");
            Assert.True(result.Succeeded, result.ToString());
            Assert.StartsWith("app=the-app\n", result.Body, StringComparison.Ordinal);
        }

        await agent.WaitForMetricAsync("switchyard_wiretap_drops_total", [("wiretap", "tap"), ("reason", "tap_unreachable")], v => v == 3, "== 3");
    }
    [Fact]
    public async Task ATapThatNeverAnswersDoesNotSlowTheCallerAndOverflowingCopiesAreDropped()
    {
        // The tap accepts each copy and then sits on it until the test ends: a stalled tap, not a dead one.
        using var release = new CancellationTokenSource();
        int tapReceived = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var tap = builder.Build();
        tap.Run(async context =>
        {
            Interlocked.Increment(ref tapReceived);
            try
            {
                await Task.Delay(Timeout.Infinite, release.Token);
            }
            catch (OperationCanceledException)
            {
            }
        });
        await tap.StartAsync();
        int tapPort = new Uri(tap.Urls.First()).Port;

        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "auto");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        await using var agent = await AgentProcess.StartAsync(output, dir, Config(Ports.GetFreeTcpPort(), port, tapPort));

        using var caller = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = 1,
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca) },
        })
        {
            // Each request must be answered by the app on its own schedule: a request held back by the tap would
            // wait forever and fail here.
            Timeout = TimeSpan.FromSeconds(10),
        };

        // More copies than the per-tap queue holds (256) while the tap holds the first one.
        const int Requests = 320;
        for (int i = 0; i < Requests; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"https://localhost:{listen}/api/pay/{i}")
            {
                Content = new StringContent($"amount={i}"),
            };
            request.Headers.Add("x-dev", "alice");
            using var response = await caller.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("app=the-app\n", body, StringComparison.Ordinal);
            Assert.Contains($"body=amount={i}\n", body, StringComparison.Ordinal);
        }

        var dropped = await agent.WaitForMetricAsync("switchyard_wiretap_drops_total", [("wiretap", "tap"), ("reason", "queue_full")], v => v >= 1, ">= 1");
        output.WriteLine($"tap received {Volatile.Read(ref tapReceived)}, dropped {dropped} (queue_full)");
        // The tap sits on one copy per sender, at most 4 at a time (the agent gives up on a silent tap after 10 s and
        // dials again).
        Assert.True(Volatile.Read(ref tapReceived) <= 12, $"the stalled tap got {tapReceived} copies");
        Assert.True(dropped <= Requests - 256, $"at most the overflow beyond the queue is dropped, was {dropped}");
        await release.CancelAsync();
    }
}
