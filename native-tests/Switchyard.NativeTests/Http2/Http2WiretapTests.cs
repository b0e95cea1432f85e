using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Wiretaps on HTTP/2 streams: every matching stream's request (method, path, headers, body) is copied to the tap
/// (as HTTP/1.1, per the README), while the caller gets the app's answer over HTTP/2; other streams are not copied.
/// </summary>
public sealed class Http2WiretapTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task MatchingStreamsAreCopiedToTheTapWhileTheAppAnswersTheCaller(FrontTransport transport)
    {
        var copies = new ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var tap = builder.Build();
        tap.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            copies.Enqueue($"{context.Request.Protocol} {context.Request.Method} {context.Request.Path}{context.Request.QueryString} " +
                           $"x-dev={context.Request.Headers["x-dev"]} x-test={context.Request.Headers["x-test"]} body={body}");
            await context.Response.WriteAsync("tap-answer-is-discarded");
        });
        await tap.StartAsync();
        int tapPort = new Uri(tap.Urls.First()).Port;

        var wiretap = new RouteSpec("tap", tapPort, PlaintextDelivery: true)
        {
            Mode = "wiretap",
            Match = new JsonObject { ["path"] = new JsonObject { ["prefix"] = "/api/" } },
        };
        await using var rig = await Http2Rig.StartAsync(output, transport, moreRoutes: [wiretap]);
        using var caller = rig.Front.NewCaller();

        using (var pay = caller.NewRequest(HttpMethod.Post, "/api/pay?order=7", dev: null, new StringContent("amount=5")))
        {
            pay.Headers.Add("x-test", "copied-header");
            using var response = await caller.Client.SendAsync(pay);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.StartsWith("app=the-app\nmethod=POST\npath=/api/pay?order=7\nx-test=copied-header\nprotocol=HTTP/2\n", body, StringComparison.Ordinal);
            Assert.Contains("body=amount=5\n", body, StringComparison.Ordinal);
        }

        var list = await caller.GetAsync("/api/list");
        var notCopied = await caller.SendAsync(HttpMethod.Post, "/health", body: "not-for-the-tap");
        Assert.Equal("the-app", list.Echo("app"));
        Assert.Equal("the-app", notCopied.Echo("app"));

        await rig.Agent.WaitForMetricAsync("switchyard_wiretap_copies_total", [("wiretap", "tap")], v => v == 2, "== 2");
        var seen = copies.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.Contains("HTTP/1.1 POST /api/pay?order=7 x-dev= x-test=copied-header body=amount=5", seen);
        Assert.Contains("HTTP/1.1 GET /api/list x-dev= x-test= body=", seen);
        await rig.Front.WaitForCountAsync("switchyard_requests_total", 3, ("route", "app"));
        Assert.Equal(1, caller.Connections);
    }

    [Fact]
    public async Task AStreamMatchingBothAnInterceptAndAWiretapGoesToTheDeveloperAndIsCopied()
    {
        var copies = new ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var tap = builder.Build();
        tap.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            copies.Enqueue($"{context.Request.Method} {context.Request.Path} x-dev={context.Request.Headers["x-dev"]} body={await reader.ReadToEndAsync()}");
            await context.Response.WriteAsync("ignored");
        });
        await tap.StartAsync();
        int tapPort = new Uri(tap.Urls.First()).Port;

        var wiretap = new RouteSpec("tap", tapPort, PlaintextDelivery: true)
        {
            Mode = "wiretap",
            Match = new JsonObject { ["header"] = "x-dev", ["prefix"] = "ali" },
        };
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls, moreRoutes: [wiretap]);
        using var caller = rig.Front.NewCaller();

        var response = await caller.SendAsync(HttpMethod.Post, "/api/checkout", "alice", "cart=3");

        Assert.Equal("alice-laptop", response.Echo("app"));
        Assert.Equal("cart=3", response.Echo("body"));
        await rig.Agent.WaitForMetricAsync("switchyard_wiretap_copies_total", [("wiretap", "tap")], v => v == 1, "== 1");
        Assert.Equal(["POST /api/checkout x-dev=alice body=cart=3"], copies.ToArray());
    }
}
