using System.Diagnostics;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Lifecycle;

/// <summary>
/// Issue 12 item 7: on SIGTERM an HTTP/1.1 connection waiting for its next request closes at once (the drain does
/// not wait for it), and one mid-request gets its whole response with Connection: close.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class Http1DrainTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SigtermClosesAnIdleKeepAliveConnectionAtOnceAndLetsARequestInFlightFinishWithConnectionClose()
    {
        using var dir = new TempDir();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = ScriptedHttp1App.Start(async r =>
        {
            if (r.Target == "/slow")
            {
                await release.Task;
            }

            return ScriptedHttp1App.Ok(r);
        });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("plain", listen, app.Port, "always");
        port["tls"] = "off";
        port["http"] = "http1";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port), ["--drain-timeout", "60s"]);
        using var cts = new CancellationTokenSource(Timeouts.Long);

        using var idle = await RawHttp1Caller.ConnectAsync(listen, cts.Token);
        await idle.SendAsync("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token);
        Assert.Equal(200, (await idle.ReadResponseAsync(cts.Token)).Status); // now idle, kept alive

        using var busy = await RawHttp1Caller.ConnectAsync(listen, cts.Token);
        await busy.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token);
        await app.WaitForRequestAsync(r => r.Target == "/slow", "GET /slow");

        var clock = Stopwatch.StartNew();
        agent.SendSigterm();

        using (var closing = new CancellationTokenSource(Timeouts.Short))
        {
            Assert.True(await idle.IsClosedByPeerAsync(closing.Token), "the idle keep-alive connection got bytes instead of a close");
        }

        Assert.False(agent.HasExited, "the agent exited with a request in flight");
        release.SetResult();
        RawResponse response = await busy.ReadResponseAsync(cts.Token);
        Assert.Equal(200, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.Equal("method=GET target=/slow\n", response.BodyText);
        Assert.True(await busy.IsClosedByPeerAsync(cts.Token));

        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the drain took {clock.Elapsed} with a 60 s drain timeout");
    }
}
