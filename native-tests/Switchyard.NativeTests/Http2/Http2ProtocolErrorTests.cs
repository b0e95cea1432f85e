using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// The agent as an HTTP/2 server, frame by frame (<see cref="Http2FrameClient"/>): valid requests are answered and
/// routed; RFC 9113 connection errors end the connection with GOAWAY and the RFC's code, counted in
/// switchyard_http2_goaway_total; stream errors reset only their stream; malformed requests never reach the app.
/// The same scripts run against Kestrel in <see cref="Http2HarnessTests"/>.
/// </summary>
public sealed class Http2ProtocolErrorTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task ValidRequestsOnTheFrameClientAreAnsweredAndRoutedPerStream(FrontTransport transport)
    {
        await using var rig = await Http2Rig.StartAsync(output, transport);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, rig.Front.IsTls, cts.Token);

        await client.SendAsync(cts.Token, client.Request(1, "GET", "/frames/app"), client.Request(3, "GET", "/frames/dev", true, ("x-dev", "alice")));
        await client.ReadStreamAsync(1, Timeouts.Short);
        var all = await client.ReadStreamAsync(3, Timeouts.Short); // every frame of the connection so far

        Assert.True(all.StatusOf(1) == 200 && all.StatusOf(3) == 200, all.ToString());
        Assert.StartsWith("app=the-app\nmethod=GET\npath=/frames/app\n", all.BodyOf(1), StringComparison.Ordinal);
        Assert.StartsWith("app=alice-laptop\nmethod=GET\npath=/frames/dev\n", all.BodyOf(3), StringComparison.Ordinal);
        Assert.Null(all.GoAway);
    }

    [Theory]
    [MemberData(nameof(ProtocolViolations.ConnectionErrors), MemberType = typeof(ProtocolViolations))]
    public async Task ConnectionErrorsEndTheConnectionWithGoAwayAndTheRfcCode(string violation, H2Error expected)
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        await ProtocolViolations.SendConnectionErrorAsync(client, violation, cts.Token);
        var log = await client.ReadUntilClosedAsync(Timeouts.Short);

        Assert.True(log.GoAway?.ErrorCode == expected, $"{violation}: expected GOAWAY {expected}; {log}");
        Assert.True(log.Closed, $"{violation}: the agent kept the connection open after its GOAWAY; {log}");
        await rig.Front.WaitForAtLeastAsync("switchyard_http2_goaway_total", 1);
        await AssertStillServingAsync(rig);
    }

    [Theory]
    [MemberData(nameof(ProtocolViolations.MalformedRequests), MemberType = typeof(ProtocolViolations))]
    public async Task MalformedRequestsAreRefusedWithoutReachingTheApp(string violation)
    {
        var malformed = new PathCounter("/malformed");
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls, app: o => o with { Pipeline = malformed.Pipeline });
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        await ProtocolViolations.SendMalformedRequestAsync(client, violation, cts.Token);
        var log = await client.ReadStreamAsync(1, Timeouts.Short);

        Assert.True(IsRefusal(log, 1), $"{violation}: expected RST_STREAM PROTOCOL_ERROR, a 4xx or GOAWAY PROTOCOL_ERROR; {log}");
        if (violation != "content-length larger than the DATA")
        {
            // Broken heads are refused before routing; a body that falls short is only known once the request is under way.
            Assert.Equal(0, malformed.Count);
        }

        await AssertStillServingAsync(rig);
    }

    [Fact]
    public async Task AStreamWindowOverflowResetsThatStreamAndTheConnectionGoesOn()
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        await OverflowAStreamWindowAsync(client, cts.Token);
    }

    /// <summary>RST_STREAM PROTOCOL_ERROR on the stream, a 4xx answer on it, or GOAWAY PROTOCOL_ERROR (RFC 9113 §8.1.1, §5.4).</summary>
    internal static bool IsRefusal(FrameLog log, int streamId) =>
        log.ResetOf(streamId)?.ErrorCode == H2Error.ProtocolError
        || log.StatusOf(streamId) is >= 400 and < 500
        || log.GoAway?.ErrorCode == H2Error.ProtocolError;

    /// <summary>
    /// Opens stream 1 (a POST whose body never ends), sends WINDOW_UPDATE +2^31-1 on it: RST_STREAM FLOW_CONTROL_ERROR
    /// for that stream only (§6.9.1); then stream 3 is answered normally on the same connection.
    /// </summary>
    internal static async Task OverflowAStreamWindowAsync(Http2FrameClient client, CancellationToken ct)
    {
        await client.SendAsync(ct, client.Request(1, "POST", "/window", endStream: false), Http2FrameClient.WindowUpdate(1, 0x7FFFFFFF));
        var reset = await client.ReadStreamAsync(1, Timeouts.Short);
        Assert.True(reset.ResetOf(1)?.ErrorCode == H2Error.FlowControlError, $"expected RST_STREAM FLOW_CONTROL_ERROR on stream 1; {reset}");
        Assert.Null(reset.GoAway);

        await client.SendAsync(ct, client.Request(3, "GET", "/after-overflow"));
        var after = await client.ReadStreamAsync(3, Timeouts.Short);
        Assert.True(after.StatusOf(3) == 200, $"stream 3 after the reset; {after}");
        Assert.Null(after.GoAway);
    }

    /// <summary>The agent is healthy and answers a normal HTTP/2 request on a new connection.</summary>
    internal static async Task AssertStillServingAsync(Http2Rig rig)
    {
        var (status, body, _) = await rig.Agent.GetAsync("/healthz");
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        Assert.Equal("ok", body.Trim());
        var next = await rig.Front.CurlH2Async("/still-serving");
        Assert.True(next.Succeeded, next.ToString());
        Assert.Equal("the-app", EchoText.Field(next.Body, "app"));
        Assert.Equal("2", next.HttpVersion);
    }
}
