using System.Collections.Concurrent;
using System.Buffers.Binary;
using Microsoft.AspNetCore.Builder;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Issue 11, defects 2 and 5: RFC 9113 stream states seen from a caller, frame by frame. A frame the state forbids is
/// a stream error with the code the RFC names, the connection goes on, and a stream the agent resets is never
/// forwarded to the app.
/// </summary>
public sealed class Http2StreamStateTests(ITestOutputHelper output)
{
    /// <summary>
    /// RFC 9113 §5.1, half-closed (remote): "If an endpoint receives additional frames, other than WINDOW_UPDATE,
    /// PRIORITY, or RST_STREAM, for a stream that is in this state, it MUST respond with a stream error of type
    /// STREAM_CLOSED." Stream 1 is a GET with END_STREAM held by a slow app (so the stream is still open on the
    /// agent's side); a second HEADERS (or a DATA) on it must get RST_STREAM STREAM_CLOSED, and stream 3 is then
    /// answered on the same connection.
    /// </summary>
    [Theory]
    [InlineData(FrontTransport.Tls, "HEADERS")]
    [InlineData(FrontTransport.H2c, "HEADERS")]
    [InlineData(FrontTransport.Tls, "DATA")]
    public async Task AFrameOnAHalfClosedRemoteStreamIsAStreamErrorStreamClosed(FrontTransport transport, string frame)
    {
        var slow = new SlowEndpoint();
        await using var rig = await Http2Rig.StartAsync(output, transport, app: o => o with { Pipeline = slow.Pipeline("the-app") });
        try
        {
            using var cts = new CancellationTokenSource(Timeouts.Short);
            await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, rig.Front.IsTls, cts.Token);
            await client.SendAsync(cts.Token, client.Request(1, "GET", "/slow?id=half-closed"));
            await slow.WaitForArrivalsAsync(1, Timeouts.Short); // the stream is open at the app: half-closed (remote) at the agent

            await client.SendAsync(cts.Token, frame == "HEADERS"
                ? Http2FrameClient.Headers(1, Hpack.Encode([("x-late", "1")]), endStream: true)
                : Http2FrameClient.Data(1, "late"u8, endStream: true));
            var log = await client.ReadStreamAsync(1, Timeouts.Short);

            Assert.True(log.GoAway is null, $"{frame} on a half-closed (remote) stream is a stream error, not a connection error; {log}");
            Assert.True(log.ResetOf(1)?.ErrorCode == H2Error.StreamClosed,
                $"{frame} on a half-closed (remote) stream: expected RST_STREAM STREAM_CLOSED (RFC 9113 §5.1), got {log.ResetOf(1)?.ToString() ?? "no RST_STREAM"}; {log}");

            await client.SendAsync(cts.Token, client.Request(3, "GET", "/after-half-closed"));
            var after = await client.ReadStreamAsync(3, Timeouts.Short);
            Assert.True(after.StatusOf(3) == 200, $"stream 3 on the same connection; {after}");
            Assert.Null(after.GoAway);
        }
        finally
        {
            slow.Open();
        }
    }

    /// <summary>
    /// RFC 9113 §5.3.1: "A stream cannot depend on itself. An endpoint MUST treat this as a stream error of type
    /// PROTOCOL_ERROR." The reset stream is never forwarded: the app records every request it receives; stream 3
    /// (a normal request sent after the reset, on the same connection and the same way to the app) is the signal
    /// that whatever the agent forwarded has arrived, and the app must have seen only stream 3.
    /// </summary>
    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task HeadersThatDependOnTheirOwnStreamAreResetAndNeverForwarded(FrontTransport transport)
    {
        var seen = new ConcurrentQueue<string>();
        await using var rig = await Http2Rig.StartAsync(output, transport, app: o => o with { Pipeline = RecordPaths(seen) });
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, rig.Front.IsTls, cts.Token);

        await client.SendAsync(cts.Token, HeadersWithPriority(1, dependsOn: 1, client.RequestBlock("GET", "/self-dependent")));
        var reset = await client.ReadStreamAsync(1, Timeouts.Short);
        Assert.True(reset.ResetOf(1)?.ErrorCode == H2Error.ProtocolError,
            $"HEADERS depending on its own stream: expected RST_STREAM PROTOCOL_ERROR (RFC 9113 §5.3.1); {reset}");

        await client.SendAsync(cts.Token, client.Request(3, "GET", "/after-self-dependent"));
        var after = await client.ReadStreamAsync(3, Timeouts.Short);

        Assert.True(after.StatusOf(3) == 200, $"stream 3 after the reset; {after}");
        Assert.Null(after.GoAway);
        Assert.True(seen.ToArray() is ["/after-self-dependent"],
            $"the app must receive only stream 3; it received [{string.Join(", ", seen)}]: the reset stream 1 was forwarded; {after}");
        var onStream1 = after.OnStream(1).Where(f => f.Type is FrameType.Headers or FrameType.Data or FrameType.Continuation).ToList();
        Assert.True(onStream1.Count == 0, $"a response was sent on the reset stream 1: {string.Join("; ", onStream1)}");
    }

    /// <summary>Records the path of every request the app receives, then lets the echo answer.</summary>
    internal static Action<IApplicationBuilder> RecordPaths(ConcurrentQueue<string> seen) => app => app.Use(async (context, next) =>
    {
        seen.Enqueue(context.Request.Path + context.Request.QueryString);
        await next(context);
    });

    /// <summary>HEADERS (END_STREAM, END_HEADERS, PRIORITY) whose priority block names <paramref name="dependsOn"/>, weight 16.</summary>
    internal static byte[] HeadersWithPriority(int streamId, int dependsOn, byte[] block)
    {
        var payload = new byte[5 + block.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)dependsOn & 0x7FFFFFFF);
        payload[4] = 15; // weight 16
        block.CopyTo(payload, 5);
        return Http2FrameClient.Frame(FrameType.Headers, (byte)(FrameFlags.EndStream | FrameFlags.EndHeaders | FrameFlags.Priority), streamId, payload);
    }
}
