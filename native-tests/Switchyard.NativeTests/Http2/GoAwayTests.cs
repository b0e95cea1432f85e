using System.Globalization;
using System.Net;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Graceful GOAWAY on both sides of the agent: when the app shuts down (Kestrel sends GOAWAY and finishes what it
/// started) the streams in flight through the agent still complete, the next stream fails on its own while the app
/// is down and succeeds once it is back on the same port; when the agent gets SIGTERM its HTTP/2 callers get GOAWAY
/// and their open streams finish before it exits 0.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class GoAwayTests(ITestOutputHelper output)
{
    [Fact]
    public async Task StreamsInFlightCompleteWhenTheAppShutsDownAndTheNextStreamsFollowTheApp()
    {
        var slow = new SlowEndpoint();
        var appOptions = AgentFront.AppOptions(FrontTransport.Tls) with { Pipeline = slow.Pipeline("the-app") };
        var app = await KestrelApp.StartAsync(appOptions);
        KestrelApp? restarted = null;
        Task stopping = Task.CompletedTask;
        try
        {
            await using var developer = await KestrelApp.StartAsync(AgentFront.DeveloperOptions(FrontTransport.Tls));
            await using var front = await AgentFront.StartAsync(output, FrontTransport.Tls, app.Port, [RouteSpec.Intercept("alice", developer.Port, FrontTransport.Tls)]);
            using var caller = front.NewCaller();

            var inFlight = Enumerable.Range(0, 5).Select(i => caller.GetAsync($"/slow?id={i}")).ToArray();
            await slow.WaitForArrivalsAsync(5, Timeouts.Short, inFlight);

            // The app stops gracefully (GOAWAY to the agent) with five streams in flight, then lets them finish: the gate
            // opens once Kestrel has asked the agent's connection to close, the moment its GOAWAY goes out.
            stopping = app.DisposeAsync().AsTask();
            await app.CloseRequested.WaitAsync(Timeouts.Short);
            slow.Open();
            var finished = await Task.WhenAll(inFlight).WaitAsync(Timeouts.Short);
            for (int i = 0; i < finished.Length; i++)
            {
                Assert.True(finished[i].Status == HttpStatusCode.OK, $"in-flight stream {i}: {finished[i]}");
                Assert.Equal(SlowEndpoint.ExpectedBody("the-app", i.ToString(CultureInfo.InvariantCulture)), finished[i].Body);
            }

            await stopping.WaitAsync(Timeouts.Short);

            // The app is gone: its next stream fails alone (502 or RST_STREAM), alice's streams still work.
            await AssertAppStreamFailsAsync(caller);
            Assert.Equal("alice-laptop", (await caller.GetAsync("/api/x", "alice")).Echo("app"));

            // Back on the same port: the next stream reaches the new app process, on the same caller connection.
            restarted = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls, "the-app-restarted") with { Port = app.Port });
            var afterRestart = await caller.GetAsync("/after-restart");
            Assert.True(afterRestart.Status == HttpStatusCode.OK, afterRestart.ToString());
            Assert.Equal("the-app-restarted", afterRestart.Echo("app"));
            Assert.Equal("HTTP/2", afterRestart.Echo("protocol"));
            Assert.Equal(1, caller.Connections);
        }
        finally
        {
            await stopping;
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task OnSigtermHttp2CallersGetGoAwayAndTheirOpenStreamsFinish()
    {
        var slow = new SlowEndpoint();
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls, app: o => o with { Pipeline = slow.Pipeline("the-app") });
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using (var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token))
        {
            await client.SendAsync(cts.Token, client.Request(1, "GET", "/slow?id=drain"));
            await slow.WaitForArrivalsAsync(1, Timeouts.Short);
            rig.Agent.SendSigterm();

            var goAway = await client.ReadUntilGoAwayAsync(Timeouts.Short);
            Assert.True(goAway.GoAway?.ErrorCode == H2Error.NoError, $"expected a graceful GOAWAY (NO_ERROR); {goAway}");
            Assert.True(goAway.GoAway!.LastStreamId >= 1, $"stream 1 must be covered by the GOAWAY; {goAway}");

            slow.Open();
            var stream = await client.ReadStreamAsync(1, Timeouts.Short);
            Assert.True(stream.StatusOf(1) == 200, $"stream 1 after GOAWAY; {stream}");
            Assert.Equal(SlowEndpoint.ExpectedBody("the-app", "drain"), stream.BodyOf(1));
            Assert.Null(stream.ResetOf(1));
        } // the caller, done, closes its connection like any client after a GOAWAY

        Assert.Equal(0, await rig.Agent.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    private static async Task AssertAppStreamFailsAsync(Http2Caller caller)
    {
        try
        {
            var response = await caller.GetAsync("/while-down");
            Assert.True(response.Status == HttpStatusCode.BadGateway, $"expected 502 or RST_STREAM while the app is down, got {response}");
            Assert.Single(response.Body.TrimEnd('\n').Split('\n'));
        }
        catch (HttpRequestException e) when (e.InnerException is HttpProtocolException)
        {
            // RST_STREAM on this stream; the connection count assertion shows the connection survived.
        }
    }
}
