using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// The agent's HTTP/2 limits against hostile callers (README: 128 concurrent streams, 256 KiB stream window, 1 MiB
/// connection window, 64 KiB decoded header list): rapid reset, CONTINUATION flood, HPACK bomb, SETTINGS/PING/empty
/// DATA floods end the connection with GOAWAY ENHANCE_YOUR_CALM (counted in switchyard_http2_abuse_total by
/// reason) or refuse the stream, and the agent stays healthy for everyone else.
/// </summary>
public sealed class AbuseLimitTests(ITestOutputHelper output)
{
    private const string AbuseMetric = "switchyard_http2_abuse_total";

    [Fact]
    public async Task TheAgentAdvertisesItsStreamAndWindowLimits()
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        Assert.Equal(128u, client.ServerSettings.GetValueOrDefault(SettingId.MaxConcurrentStreams));
        Assert.Equal(256u * 1024, client.ServerSettings.GetValueOrDefault(SettingId.InitialWindowSize));
        var log = await client.ReadUntilAsync(f => f.Type == FrameType.WindowUpdate && f.StreamId == 0, TimeSpan.FromSeconds(3));
        var increments = log.Frames.Where(f => f.Type == FrameType.WindowUpdate && f.StreamId == 0)
            .Sum(f => (long)(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(f.Payload) & 0x7FFFFFFF));
        Assert.True(65535 + increments == 1024 * 1024, $"connection window 65535 + {increments}, expected 1 MiB; {log}");
    }

    [Fact]
    public async Task StreamsBeyondTheConcurrencyLimitAreRefusedWhileTheOthersCarryOn()
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls,
            app: o => o with { ConfigureServer = k => k.Limits.Http2.MaxStreamsPerConnection = 1000 });
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);
        int limit = (int)client.ServerSettings.GetValueOrDefault(SettingId.MaxConcurrentStreams, 128u);

        // `limit` requests whose bodies never end keep their streams open; one more is over the limit.
        var open = Enumerable.Range(0, limit).Select(i => client.Request(1 + 2 * i, "POST", $"/open/{i}", endStream: false)).ToArray();
        await client.SendAsync(cts.Token, open);
        int oneTooMany = 1 + 2 * limit;
        await client.SendAsync(cts.Token, client.Request(oneTooMany, "POST", "/one-too-many", endStream: false));
        var refused = await client.ReadStreamAsync(oneTooMany, Timeouts.Short);

        Assert.True(refused.ResetOf(oneTooMany)?.ErrorCode is H2Error.RefusedStream or H2Error.ProtocolError,
            $"stream {oneTooMany} (number {limit + 1}) should be reset with REFUSED_STREAM or PROTOCOL_ERROR (RFC 9113 §5.1.2); {refused}");
        Assert.Null(refused.GoAway);

        await client.SendAsync(cts.Token, Http2FrameClient.Data(1, "done"u8, endStream: true));
        var first = await client.ReadStreamAsync(1, Timeouts.Short);
        Assert.True(first.StatusOf(1) == 200, $"stream 1; {first}");
        Assert.Contains("path=/open/0\n", first.BodyOf(1), StringComparison.Ordinal);
        Assert.Contains("body=done\n", first.BodyOf(1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RapidResetEndsTheConnectionWithEnhanceYourCalm()
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        var outcome = await AbuseScripts.RapidResetAsync(client, streams: 1000, cts.Token);

        AssertEnhanceYourCalm(outcome);
        await rig.Front.WaitForCountAsync(AbuseMetric, 1, ("reason", "rapid_reset"));
        await Http2ProtocolErrorTests.AssertStillServingAsync(rig);
    }

    [Fact]
    public async Task AContinuationFloodIsCutOffWithinAboutAMebibyte()
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        var outcome = await AbuseScripts.ContinuationFloodAsync(client, cts.Token);

        Assert.True(outcome.Log.GoAway?.ErrorCode is H2Error.EnhanceYourCalm or H2Error.ProtocolError,
            $"expected GOAWAY ENHANCE_YOUR_CALM or PROTOCOL_ERROR; {outcome}");
        // ~1 MiB read by the agent, plus what the socket buffers held at that moment.
        Assert.True(outcome.BytesWritten <= 1536 * 1024, $"the agent let too much of one field block in before its GOAWAY; {outcome}");
        var closed = await client.ReadUntilClosedAsync(TimeSpan.FromSeconds(5));
        Assert.True(closed.Closed, $"the connection stayed open after the GOAWAY; {closed}");
        if (outcome.Log.GoAway!.ErrorCode == H2Error.EnhanceYourCalm)
        {
            var metrics = await rig.Agent.GetMetricsAsync();
            double counted = PrometheusText.Sum(metrics, AbuseMetric, ("port", AgentFront.PortName), ("reason", "continuation_flood"))
                + PrometheusText.Sum(metrics, AbuseMetric, ("port", AgentFront.PortName), ("reason", "header_list_too_large"));
            Assert.True(counted == 1, $"expected one abuse count (continuation_flood or header_list_too_large):\n{metrics}");
        }

        await Http2ProtocolErrorTests.AssertStillServingAsync(rig);
    }

    [Fact]
    public async Task AnHpackBombIsRefusedAndTheAgentStaysHealthy()
    {
        var bombs = new PathCounter("/bomb");
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls, app: o => o with { Pipeline = bombs.Pipeline });
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        var outcome = await AbuseScripts.HpackBombAsync(client, "/bomb", cts.Token);

        Assert.True(IsRefused(outcome.Log, 1), $"expected RST_STREAM, 431 or GOAWAY; {outcome}");
        Assert.Equal(0, bombs.Count);
        await Http2ProtocolErrorTests.AssertStillServingAsync(rig);
    }

    [Theory]
    [InlineData("SETTINGS", "settings_flood")]
    [InlineData("PING", "ping_flood")]
    [InlineData("empty DATA", "empty_frame_flood")]
    public async Task FloodsOfCheapFramesEndTheConnectionWithEnhanceYourCalm(string frame, string reason)
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        var outcome = await AbuseScripts.CheapFrameFloodAsync(client, frame, cts.Token);

        AssertEnhanceYourCalm(outcome);
        await rig.Front.WaitForCountAsync(AbuseMetric, 1, ("reason", reason));
        await Http2ProtocolErrorTests.AssertStillServingAsync(rig);
    }

    /// <summary>The stream was refused: RST_STREAM, a 431 answer, or a GOAWAY for the connection.</summary>
    internal static bool IsRefused(FrameLog log, int streamId) =>
        log.ResetOf(streamId) is not null || log.StatusOf(streamId) == 431 || log.GoAway is not null;

    private static void AssertEnhanceYourCalm(AbuseOutcome outcome) =>
        Assert.True(outcome.Log.GoAway?.ErrorCode == H2Error.EnhanceYourCalm, $"expected GOAWAY ENHANCE_YOUR_CALM; {outcome}");
}
