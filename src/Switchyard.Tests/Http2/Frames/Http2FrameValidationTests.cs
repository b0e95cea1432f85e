using System.Buffers;
using Switchyard.Http2;
using static Switchyard.Tests.Http2.Frames.FrameBytes;

namespace Switchyard.Tests.Http2.Frames;

/// <summary>
/// The RFC 9113 §6 rules the payload readers enforce: each violation raises the error the RFC names, as a
/// connection error (GOAWAY) or a stream error (RST_STREAM) exactly as it says, and the boundary values just
/// inside each rule are accepted.
/// </summary>
public sealed class Http2FrameValidationTests
{
    private const Http2FrameFlags Padded = Http2FrameFlags.Padded;
    private const Http2FrameFlags Priority = Http2FrameFlags.Priority;
    private const Http2FrameFlags Ack = Http2FrameFlags.Ack;

    private static void Decode(byte[] bytes) => Decode(ReadSingle(bytes));

    /// <summary>Decodes a frame with the reader for its type (SETTINGS enumerated to the end).</summary>
    internal static void Decode(in Http2Frame frame)
    {
        switch (frame.Type)
        {
            case Http2FrameType.Data:
                Http2FrameReader.ReadData(frame);
                break;
            case Http2FrameType.Headers:
                Http2FrameReader.ReadHeaders(frame);
                break;
            case Http2FrameType.Priority:
                Http2FrameReader.ReadPriority(frame);
                break;
            case Http2FrameType.RstStream:
                Http2FrameReader.ReadRstStream(frame);
                break;
            case Http2FrameType.Settings:
                Http2SettingsReader reader = Http2FrameReader.ReadSettings(frame);
                while (reader.TryRead(out _, out _))
                {
                }

                break;
            case Http2FrameType.PushPromise:
                Http2FrameReader.ReadPushPromise(frame);
                break;
            case Http2FrameType.Ping:
                Http2FrameReader.ReadPing(frame);
                break;
            case Http2FrameType.GoAway:
                Http2FrameReader.ReadGoAway(frame);
                break;
            case Http2FrameType.WindowUpdate:
                Http2FrameReader.ReadWindowUpdate(frame);
                break;
            case Http2FrameType.Continuation:
                Http2FrameReader.ReadContinuation(frame);
                break;
            default:
                break;
        }
    }

    private static byte[] Setting(Http2SettingId id, uint value) =>
        [(byte)((ushort)id >> 8), (byte)id, (byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    public static TheoryData<string, byte[], Http2ErrorCode> ConnectionErrors() => new()
    {
        // DATA (§6.1)
        { "DATA on stream 0", Raw(Http2FrameType.Data, 0, 0, 1, 2), Http2ErrorCode.ProtocolError },
        { "DATA padded without a Pad Length octet", Raw(Http2FrameType.Data, Padded, 1), Http2ErrorCode.FrameSizeError },
        { "DATA padding = payload length", Raw(Http2FrameType.Data, Padded, 1, 1), Http2ErrorCode.ProtocolError },
        { "DATA padding > payload length", Raw(Http2FrameType.Data, Padded, 1, 5, 0, 0), Http2ErrorCode.ProtocolError },
        { "DATA padding = payload length, longer payload", Raw(Http2FrameType.Data, Padded, 1, 4, 0, 0, 0), Http2ErrorCode.ProtocolError },

        // HEADERS (§6.2): field-block frames, so size errors are connection errors (§4.2)
        { "HEADERS on stream 0", Raw(Http2FrameType.Headers, Http2FrameFlags.EndHeaders, 0, 0x82), Http2ErrorCode.ProtocolError },
        { "HEADERS padded without a Pad Length octet", Raw(Http2FrameType.Headers, Padded, 1), Http2ErrorCode.FrameSizeError },
        { "HEADERS priority shorter than 5", Raw(Http2FrameType.Headers, Priority, 1, 0, 0, 0, 3), Http2ErrorCode.FrameSizeError },
        { "HEADERS padded priority shorter than 6", Raw(Http2FrameType.Headers, Padded | Priority, 1, 0, 0, 0, 0, 3), Http2ErrorCode.FrameSizeError },
        { "HEADERS padding = payload length", Raw(Http2FrameType.Headers, Padded, 1, 3, 0x82, 0x86), Http2ErrorCode.ProtocolError },
        { "HEADERS padding overlapping the priority fields", Raw(Http2FrameType.Headers, Padded | Priority, 1, 2, 0, 0, 0, 0, 15, 0x82), Http2ErrorCode.ProtocolError },

        // PRIORITY (§6.3)
        { "PRIORITY on stream 0", Raw(Http2FrameType.Priority, 0, 0, 0, 0, 0, 1, 15), Http2ErrorCode.ProtocolError },
        { "PRIORITY on stream 0 with a bad length", Raw(Http2FrameType.Priority, 0, 0, 0, 0, 0, 1), Http2ErrorCode.ProtocolError },

        // RST_STREAM (§6.4)
        { "RST_STREAM on stream 0", Raw(Http2FrameType.RstStream, 0, 0, 0, 0, 0, 8), Http2ErrorCode.ProtocolError },
        { "RST_STREAM of 3 octets", Raw(Http2FrameType.RstStream, 0, 1, 0, 0, 8), Http2ErrorCode.FrameSizeError },
        { "RST_STREAM of 5 octets", Raw(Http2FrameType.RstStream, 0, 1, 0, 0, 0, 8, 0), Http2ErrorCode.FrameSizeError },

        // SETTINGS (§6.5, §6.5.2)
        { "SETTINGS on stream 1", Raw(Http2FrameType.Settings, 0, 1), Http2ErrorCode.ProtocolError },
        { "SETTINGS ACK on stream 1", Raw(Http2FrameType.Settings, Ack, 1), Http2ErrorCode.ProtocolError },
        { "SETTINGS of 5 octets", Raw(Http2FrameType.Settings, 0, 0, 0, 3, 0, 0, 0), Http2ErrorCode.FrameSizeError },
        { "SETTINGS of 7 octets", Raw(Http2FrameType.Settings, 0, 0, [.. Setting(Http2SettingId.MaxConcurrentStreams, 1), 0]), Http2ErrorCode.FrameSizeError },
        { "SETTINGS ACK with a payload", Raw(Http2FrameType.Settings, Ack, 0, Setting(Http2SettingId.MaxConcurrentStreams, 1)), Http2ErrorCode.FrameSizeError },
        { "SETTINGS ACK with a partial payload", Raw(Http2FrameType.Settings, Ack, 0, 0), Http2ErrorCode.FrameSizeError },
        { "ENABLE_PUSH 2", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.EnablePush, 2)), Http2ErrorCode.ProtocolError },
        { "ENABLE_PUSH 2^32-1", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.EnablePush, uint.MaxValue)), Http2ErrorCode.ProtocolError },
        { "INITIAL_WINDOW_SIZE 2^31", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.InitialWindowSize, 1u << 31)), Http2ErrorCode.FlowControlError },
        { "INITIAL_WINDOW_SIZE 2^32-1", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.InitialWindowSize, uint.MaxValue)), Http2ErrorCode.FlowControlError },
        { "MAX_FRAME_SIZE 16383", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.MaxFrameSize, 16_383)), Http2ErrorCode.ProtocolError },
        { "MAX_FRAME_SIZE 0", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.MaxFrameSize, 0)), Http2ErrorCode.ProtocolError },
        { "MAX_FRAME_SIZE 2^24", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.MaxFrameSize, 16_777_216)), Http2ErrorCode.ProtocolError },
        {
            "a bad value after good ones",
            Raw(Http2FrameType.Settings, 0, 0, [.. Setting(Http2SettingId.HeaderTableSize, 0), .. Setting((Http2SettingId)0x42, 9), .. Setting(Http2SettingId.EnablePush, 3)]),
            Http2ErrorCode.ProtocolError
        },

        // PUSH_PROMISE (§6.6)
        { "PUSH_PROMISE on stream 0", Raw(Http2FrameType.PushPromise, 0, 0, 0, 0, 0, 2), Http2ErrorCode.ProtocolError },
        { "PUSH_PROMISE shorter than 4", Raw(Http2FrameType.PushPromise, 0, 1, 0, 0, 2), Http2ErrorCode.FrameSizeError },
        { "PUSH_PROMISE padded shorter than 5", Raw(Http2FrameType.PushPromise, Padded, 1, 0, 0, 0, 2), Http2ErrorCode.FrameSizeError },
        { "PUSH_PROMISE padding overlapping the promised id", Raw(Http2FrameType.PushPromise, Padded, 1, 1, 0, 0, 0, 2), Http2ErrorCode.ProtocolError },

        // PING (§6.7)
        { "PING on stream 1", Raw(Http2FrameType.Ping, 0, 1, new byte[8]), Http2ErrorCode.ProtocolError },
        { "PING ACK on stream 1", Raw(Http2FrameType.Ping, Ack, 1, new byte[8]), Http2ErrorCode.ProtocolError },
        { "PING of 7 octets", Raw(Http2FrameType.Ping, 0, 0, new byte[7]), Http2ErrorCode.FrameSizeError },
        { "PING of 9 octets", Raw(Http2FrameType.Ping, 0, 0, new byte[9]), Http2ErrorCode.FrameSizeError },
        { "PING ACK of 0 octets", Raw(Http2FrameType.Ping, Ack, 0), Http2ErrorCode.FrameSizeError },

        // GOAWAY (§6.8)
        { "GOAWAY on stream 1", Raw(Http2FrameType.GoAway, 0, 1, new byte[8]), Http2ErrorCode.ProtocolError },
        { "GOAWAY of 7 octets", Raw(Http2FrameType.GoAway, 0, 0, new byte[7]), Http2ErrorCode.FrameSizeError },

        // WINDOW_UPDATE (§6.9)
        { "WINDOW_UPDATE of 3 octets on stream 0", Raw(Http2FrameType.WindowUpdate, 0, 0, 0, 0, 1), Http2ErrorCode.FrameSizeError },
        { "WINDOW_UPDATE of 5 octets on a stream", Raw(Http2FrameType.WindowUpdate, 0, 1, 0, 0, 0, 1, 0), Http2ErrorCode.FrameSizeError },
        { "WINDOW_UPDATE of 0 octets on a stream", Raw(Http2FrameType.WindowUpdate, 0, 1), Http2ErrorCode.FrameSizeError },
        { "WINDOW_UPDATE increment 0 on the connection", Raw(Http2FrameType.WindowUpdate, 0, 0, 0, 0, 0, 0), Http2ErrorCode.ProtocolError },
        { "WINDOW_UPDATE increment 0 (reserved bit set) on the connection", Raw(Http2FrameType.WindowUpdate, 0, 0, 0x80, 0, 0, 0), Http2ErrorCode.ProtocolError },

        // CONTINUATION (§6.10)
        { "CONTINUATION on stream 0", Raw(Http2FrameType.Continuation, Http2FrameFlags.EndHeaders, 0, 0x82), Http2ErrorCode.ProtocolError },
    };

    [Theory]
    [MemberData(nameof(ConnectionErrors))]
    public void ConnectionError(string rule, byte[] frame, Http2ErrorCode code)
    {
        var e = Assert.Throws<Http2ConnectionException>(() => Decode(frame));
        Assert.True(code == e.Code, $"{rule}: {e.Code} instead of {code} ({e.Message})");
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    public static TheoryData<string, byte[], int, Http2ErrorCode> StreamErrors() => new()
    {
        { "PRIORITY of 4 octets", Raw(Http2FrameType.Priority, 0, 3, 0, 0, 0, 1), 3, Http2ErrorCode.FrameSizeError },
        { "PRIORITY of 6 octets", Raw(Http2FrameType.Priority, 0, 3, 0, 0, 0, 1, 15, 0), 3, Http2ErrorCode.FrameSizeError },
        { "PRIORITY of 0 octets", Raw(Http2FrameType.Priority, 0, 5), 5, Http2ErrorCode.FrameSizeError },
        { "PRIORITY depending on itself", Raw(Http2FrameType.Priority, 0, 3, 0, 0, 0, 3, 15), 3, Http2ErrorCode.ProtocolError },
        { "PRIORITY depending on itself, exclusively", Raw(Http2FrameType.Priority, 0, 3, 0x80, 0, 0, 3, 15), 3, Http2ErrorCode.ProtocolError },
        { "WINDOW_UPDATE increment 0 on a stream", Raw(Http2FrameType.WindowUpdate, 0, 7, 0, 0, 0, 0), 7, Http2ErrorCode.ProtocolError },
        { "WINDOW_UPDATE increment 0 (reserved bit set) on a stream", Raw(Http2FrameType.WindowUpdate, 0, 7, 0x80, 0, 0, 0), 7, Http2ErrorCode.ProtocolError },
    };

    [Theory]
    [MemberData(nameof(StreamErrors))]
    public void StreamError(string rule, byte[] frame, int streamId, Http2ErrorCode code)
    {
        var e = Assert.Throws<Http2StreamException>(() => Decode(frame));
        Assert.True(code == e.Code, $"{rule}: {e.Code} instead of {code} ({e.Message})");
        Assert.Equal(streamId, e.StreamId);
    }

    public static TheoryData<string, byte[]> Accepted() => new()
    {
        { "DATA padding = payload length - 1 (no data)", Raw(Http2FrameType.Data, Padded, 1, 3, 0, 0, 0) },
        { "DATA padded with a Pad Length of 0 only", Raw(Http2FrameType.Data, Padded, 1, 0) },
        { "DATA empty", Raw(Http2FrameType.Data, 0, 1) },
        { "HEADERS padding filling all but the priority fields", Raw(Http2FrameType.Headers, Padded | Priority, 1, 2, 0, 0, 0, 0, 15, 0, 0) },
        { "HEADERS priority alone", Raw(Http2FrameType.Headers, Priority, 1, 0, 0, 0, 0, 15) },
        { "HEADERS depending on itself (the caller's check, after HPACK)", Raw(Http2FrameType.Headers, Priority | Http2FrameFlags.EndHeaders, 1, 0, 0, 0, 1, 15, 0x82) },
        { "HEADERS empty", Raw(Http2FrameType.Headers, 0, 1) },
        { "PRIORITY on a stream depending on 0", Raw(Http2FrameType.Priority, 0, 3, 0, 0, 0, 0, 15) },
        { "RST_STREAM with an unknown code", Raw(Http2FrameType.RstStream, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF) },
        { "SETTINGS empty", Raw(Http2FrameType.Settings, 0, 0) },
        { "ENABLE_PUSH 0", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.EnablePush, 0)) },
        { "ENABLE_PUSH 1", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.EnablePush, 1)) },
        { "INITIAL_WINDOW_SIZE 0", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.InitialWindowSize, 0)) },
        { "INITIAL_WINDOW_SIZE 2^31-1", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.InitialWindowSize, int.MaxValue)) },
        { "MAX_FRAME_SIZE 16384", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.MaxFrameSize, 16_384)) },
        { "MAX_FRAME_SIZE 2^24-1", Raw(Http2FrameType.Settings, 0, 0, Setting(Http2SettingId.MaxFrameSize, 16_777_215)) },
        { "HEADER_TABLE_SIZE, MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE 2^32-1", Raw(Http2FrameType.Settings, 0, 0, [.. Setting(Http2SettingId.HeaderTableSize, uint.MaxValue), .. Setting(Http2SettingId.MaxConcurrentStreams, uint.MaxValue), .. Setting(Http2SettingId.MaxHeaderListSize, uint.MaxValue)]) },
        { "unknown setting with any value", Raw(Http2FrameType.Settings, 0, 0, Setting((Http2SettingId)0xFFFF, uint.MaxValue)) },
        { "PUSH_PROMISE with only the promised id", Raw(Http2FrameType.PushPromise, 0, 1, 0, 0, 0, 2) },
        { "PUSH_PROMISE padding filling the rest", Raw(Http2FrameType.PushPromise, Padded, 1, 1, 0, 0, 0, 2, 0) },
        { "GOAWAY of exactly 8 octets", Raw(Http2FrameType.GoAway, 0, 0, new byte[8]) },
        { "WINDOW_UPDATE 2^31-1 on the connection", Raw(Http2FrameType.WindowUpdate, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF) },
        { "WINDOW_UPDATE 1 on a stream", Raw(Http2FrameType.WindowUpdate, 0, 9, 0, 0, 0, 1) },
        { "CONTINUATION empty", Raw(Http2FrameType.Continuation, 0, 1) },
        { "unknown type on stream 0 with any length", Raw(Http2FrameType.Continuation + 1, 0, 0, 1, 2, 3) },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void BoundaryValuesAreAccepted(string rule, byte[] frame)
    {
        Exception? error = Record.Exception(() => Decode(frame));
        Assert.True(error is null, $"{rule}: {error?.Message}");
    }

    [Fact]
    public void PaddedDataExposesOnlyTheData()
    {
        Http2Frame frame = ReadSingle(Raw(Http2FrameType.Data, Padded | Http2FrameFlags.EndStream, 1, 2, 0xAA, 0xBB, 0, 0));
        Assert.Equal(new byte[] { 0xAA, 0xBB }, Http2FrameReader.ReadData(frame).ToArray());
    }

    [Fact]
    public void HeadersDependingOnItselfIsReportedForTheCaller()
    {
        Http2Frame frame = ReadSingle(Raw(Http2FrameType.Headers, Priority | Http2FrameFlags.EndHeaders, 1, 0x80, 0, 0, 1, 15, 0x82));
        HeadersPayload payload = Http2FrameReader.ReadHeaders(frame);
        Assert.Equal(new PriorityPayload(1, true, 15), payload.Priority);
        Assert.Equal(frame.StreamId, payload.StreamDependency);
        Assert.Equal(new byte[] { 0x82 }, payload.Fragment.ToArray());
    }
}
