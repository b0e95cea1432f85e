using System.Net;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Per-stream routing on one multiplexed caller connection (.NET HttpClient, HTTP/2 only, one connection): many
/// concurrent streams each reach their own destination, intercepts added through the admin API apply to the next
/// stream of an open connection, and a failing destination fails only its own streams.
/// </summary>
public sealed class MultiplexedRoutingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task AHundredConcurrentStreamsOnOneConnectionEachReachTheirDestination(FrontTransport transport)
    {
        await using var bob = await KestrelApp.StartAsync(AgentFront.DeveloperOptions(transport, "bob-laptop"));
        await using var rig = await Http2Rig.StartAsync(output, transport, moreRoutes: [RouteSpec.Intercept("bob", bob.Port, transport)]);
        using var caller = rig.Front.NewCaller();
        string?[] devs = ["alice", null, "bob"];

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            string? dev = devs[i % 3];
            var response = await caller.SendAsync(i % 2 == 0 ? HttpMethod.Get : HttpMethod.Post, $"/r/{i}", dev, i % 2 == 0 ? null : $"payload-{i}");
            return (I: i, Dev: dev, Response: response);
        }));

        foreach (var (i, dev, response) in responses)
        {
            Assert.True(response.Status == HttpStatusCode.OK, $"request {i}: {response}");
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.Equal(dev switch { "alice" => "alice-laptop", "bob" => "bob-laptop", _ => "the-app" }, response.Echo("app"));
            Assert.Equal($"/r/{i}", response.Echo("path"));
            Assert.Equal("HTTP/2", response.Echo("protocol"));
            Assert.Equal(i % 2 == 0 ? "" : $"payload-{i}", response.Echo("body"));
        }

        // One caller connection carried all hundred streams.
        Assert.Equal(1, caller.Connections);
        await rig.Front.WaitForCountAsync("switchyard_connections_total", 1);
        await rig.Front.WaitForCountAsync("switchyard_requests_total", 34, ("route", "alice"));
        await rig.Front.WaitForCountAsync("switchyard_requests_total", 33, ("route", "app"));
        await rig.Front.WaitForCountAsync("switchyard_requests_total", 33, ("route", "bob"));
        output.WriteLine("upstream connections seen by the app: " +
            responses.Where(r => r.Dev is null).Select(r => r.Response.Echo("connection")).Distinct().Count());
    }

    [Fact]
    public async Task AnInterceptAddedThroughTheAdminApiAppliesToTheNextStreamOfAnOpenConnection()
    {
        await using var bob = await KestrelApp.StartAsync(AgentFront.DeveloperOptions(FrontTransport.Tls, "bob-laptop"));
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls);
        using var caller = rig.Front.NewCaller();

        Assert.Equal("the-app", (await caller.GetAsync("/api/cart", "bob")).Echo("app"));
        Assert.Equal("alice-laptop", (await caller.GetAsync("/api/cart", "alice")).Echo("app"));

        await rig.Front.AddRouteAsync(RouteSpec.Intercept("bob", bob.Port, FrontTransport.Tls));
        var afterAdd = await caller.GetAsync("/api/cart", "bob");
        Assert.Equal("bob-laptop", afterAdd.Echo("app"));
        Assert.Equal("HTTP/2", afterAdd.Echo("protocol"));
        Assert.Equal("alice-laptop", (await caller.GetAsync("/api/cart", "alice")).Echo("app"));

        await rig.Front.RemoveRouteAsync("bob");
        Assert.Equal("the-app", (await caller.GetAsync("/api/cart", "bob")).Echo("app"));
        Assert.Equal(1, caller.Connections);
        await rig.Front.WaitForCountAsync("switchyard_connections_total", 1);
    }

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task AnUnreachableAppFailsOnlyItsOwnStreams(FrontTransport transport)
    {
        await using var developer = await KestrelApp.StartAsync(AgentFront.DeveloperOptions(transport));
        int nothingListens = Ports.GetFreeTcpPort();
        await using var front = await AgentFront.StartAsync(output, transport, nothingListens, [RouteSpec.Intercept("alice", developer.Port, transport)]);
        using var caller = front.NewCaller();

        await AssertStreamFailsAsync(caller, "/to-the-app", dev: null, expectedStatus: 502, bodyStart: "app 127.0.0.1:");
        Assert.Equal("alice-laptop", (await caller.GetAsync("/api/x", "alice")).Echo("app"));
        await AssertStreamFailsAsync(caller, "/to-the-app-again", dev: null, expectedStatus: 502, bodyStart: "app 127.0.0.1:");
        Assert.Equal("alice-laptop", (await caller.GetAsync("/api/y", "alice")).Echo("app"));
        Assert.Equal(1, caller.Connections);
    }

    [Fact]
    public async Task AnUnreachableTargetWithFailOpenFalseGets503OnItsStreamOnly()
    {
        int nothingListens = Ports.GetFreeTcpPort();
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls,
            moreRoutes: [new RouteSpec("carol", nothingListens, PlaintextDelivery: false) { FailOpen = false }]);
        using var caller = rig.Front.NewCaller();

        var refused = await caller.GetAsync("/api/z", "carol");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.StartsWith("intercept carol: target 127.0.0.1:", refused.Body, StringComparison.Ordinal);
        Assert.Single(refused.Body.TrimEnd('\n').Split('\n'));

        Assert.Equal("the-app", (await caller.GetAsync("/api/z")).Echo("app"));
        Assert.Equal("alice-laptop", (await caller.GetAsync("/api/z", "alice")).Echo("app"));
        Assert.Equal(1, caller.Connections);
    }

    /// <summary>
    /// The stream fails the way the contract allows: a response with <paramref name="expectedStatus"/> and a one-line
    /// body starting with <paramref name="bodyStart"/>, or RST_STREAM (HttpClient: HttpProtocolException).
    /// </summary>
    private static async Task AssertStreamFailsAsync(Http2Caller caller, string path, string? dev, int expectedStatus, string bodyStart)
    {
        try
        {
            var response = await caller.GetAsync(path, dev);
            Assert.True((int)response.Status == expectedStatus, $"expected {expectedStatus} or RST_STREAM, got {response}");
            Assert.StartsWith(bodyStart, response.Body, StringComparison.Ordinal);
            Assert.Single(response.Body.TrimEnd('\n').Split('\n'));
        }
        catch (HttpRequestException e) when (e.InnerException is HttpProtocolException)
        {
            // RST_STREAM for this stream only: the connection itself must stay usable (the caller checks).
        }
    }
}
