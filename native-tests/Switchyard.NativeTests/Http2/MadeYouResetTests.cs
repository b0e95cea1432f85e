using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Issue 11, defect 6, "MadeYouReset" (CVE-2025-8671): a caller makes the agent reset streams itself with frames that
/// are stream errors (WINDOW_UPDATE of 0, a stream window overflow, DATA after END_STREAM, DATA beyond content-length).
/// Every reset the agent sends counts against the same budget as the caller's own resets (Http2AbuseLimits: 200 at
/// once, then 50 per second), past which the connection ends with GOAWAY ENHANCE_YOUR_CALM; and a stream the agent
/// reset keeps its place among SETTINGS_MAX_CONCURRENT_STREAMS (128) until its exchange with the app has ended, so
/// the app never runs more than 128 requests of one caller connection at once.
/// </summary>
public sealed class MadeYouResetTests(ITestOutputHelper output)
{
    private const string AbuseMetric = "switchyard_http2_abuse_total";

    /// <summary>Far past the budget (200 at once + 50/s for the few seconds this takes).</summary>
    private const int MaxStreams = 3000;

    public static TheoryData<string> Provocations => new()
    {
        "WINDOW_UPDATE of 0 on the stream",       // §6.9: stream error PROTOCOL_ERROR
        "a stream window overflow",               // §6.9.1: stream error FLOW_CONTROL_ERROR
        "DATA after END_STREAM",                  // §5.1 half-closed (remote): stream error STREAM_CLOSED
        "DATA beyond content-length",             // §8.1.1: malformed, stream error PROTOCOL_ERROR
    };

    /// <summary>The frames that open stream <paramref name="id"/> and make the agent reset it.</summary>
    private static byte[][] Provoke(Http2FrameClient client, string provocation, int id) => provocation switch
    {
        "WINDOW_UPDATE of 0 on the stream" => [client.Request(id, "POST", $"/myr/{id}", endStream: false), Http2FrameClient.WindowUpdate(id, 0)],
        "a stream window overflow" => [client.Request(id, "POST", $"/myr/{id}", endStream: false), Http2FrameClient.WindowUpdate(id, 0x7FFFFFFF)],
        "DATA after END_STREAM" => [client.Request(id, "GET", $"/myr/{id}"), Http2FrameClient.Data(id, "late"u8, endStream: true)],
        "DATA beyond content-length" =>
        [
            client.Request(id, "POST", $"/myr/{id}", endStream: false, ("content-length", "2")),
            Http2FrameClient.Data(id, "12345"u8, endStream: true),
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(provocation), provocation, null),
    };

    [Theory]
    [MemberData(nameof(Provocations))]
    public async Task StreamsTheAgentMustResetCountAgainstTheResetBudget(string provocation)
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls,
            app: o => o with { ConfigureServer = k => k.Limits.Http2.MaxStreamsPerConnection = 4000 });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, tls: true, cts.Token);

        var reader = client.ReadUntilGoAwayAsync(TimeSpan.FromSeconds(12));
        int sent = 0;
        while (sent < MaxStreams && !reader.IsCompleted)
        {
            var batch = Enumerable.Range(sent, 100).SelectMany(i => Provoke(client, provocation, 1 + 2 * i)).ToArray();
            if (!await TryWriteAsync(client, batch, cts.Token))
            {
                break;
            }

            sent += 100;
        }

        var log = await reader;
        int resets = log.Frames.Count(f => f.Type == FrameType.RstStream);
        string story = $"{provocation}, {sent} streams sent, {resets} RST_STREAMs received ({string.Join(", ", log.Frames.Where(f => f.Type == FrameType.RstStream).GroupBy(f => f.ErrorCode).Select(g => $"{g.Count()} {g.Key}"))})";
        Assert.True(log.GoAway?.ErrorCode == H2Error.EnhanceYourCalm, $"expected GOAWAY ENHANCE_YOUR_CALM once the agent's own resets pass the reset budget; {story}; {log}");
        Assert.True(resets <= 1000, $"the budget is 200 resets at once then 50/s, yet the agent reset {resets} streams before its GOAWAY; {story}");
        await rig.Front.WaitForAtLeastAsync(AbuseMetric, 1);
        await Http2ProtocolErrorTests.AssertStillServingAsync(rig);
    }

    /// <summary>
    /// An h2c app that never answers (<see cref="CountingH2cApp"/>) counts the streams open at it: each opens with its
    /// HEADERS and ends only with the agent's RST_STREAM (or the end of the connection). The app is slow to accept
    /// (its listen queue is full until the test lets it accept, so the agent's connect is still pending), and meanwhile a caller sends one burst of
    /// 1,000 streams, each a request followed at once by the frame that makes the agent reset that stream. Once every
    /// stream has been answered (RST_STREAM, or a GOAWAY) the app starts accepting. A stream the agent reset keeps its slot
    /// until its exchange with the app has ended (or is never sent), so the app never has more than
    /// SETTINGS_MAX_CONCURRENT_STREAMS (128) streams of that caller connection open at once. A request to the same app
    /// on another connection, answered after the release, is the signal that the app has read everything the agent
    /// sent before it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Provocations))]
    public async Task AStreamTheAgentResetKeepsItsConcurrencySlotUntilItsAppExchangeEnds(string provocation)
    {
        const int Streams = 1000;
        await using var app = CountingH2cApp.Start(slowToAccept: true);
        await using var front = await AgentFront.StartAsync(output, FrontTransport.H2c, app.Port,
            [RouteSpec.Intercept("alice", Ports.GetFreeTcpPort(), FrontTransport.H2c)]); // a filtered route: the port is parsed
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        await using var client = await Http2FrameClient.OpenAsync(front.Listen, tls: false, cts.Token);
        int limit = (int)client.ServerSettings.GetValueOrDefault(SettingId.MaxConcurrentStreams, 128u);
        Assert.Equal(128, limit);

        var resetStreams = new HashSet<int>();
        var reader = client.ReadUntilAsync(
            f =>
            {
                if (f.Type == FrameType.RstStream)
                {
                    resetStreams.Add(f.StreamId);
                }

                return resetStreams.Count >= Streams || f.Type == FrameType.GoAway;
            },
            Timeouts.Short);
        var burst = Enumerable.Range(0, Streams).Select(i => 1 + 2 * i).SelectMany(id => provocation switch
        {
            "DATA beyond content-length" => new[]
            {
                client.Request(id, "POST", $"/held/{id}", endStream: false, ("content-length", "2")),
                Http2FrameClient.Data(id, "12345"u8, endStream: true),
            },
            "DATA after END_STREAM" => [client.Request(id, "GET", $"/held/{id}"), Http2FrameClient.Data(id, "late"u8, endStream: true)],
            "a stream window overflow" => [client.Request(id, "GET", $"/held/{id}"), Http2FrameClient.WindowUpdate(id, 0x7FFFFFFF)],
            _ => [client.Request(id, "GET", $"/held/{id}"), Http2FrameClient.WindowUpdate(id, 0)],
        }).ToArray();
        await TryWriteAsync(client, burst, cts.Token);
        var log = await reader;
        Assert.False(log.TimedOut, $"the agent answered only {resetStreams.Count} of {Streams} streams (RST_STREAM) and sent no GOAWAY; {log}");

        app.StartAccepting();
        await BarrierAsync(front, app, "after the burst", cts.Token);

        string codes = string.Join(", ", log.Frames.Where(f => f.Type == FrameType.RstStream).GroupBy(f => f.ErrorCode).Select(g => $"{g.Count()} {g.Key}"));
        string story = $"{app.Opened} streams reached the app, {app.Resets} of them reset there by the agent, {app.Open} still open after the barrier; " +
            $"the agent reset {resetStreams.Count} caller streams ({codes}); GOAWAY: {log.GoAway?.ToString() ?? "none"}";
        output.WriteLine($"{provocation}: at most {app.MaxOpen} open at the app at once; {story}");
        Assert.True(app.MaxOpen <= limit,
            $"{provocation}: the app had {app.MaxOpen} streams of one caller connection open at once (SETTINGS_MAX_CONCURRENT_STREAMS {limit}); {story}");
    }

    /// <summary>A request to <see cref="CountingH2cApp.BarrierPath"/> on a new connection, answered by the app.</summary>
    private static async Task BarrierAsync(AgentFront front, CountingH2cApp app, string when, CancellationToken ct)
    {
        await using var client = await Http2FrameClient.OpenAsync(front.Listen, tls: false, ct);
        await client.SendAsync(ct, client.Request(1, "GET", CountingH2cApp.BarrierPath));
        var answer = await client.ReadStreamAsync(1, Timeouts.Short);
        Assert.True(answer.StatusOf(1) == 200,
            $"{when}: the barrier request on a new connection was not answered; the app accepted {app.Connections} connections, " +
            $"{app.Opened} streams, {app.Resets} reset, {app.Open} open; connection failures: [{app.Failures}]; {answer}");
    }

    /// <summary>Writes the frames; false when the server has already closed the connection, or stopped reading.</summary>
    private static async Task<bool> TryWriteAsync(Http2FrameClient client, byte[][] frames, CancellationToken ct)
    {
        try
        {
            await client.SendAsync(ct, frames);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
