using System.Net;
using Switchyard.NativeTests.Grpc;
using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// The HTTP/2 harnesses against Kestrel directly, no agent: curl, nghttp, the one-connection HttpClient, gRPC, the
/// frame client and its scripted violations, stream cancellation and a graceful server shutdown. When one of the
/// agent tests fails while its twin here passes, the agent is at fault, not the harness.
/// </summary>
public sealed class Http2HarnessTests
{
    private static bool IsTls(FrontTransport transport) => transport == FrontTransport.Tls;

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task CurlAndNghttpSpeakHttp2ToKestrel(FrontTransport transport)
    {
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(transport));
        using var dir = new TempDir();
        var ca = TestPki.WriteCertPem(TestPki.Shared.Ca, dir.Path, "ca");

        var curl = IsTls(transport)
            ? await Curl.HttpsAsync(app.Port, "/direct", "--cacert", ca, "--http2")
            : await Curl.HttpAsync(app.Port, "/direct", "--http2-prior-knowledge");
        Assert.True(curl.Succeeded, curl.ToString());
        Assert.Equal("2", curl.HttpVersion);
        Assert.Equal("HTTP/2", EchoText.Field(curl.Body, "protocol"));

        var data = dir.File("data.txt");
        await File.WriteAllTextAsync(data, "posted");
        var nghttp = await Nghttp.RunAsync(dir, [Nghttp.Url(app.Port, IsTls(transport), "/one"), Nghttp.Url(app.Port, IsTls(transport), "/two")], ["x-test: both"], data);
        Assert.True(nghttp.Process.ExitCode == 0, nghttp.ToString());
        Assert.Equal([200, 200], nghttp.Entries.Select(e => e.Status));
        Assert.Contains("path=/one\n", nghttp.Body, StringComparison.Ordinal);
        Assert.Contains("path=/two\n", nghttp.Body, StringComparison.Ordinal);
        Assert.Equal(2, nghttp.Body.Split("method=POST\n").Length - 1);
        Assert.Equal(2, nghttp.Body.Split("x-test=both\nprotocol=HTTP/2\n").Length - 1);
        Assert.Equal(2, nghttp.Body.Split("body=posted\n").Length - 1);
        Assert.Single(nghttp.Body.Split('\n').Where(l => l.StartsWith("connection=", StringComparison.Ordinal)).Distinct());
    }

    [Fact]
    public async Task TheHttp2CallerSendsAHundredConcurrentRequestsOnOneConnection()
    {
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls));
        using var caller = Http2Caller.Create(app.Port, tls: true);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => caller.GetAsync($"/r/{i}")));

        Assert.All(responses, r => Assert.Equal("HTTP/2", r.Echo("protocol")));
        Assert.Single(responses.Select(r => r.Echo("connection")).Distinct());
        Assert.Equal(1, caller.Connections);
    }

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task GrpcCallsOfEveryKindWorkAgainstTheGrpcApp(FrontTransport transport)
    {
        await using var app = await GrpcApp.StartAsync("the-app", IsTls(transport) ? TestPki.Shared.Server : null);
        using var channel = GrpcCalls.Channel(app.Port, IsTls(transport));
        var client = new Echo.EchoClient(channel);

        await GrpcCalls.AssertAllCallKindsAsync(client, "the-app", dev: "alice");
        await GrpcCalls.AssertErrorsAsync(client, "the-app", dev: null);
    }

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task TheFrameClientGetsAResponseFromKestrel(FrontTransport transport)
    {
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(transport));
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(app.Port, IsTls(transport), cts.Token);

        await client.SendAsync(cts.Token, client.Request(1, "GET", "/frames"));
        var log = await client.ReadStreamAsync(1, Timeouts.Short);

        Assert.True(log.StatusOf(1) == 200, log.ToString());
        Assert.Contains("path=/frames\n", log.BodyOf(1), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ProtocolViolations.ConnectionErrors), MemberType = typeof(ProtocolViolations))]
    public async Task KestrelAnswersEachScriptedConnectionErrorWithTheRfcCode(string violation, H2Error expected)
    {
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls));
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(app.Port, tls: true, cts.Token);

        await ProtocolViolations.SendConnectionErrorAsync(client, violation, cts.Token);
        var log = await client.ReadUntilClosedAsync(Timeouts.Short);

        Assert.True(log.GoAway?.ErrorCode == expected, $"{violation}: expected GOAWAY {expected}; {log}");
    }

    [Theory]
    [MemberData(nameof(ProtocolViolations.MalformedRequests), MemberType = typeof(ProtocolViolations))]
    public async Task KestrelRefusesEachScriptedMalformedRequest(string violation)
    {
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls));
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(app.Port, tls: true, cts.Token);

        await ProtocolViolations.SendMalformedRequestAsync(client, violation, cts.Token);
        var log = await client.ReadStreamAsync(1, Timeouts.Short);

        Assert.True(Http2ProtocolErrorTests.IsRefusal(log, 1), $"{violation}: {log}");
    }

    [Fact]
    public async Task AStreamWindowOverflowResetsOnlyThatStreamAtKestrel()
    {
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls));
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(app.Port, tls: true, cts.Token);

        await Http2ProtocolErrorTests.OverflowAStreamWindowAsync(client, cts.Token);
    }

    [Fact]
    public async Task TheContinuationFloodScriptIsCutOffByKestrel()
    {
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls));
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(app.Port, tls: true, cts.Token);

        var outcome = await AbuseScripts.ContinuationFloodAsync(client, cts.Token);

        Assert.True(outcome.Log.GoAway?.ErrorCode is H2Error.EnhanceYourCalm or H2Error.ProtocolError, outcome.ToString());
        Assert.True(outcome.BytesWritten <= 1536 * 1024, outcome.ToString());
        Assert.True((await client.ReadUntilClosedAsync(TimeSpan.FromSeconds(5))).Closed);
    }

    [Fact]
    public async Task TheHpackBombScriptIsRefusedByKestrel()
    {
        var bombs = new PathCounter("/bomb");
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls) with { Pipeline = bombs.Pipeline });
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(app.Port, tls: true, cts.Token);

        var outcome = await AbuseScripts.HpackBombAsync(client, "/bomb", cts.Token);

        Assert.True(AbuseLimitTests.IsRefused(outcome.Log, 1), outcome.ToString());
        Assert.Equal(0, bombs.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CancellingAStreamAbortsTheRequestAtKestrel(bool responseStarted)
    {
        var hold = new HoldEndpoint();
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls) with { Pipeline = hold.Pipeline("the-app") });
        using var caller = Http2Caller.Create(app.Port, tls: true);

        await StreamCancellationTests.CancelAHeldStreamAsync(caller, hold, "the-app", dev: null, responseStarted);

        Assert.Equal("the-app", (await caller.GetAsync("/after")).Echo("app"));
        Assert.Equal(1, caller.Connections);
    }

    [Fact]
    public async Task KestrelFinishesInFlightStreamsWhenItStopsGracefully()
    {
        var slow = new SlowEndpoint();
        var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls) with { Pipeline = slow.Pipeline("the-app") });
        Task stopping = Task.CompletedTask;
        try
        {
            using var caller = Http2Caller.Create(app.Port, tls: true);
            var inFlight = Enumerable.Range(0, 5).Select(i => caller.GetAsync($"/slow?id={i}")).ToArray();
            await slow.WaitForArrivalsAsync(5, Timeouts.Short, inFlight);

            stopping = app.DisposeAsync().AsTask();
            await app.CloseRequested.WaitAsync(Timeouts.Short); // Kestrel is closing the connection: its GOAWAY goes out
            slow.Open();

            var responses = await Task.WhenAll(inFlight).WaitAsync(Timeouts.Short);
            for (int i = 0; i < responses.Length; i++)
            {
                Assert.Equal(HttpStatusCode.OK, responses[i].Status);
                Assert.Equal(SlowEndpoint.ExpectedBody("the-app", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), responses[i].Body);
            }
        }
        finally
        {
            await stopping;
        }
    }

    [Fact]
    public async Task TheBulkHarnessIsByteExactAgainstKestrelWithSmallWindows()
    {
        const long Length = 16L * 1024 * 1024;
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(FrontTransport.Tls) with
        {
            Pipeline = BulkEndpoint.Pipeline("the-app", Length, responseSeed: 2),
            ConfigureServer = BulkEndpoint.SmallWindows,
        });
        using var caller = Http2Caller.Create(app.Port, tls: true, LargeBodyTests.SmallClientWindow, Timeouts.Long);

        await LargeBodyTests.ExchangeAsync(caller, dev: null, requestLength: 0, requestSeed: 0, Length, responseSeed: 2, expectedServer: "the-app");
        await LargeBodyTests.ExchangeAsync(caller, dev: null, requestLength: Length, requestSeed: 1, Length, responseSeed: 2, expectedServer: "the-app");
    }
}
