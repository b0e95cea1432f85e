using System.Buffers;
using Switchyard.Http2;
using static Switchyard.Tests.Http2.Frames.FrameBytes;

namespace Switchyard.Tests.Http2.Frames;

/// <summary>
/// Every frame type written by <see cref="Http2FrameWriter"/> with each combination of its flags and fields, read
/// back by <see cref="Http2FrameReader"/> whole and cut into segments of several sizes (fields straddling
/// segment boundaries included).
/// </summary>
public sealed class Http2FrameRoundTripTests
{
    private static readonly int[] SegmentSizes = [int.MaxValue, 1, 2, 3, 5, 9, 10, 13];

    /// <summary>Reads the bytes as exactly one frame at every segment size and hands each reading to <paramref name="check"/>.</summary>
    private static void ForEachReading(byte[] bytes, Action<Http2Frame> check, int maxFrameSize = MaxFrameSize)
    {
        foreach (int size in SegmentSizes)
        {
            List<Http2Frame> frames = ReadAll(bytes, size, maxFrameSize);
            Assert.Single(frames);
            check(frames[0]);
        }
    }

    public static TheoryData<int, bool, int> DataCases()
    {
        var cases = new TheoryData<int, bool, int>();
        foreach (int length in new[] { 0, 1, 100, 4096 })
        {
            foreach (bool endStream in new[] { false, true })
            {
                foreach (int pad in new[] { -1, 0, 1, 255 })
                {
                    cases.Add(length, endStream, pad);
                }
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(DataCases))]
    public void Data(int length, bool endStream, int pad)
    {
        byte[] data = Pattern(length);
        byte? padLength = pad < 0 ? null : (byte)pad;
        byte[] fromSpan = Write(o => Http2FrameWriter.WriteData(o, 5, data, endStream, padLength));
        byte[] fromSequence = Write(o => Http2FrameWriter.WriteData(o, 5, TestSupport.Segments.Split(data, 7), endStream, padLength));
        Assert.Equal(fromSpan, fromSequence);

        Http2FrameFlags flags = (endStream ? Http2FrameFlags.EndStream : 0) | (pad >= 0 ? Http2FrameFlags.Padded : 0);
        ForEachReading(fromSpan, frame =>
        {
            Assert.Equal(new Http2FrameHeader(length + (pad >= 0 ? 1 + pad : 0), Http2FrameType.Data, flags, 5), frame.Header);
            Assert.Equal(data, Http2FrameReader.ReadData(frame).ToArray());
        });
    }

    public static TheoryData<int, bool, int, int> HeadersCases()
    {
        var cases = new TheoryData<int, bool, int, int>();
        foreach (int length in new[] { 0, 1, 300 })
        {
            foreach (bool endStream in new[] { false, true })
            {
                for (int priority = 0; priority < Priorities.Length; priority++)
                {
                    foreach (int pad in new[] { -1, 0, 1, 200 })
                    {
                        cases.Add(length, endStream, priority, pad);
                    }
                }
            }
        }

        return cases;
    }

    private static readonly PriorityPayload?[] Priorities =
    [
        null,
        new PriorityPayload(0, false, 0),
        new PriorityPayload(7, true, 255),
        new PriorityPayload(int.MaxValue, false, 15),
    ];

    [Theory]
    [MemberData(nameof(HeadersCases))]
    public void Headers(int length, bool endStream, int priorityCase, int pad)
    {
        byte[] block = Pattern(length, 3);
        PriorityPayload? priority = Priorities[priorityCase];
        byte[] bytes = Write(o => Http2FrameWriter.WriteHeaders(o, 9, block, endStream, MaxFrameSize, priority, pad < 0 ? null : (byte)pad));

        Http2FrameFlags flags = Http2FrameFlags.EndHeaders
            | (endStream ? Http2FrameFlags.EndStream : 0)
            | (priority is null ? 0 : Http2FrameFlags.Priority)
            | (pad >= 0 ? Http2FrameFlags.Padded : 0);
        int expectedLength = length + (priority is null ? 0 : 5) + (pad >= 0 ? 1 + pad : 0);
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(expectedLength, Http2FrameType.Headers, flags, 9), frame.Header);
            HeadersPayload payload = Http2FrameReader.ReadHeaders(frame);
            Assert.Equal(priority is not null, payload.HasPriority);
            Assert.Equal(priority ?? new PriorityPayload(0, false, 0), payload.Priority);
            Assert.Equal(block, payload.Fragment.ToArray());
        });
    }

    [Theory]
    [InlineData(1, 0, false, (byte)0)]
    [InlineData(3, 1, true, (byte)255)]
    [InlineData(int.MaxValue, int.MaxValue - 2, false, (byte)16)]
    [InlineData(5, int.MaxValue, true, (byte)0)]
    public void Priority(int streamId, int dependency, bool exclusive, byte weight)
    {
        var priority = new PriorityPayload(dependency, exclusive, weight);
        byte[] bytes = Write(o => Http2FrameWriter.WritePriority(o, streamId, priority));
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(5, Http2FrameType.Priority, Http2FrameFlags.None, streamId), frame.Header);
            Assert.Equal(priority, Http2FrameReader.ReadPriority(frame));
        });
    }

    public static TheoryData<uint> ErrorCodes()
    {
        var codes = new TheoryData<uint>();
        foreach (Http2ErrorCode code in Enum.GetValues<Http2ErrorCode>())
        {
            codes.Add((uint)code);
        }

        codes.Add(0x0E); // the first unassigned code
        codes.Add(uint.MaxValue);
        return codes;
    }

    [Theory]
    [MemberData(nameof(ErrorCodes))]
    public void RstStream(uint code)
    {
        byte[] bytes = Write(o => Http2FrameWriter.WriteRstStream(o, 11, (Http2ErrorCode)code));
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(4, Http2FrameType.RstStream, Http2FrameFlags.None, 11), frame.Header);
            Assert.Equal((Http2ErrorCode)code, Http2FrameReader.ReadRstStream(frame));
        });
    }

    public static TheoryData<int> SettingsCases() => new() { 0, 1, 2, 3 };

    private static readonly (Http2SettingId Id, uint Value)[][] SettingsSets =
    [
        [],
        [(Http2SettingId.MaxFrameSize, 16_384)],
        [
            (Http2SettingId.HeaderTableSize, 4096),
            (Http2SettingId.EnablePush, 0),
            (Http2SettingId.MaxConcurrentStreams, 128),
            (Http2SettingId.InitialWindowSize, 65_535),
            (Http2SettingId.MaxFrameSize, 16_777_215),
            (Http2SettingId.MaxHeaderListSize, uint.MaxValue),
        ],
        [
            ((Http2SettingId)0x99, uint.MaxValue), // unknown ids and their values pass through untouched
            (Http2SettingId.EnablePush, 1),
            (Http2SettingId.InitialWindowSize, int.MaxValue),
            ((Http2SettingId)0, 7),
            (Http2SettingId.HeaderTableSize, 0),
        ],
    ];

    [Theory]
    [MemberData(nameof(SettingsCases))]
    public void Settings(int set)
    {
        (Http2SettingId Id, uint Value)[] settings = SettingsSets[set];
        byte[] bytes = Write(o => Http2FrameWriter.WriteSettings(o, settings));
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(settings.Length * 6, Http2FrameType.Settings, Http2FrameFlags.None, 0), frame.Header);
            Http2SettingsReader reader = Http2FrameReader.ReadSettings(frame);
            Assert.False(reader.IsAck);
            Assert.Equal(settings.Length, reader.Count);
            var read = new List<(Http2SettingId, uint)>();
            while (reader.TryRead(out Http2SettingId id, out uint value))
            {
                read.Add((id, value));
            }

            Assert.Equal(settings, read);
            Assert.False(reader.TryRead(out _, out _)); // stays at the end
        });
    }

    [Fact]
    public void SettingsAck()
    {
        byte[] bytes = Write(Http2FrameWriter.WriteSettingsAck);
        Assert.Equal(new byte[] { 0, 0, 0, 4, 1, 0, 0, 0, 0 }, bytes);
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(0, Http2FrameType.Settings, Http2FrameFlags.Ack, 0), frame.Header);
            Http2FrameReader.ReadSettingsAck(frame);
            Http2SettingsReader reader = Http2FrameReader.ReadSettings(frame);
            Assert.True(reader.IsAck);
            Assert.Equal(0, reader.Count);
            Assert.False(reader.TryRead(out _, out _));
        });
    }

    public static TheoryData<int, int, int> PushPromiseCases()
    {
        var cases = new TheoryData<int, int, int>();
        foreach (int promised in new[] { 2, int.MaxValue - 1 })
        {
            foreach (int length in new[] { 0, 50 })
            {
                foreach (int pad in new[] { -1, 0, 3 })
                {
                    cases.Add(promised, length, pad);
                }
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(PushPromiseCases))]
    public void PushPromise(int promised, int length, int pad)
    {
        byte[] block = Pattern(length, 5);
        byte[] bytes = Write(o => Http2FrameWriter.WritePushPromise(o, 1, promised, block, MaxFrameSize, pad < 0 ? null : (byte)pad));
        Http2FrameFlags flags = Http2FrameFlags.EndHeaders | (pad >= 0 ? Http2FrameFlags.Padded : 0);
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(4 + length + (pad >= 0 ? 1 + pad : 0), Http2FrameType.PushPromise, flags, 1), frame.Header);
            PushPromisePayload payload = Http2FrameReader.ReadPushPromise(frame);
            Assert.Equal(promised, payload.PromisedStreamId);
            Assert.Equal(block, payload.Fragment.ToArray());
        });
    }

    [Theory]
    [InlineData(false, 0UL)]
    [InlineData(true, 0UL)]
    [InlineData(false, 0x0102030405060708UL)]
    [InlineData(true, ulong.MaxValue)]
    public void Ping(bool ack, ulong opaque)
    {
        byte[] bytes = Write(o => Http2FrameWriter.WritePing(o, ack, opaque));
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(8, Http2FrameType.Ping, ack ? Http2FrameFlags.Ack : 0, 0), frame.Header);
            Assert.Equal(opaque, Http2FrameReader.ReadPing(frame));
        });
    }

    [Theory]
    [InlineData(0, Http2ErrorCode.NoError, "")]
    [InlineData(5, Http2ErrorCode.EnhanceYourCalm, "abuse limit: rapid_reset")]
    [InlineData(int.MaxValue, (Http2ErrorCode)0x1234, "x")]
    public void GoAway(int lastStreamId, Http2ErrorCode code, string debug)
    {
        byte[] debugData = System.Text.Encoding.ASCII.GetBytes(debug);
        byte[] bytes = Write(o => Http2FrameWriter.WriteGoAway(o, lastStreamId, code, debugData));
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(8 + debugData.Length, Http2FrameType.GoAway, Http2FrameFlags.None, 0), frame.Header);
            GoAwayPayload payload = Http2FrameReader.ReadGoAway(frame);
            Assert.Equal(lastStreamId, payload.LastStreamId);
            Assert.Equal(code, payload.ErrorCode);
            Assert.Equal(debugData, payload.DebugData.ToArray());
        });
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, int.MaxValue)]
    [InlineData(1, 65_535)]
    [InlineData(int.MaxValue, int.MaxValue)]
    public void WindowUpdate(int streamId, int increment)
    {
        byte[] bytes = Write(o => Http2FrameWriter.WriteWindowUpdate(o, streamId, increment));
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(4, Http2FrameType.WindowUpdate, Http2FrameFlags.None, streamId), frame.Header);
            Assert.Equal(increment, Http2FrameReader.ReadWindowUpdate(frame));
        });
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 0)]
    [InlineData(false, 10)]
    [InlineData(true, 10)]
    public void Continuation(bool endHeaders, int length)
    {
        byte[] fragment = Pattern(length, 9);
        byte[] bytes = Write(o => Http2FrameWriter.WriteContinuation(o, 7, fragment, endHeaders));
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(length, Http2FrameType.Continuation, endHeaders ? Http2FrameFlags.EndHeaders : 0, 7), frame.Header);
            Assert.Equal(fragment, Http2FrameReader.ReadContinuation(frame).ToArray());
        });
    }

    [Theory]
    [InlineData((byte)0x0A, (byte)0x00, 0u, 0)]
    [InlineData((byte)0x10, (byte)0xFF, 3u, 17)]
    [InlineData((byte)0xFF, (byte)0x2D, 0xFFFF_FFFFu, 1)] // reserved bit set: ignored
    public void UnknownTypesAreReadAsFrames(byte type, byte flags, uint streamId, int length)
    {
        byte[] payload = Pattern(length, 11);
        byte[] bytes = Raw(length, type, flags, streamId, payload);
        ForEachReading(bytes, frame =>
        {
            Assert.Equal(new Http2FrameHeader(length, (Http2FrameType)type, (Http2FrameFlags)flags, (int)(streamId & 0x7FFF_FFFF)), frame.Header);
            Assert.False(Enum.IsDefined(frame.Type));
            Assert.Equal(payload, frame.Payload.ToArray());
        });
    }

    [Fact]
    public void ReservedBitsAreIgnoredOnReceipt()
    {
        // Stream id, PRIORITY/HEADERS dependency (the E bit is separate), PUSH_PROMISE promised id, GOAWAY last id, WINDOW_UPDATE increment.
        Assert.Equal(1, ReadSingle(Raw(Http2FrameType.Ping, 0, 0x8000_0001, new byte[8])).StreamId);
        Assert.Equal(6, Http2FrameReader.ReadPushPromise(ReadSingle(Raw(Http2FrameType.PushPromise, 0, 1, 0x80, 0, 0, 6))).PromisedStreamId);
        Assert.Equal(9, Http2FrameReader.ReadGoAway(ReadSingle(Raw(Http2FrameType.GoAway, 0, 0, 0x80, 0, 0, 9, 0, 0, 0, 0))).LastStreamId);
        Assert.Equal(1, Http2FrameReader.ReadWindowUpdate(ReadSingle(Raw(Http2FrameType.WindowUpdate, 0, 0, 0x80, 0, 0, 1))));
        Assert.Equal(new PriorityPayload(0x7FFF_FFFF, true, 1), Http2FrameReader.ReadPriority(ReadSingle(Raw(Http2FrameType.Priority, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 1))));
    }

    [Fact]
    public void UndefinedFlagsAreIgnored()
    {
        // DATA with every flag set but PADDED: END_STREAM reads back, PRIORITY/END_HEADERS mean nothing for DATA.
        byte[] data = Raw(Http2FrameType.Data, (Http2FrameFlags)0xF7, 1, 1, 2, 3);
        Http2Frame frame = ReadSingle(data);
        Assert.True(frame.Header.HasFlag(Http2FrameFlags.EndStream));
        Assert.Equal(new byte[] { 1, 2, 3 }, Http2FrameReader.ReadData(frame).ToArray());

        // PING and WINDOW_UPDATE with stray flags.
        Assert.Equal(0x0102030405060708UL, Http2FrameReader.ReadPing(ReadSingle(Raw(Http2FrameType.Ping, (Http2FrameFlags)0xFE, 0, 1, 2, 3, 4, 5, 6, 7, 8))));
        Assert.Equal(5, Http2FrameReader.ReadWindowUpdate(ReadSingle(Raw(Http2FrameType.WindowUpdate, (Http2FrameFlags)0xFF, 3, 0, 0, 0, 5))));
    }

    [Fact]
    public void SeveralFramesInOneBufferComeOutInOrder()
    {
        byte[] bytes = Write(o =>
        {
            Http2FrameWriter.WriteSettings(o, [(Http2SettingId.MaxConcurrentStreams, 100)]);
            Http2FrameWriter.WriteWindowUpdate(o, 0, 1_000_000);
            Http2FrameWriter.WriteHeaders(o, 1, Pattern(20), endStream: false, MaxFrameSize);
            Http2FrameWriter.WriteData(o, 1, Pattern(33), endStream: true);
            Http2FrameWriter.WritePing(o, ack: false, 42);
            Http2FrameWriter.WriteRstStream(o, 1, Http2ErrorCode.Cancel);
            Http2FrameWriter.WriteGoAway(o, 1, Http2ErrorCode.NoError, default);
        });

        foreach (int size in SegmentSizes)
        {
            List<Http2Frame> frames = ReadAll(bytes, size);
            Assert.Equal(
                [Http2FrameType.Settings, Http2FrameType.WindowUpdate, Http2FrameType.Headers, Http2FrameType.Data, Http2FrameType.Ping, Http2FrameType.RstStream, Http2FrameType.GoAway],
                frames.Select(f => f.Type));
            Assert.Equal(Pattern(33), Http2FrameReader.ReadData(frames[3]).ToArray());
            Assert.Equal(42UL, Http2FrameReader.ReadPing(frames[4]));
        }
    }
}
