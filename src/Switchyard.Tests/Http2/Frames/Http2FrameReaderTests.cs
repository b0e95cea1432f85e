using System.Buffers;
using Switchyard.Http2;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Http2.Frames.FrameBytes;

namespace Switchyard.Tests.Http2.Frames;

/// <summary>
/// <see cref="Http2FrameReader.TryReadFrame"/> on incomplete input ("need more =&gt; consume nothing"), on frames
/// larger than SETTINGS_MAX_FRAME_SIZE, and the connection preface.
/// </summary>
public sealed class Http2FrameReaderTests
{
    /// <summary>One frame of each type, padded and prioritised where the type allows, plus an unknown type.</summary>
    public static TheoryData<string, byte[]> SampleFrames() => new()
    {
        { "DATA", Write(o => Http2FrameWriter.WriteData(o, 1, Pattern(20), endStream: true)) },
        { "DATA padded", Write(o => Http2FrameWriter.WriteData(o, 1, Pattern(20), endStream: false, padLength: 4)) },
        { "DATA empty", Write(o => Http2FrameWriter.WriteData(o, 1, ReadOnlySpan<byte>.Empty, endStream: true)) },
        { "HEADERS", Write(o => Http2FrameWriter.WriteHeaders(o, 3, Pattern(17), endStream: false, MaxFrameSize)) },
        { "HEADERS priority padded", Write(o => Http2FrameWriter.WriteHeaders(o, 3, Pattern(17), endStream: true, MaxFrameSize, new PriorityPayload(1, true, 9), 3)) },
        { "PRIORITY", Write(o => Http2FrameWriter.WritePriority(o, 5, new PriorityPayload(3, false, 200))) },
        { "RST_STREAM", Write(o => Http2FrameWriter.WriteRstStream(o, 5, Http2ErrorCode.Cancel)) },
        { "SETTINGS", Write(o => Http2FrameWriter.WriteSettings(o, [(Http2SettingId.EnablePush, 0), (Http2SettingId.MaxFrameSize, 20_000)])) },
        { "SETTINGS ACK", Write(Http2FrameWriter.WriteSettingsAck) },
        { "PUSH_PROMISE padded", Write(o => Http2FrameWriter.WritePushPromise(o, 1, 2, Pattern(9), MaxFrameSize, 2)) },
        { "PING", Write(o => Http2FrameWriter.WritePing(o, ack: false, 0xDEAD_BEEF)) },
        { "GOAWAY", Write(o => Http2FrameWriter.WriteGoAway(o, 7, Http2ErrorCode.ProtocolError, "oops"u8)) },
        { "WINDOW_UPDATE", Write(o => Http2FrameWriter.WriteWindowUpdate(o, 0, 65_535)) },
        { "CONTINUATION", Write(o => Http2FrameWriter.WriteContinuation(o, 3, Pattern(6), endHeaders: true)) },
        { "unknown type", Raw(5, 0xBE, 0xEF, 9, Pattern(5)) },
    };

    private static void AssertNeedsMore(ReadOnlySequence<byte> buffer, string because)
    {
        ReadOnlySequence<byte> before = buffer;
        Assert.False(Http2FrameReader.TryReadFrame(ref buffer, MaxFrameSize, out Http2Frame frame), because);
        Assert.Equal(before.Start, buffer.Start);
        Assert.Equal(before.End, buffer.End);
        Assert.Equal(default(Http2FrameHeader), frame.Header);
    }

    [Theory]
    [MemberData(nameof(SampleFrames))]
    public void EveryPrefixNeedsMoreAndConsumesNothing(string name, byte[] bytes)
    {
        for (int length = 0; length < bytes.Length; length++)
        {
            byte[] prefix = bytes[..length];
            AssertNeedsMore(new ReadOnlySequence<byte>(prefix), $"{name}: contiguous prefix of {length}");
            AssertNeedsMore(Segments.Split(prefix, 1), $"{name}: prefix of {length} in 1-byte segments");
            for (int cut = 0; cut <= length; cut++)
            {
                AssertNeedsMore(Segments.Of(prefix[..cut], prefix[cut..]), $"{name}: prefix of {length} cut at {cut}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(SampleFrames))]
    public void TheWholeFrameIsReadAtEveryCutAndTheRestIsLeft(string name, byte[] bytes)
    {
        byte[] next = Write(o => Http2FrameWriter.WritePing(o, ack: true, 1))[..5]; // the start of a following frame
        byte[] input = [.. bytes, .. next];
        Http2Frame expected = ReadSingle(bytes);
        byte[] expectedPayload = expected.Payload.ToArray();
        for (int cut = 0; cut <= input.Length; cut++)
        {
            foreach (ReadOnlySequence<byte> sequence in new[] { Segments.Of(input[..cut], input[cut..]), Segments.Of(input[..cut], input[cut..Math.Max(cut, input.Length - 2)], input[Math.Max(cut, input.Length - 2)..]) })
            {
                ReadOnlySequence<byte> buffer = sequence;
                Assert.True(Http2FrameReader.TryReadFrame(ref buffer, MaxFrameSize, out Http2Frame frame), $"{name} cut at {cut}");
                Assert.Equal(expected.Header, frame.Header);
                Assert.Equal(expectedPayload, frame.Payload.ToArray());
                Assert.Equal(next, buffer.ToArray());

                // The rest is a prefix: it needs more and stays put.
                AssertNeedsMore(buffer, $"{name}: the following partial frame");
            }
        }
    }

    [Fact]
    public void EveryFrameFromSegmentsOfOneByte()
    {
        byte[] all = [.. SampleFrames().SelectMany(row => (byte[])row[1])];
        List<Http2Frame> frames = ReadAll(all, 1);
        Assert.Equal(SampleFrames().Count(), frames.Count);
    }

    [Fact]
    public void EmptyBufferNeedsMore() => AssertNeedsMore(ReadOnlySequence<byte>.Empty, "empty");

    [Theory]
    [InlineData(16_384, 16_385)]
    [InlineData(16_384, 0xFF_FFFF)]
    [InlineData(100_000, 100_001)]
    [InlineData(16_777_214, 16_777_215)]
    public void ALengthOverMaxFrameSizeIsAFrameSizeErrorAsSoonAsTheHeaderIsThere(int maxFrameSize, int length)
    {
        byte[] header = Raw(length, (byte)Http2FrameType.Data, 0, 1, []); // 9 octets, no payload yet
        foreach (ReadOnlySequence<byte> sequence in new[] { new ReadOnlySequence<byte>(header), Segments.Split(header, 1), Segments.Of(header[..4], header[4..]) })
        {
            ReadOnlySequence<byte> buffer = sequence;
            var e = Assert.Throws<Http2ConnectionException>(() => Http2FrameReader.TryReadFrame(ref buffer, maxFrameSize, out _));
            Assert.Equal(Http2ErrorCode.FrameSizeError, e.Code);
        }

        // Fewer than 9 octets: not known yet.
        AssertNeedsMoreWith(header[..8], maxFrameSize);
    }

    [Theory]
    [InlineData(16_384, 16_384)]
    [InlineData(16_777_215, 16_777_215)]
    [InlineData(100_000, 70_000)]
    public void ALengthUpToMaxFrameSizeWaitsForThePayload(int maxFrameSize, int length)
    {
        byte[] header = Raw(length, (byte)Http2FrameType.Data, 0, 1, []);
        AssertNeedsMoreWith(header, maxFrameSize);
        AssertNeedsMoreWith([.. header, .. new byte[length - 1]], maxFrameSize);

        var buffer = new ReadOnlySequence<byte>([.. header, .. new byte[length]]);
        Assert.True(Http2FrameReader.TryReadFrame(ref buffer, maxFrameSize, out Http2Frame frame));
        Assert.Equal(length, frame.Header.Length);
        Assert.Equal(length, frame.Payload.Length);
    }

    private static void AssertNeedsMoreWith(byte[] bytes, int maxFrameSize)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.False(Http2FrameReader.TryReadFrame(ref buffer, maxFrameSize, out _));
        Assert.Equal(bytes.Length, buffer.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16_383)]
    [InlineData(16_777_216)]
    public void OurMaxFrameSizeMustBeALegalSetting(int maxFrameSize)
    {
        var buffer = new ReadOnlySequence<byte>(new byte[9]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Http2FrameReader.TryReadFrame(ref buffer, maxFrameSize, out _));
    }

    [Fact]
    public void PayloadReadersRejectOtherFrameTypes()
    {
        Http2Frame ping = ReadSingle(Write(o => Http2FrameWriter.WritePing(o, false, 1)));
        Http2Frame data = ReadSingle(Write(o => Http2FrameWriter.WriteData(o, 1, Pattern(4), false)));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadData(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadHeaders(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadPriority(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadRstStream(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadSettings(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadSettingsAck(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadPushPromise(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadPing(data));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadGoAway(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadWindowUpdate(ping));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadContinuation(ping));

        // A SETTINGS without ACK is not an acknowledgement.
        Http2Frame settings = ReadSingle(Write(o => Http2FrameWriter.WriteSettings(o, [])));
        Assert.Throws<ArgumentException>(() => Http2FrameReader.ReadSettingsAck(settings));
    }

    [Fact]
    public void SettingsEntriesStraddlingSegmentsAreEnumeratedInOrder()
    {
        (Http2SettingId, uint)[] settings = [.. Enumerable.Range(0, 40).Select(i => ((Http2SettingId)(i * 7 % 11), (uint)(i * 1_000_003 % 16_384)))];
        settings = [.. settings.Where(s => s.Item1 is not (Http2SettingId.EnablePush or Http2SettingId.MaxFrameSize))];
        byte[] bytes = Write(o => Http2FrameWriter.WriteSettings(o, settings));
        foreach (int size in new[] { 1, 4, 5, 7, 11 })
        {
            Http2Frame frame = Assert.Single(ReadAll(bytes, size));
            var reader = new Http2SettingsReader(frame);
            Assert.Equal(settings.Length, reader.Count);
            int i = 0;
            while (reader.TryRead(out Http2SettingId id, out uint value))
            {
                Assert.Equal(settings[i++], (id, value));
            }

            Assert.Equal(settings.Length, i);
        }
    }

    // ---------------------------------------------------------------- connection preface

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    [Fact]
    public void ThePrefaceIsTheRfcBytes() => Assert.Equal(Preface, Http2FrameWriter.ClientPreface.ToArray());

    [Fact]
    public void AWholePrefaceIsConsumedAndTheFramesAfterItRemain()
    {
        byte[] settings = Write(o => Http2FrameWriter.WriteSettings(o, []));
        byte[] input = [.. Preface, .. settings];
        for (int cut = 0; cut <= input.Length; cut++)
        {
            ReadOnlySequence<byte> buffer = Segments.Of(input[..cut], input[cut..]);
            Assert.True(Http2FrameReader.TryReadPreface(ref buffer, out bool valid));
            Assert.True(valid);
            Assert.Equal(settings, buffer.ToArray());
        }

        ReadOnlySequence<byte> bytewise = Segments.Split(input, 1);
        Assert.True(Http2FrameReader.TryReadPreface(ref bytewise, out bool ok));
        Assert.True(ok);
        Assert.Equal(settings.Length, bytewise.Length);
    }

    [Fact]
    public void APartialPrefaceNeedsMoreAndConsumesNothing()
    {
        for (int length = 0; length < Preface.Length; length++)
        {
            byte[] prefix = Preface[..length];
            foreach (ReadOnlySequence<byte> sequence in new[] { new ReadOnlySequence<byte>(prefix), Segments.Split(prefix, 1), Segments.Of(prefix[..(length / 2)], prefix[(length / 2)..]) })
            {
                ReadOnlySequence<byte> buffer = sequence;
                Assert.False(Http2FrameReader.TryReadPreface(ref buffer, out bool valid), $"prefix of {length}");
                Assert.False(valid);
                Assert.Equal(sequence.Start, buffer.Start);
                Assert.Equal(sequence.End, buffer.End);
            }
        }
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n")] // HTTP/1: known wrong at the first byte
    [InlineData("G")]
    [InlineData("PRI * HTTP/1.1\r\n")] // wrong in the middle, before 24 bytes are there
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r!")] // wrong at the last byte
    [InlineData("pri * HTTP/2.0\r\n\r\nSM\r\n\r\nmore bytes")]
    public void AWrongPrefaceIsInvalidAsSoonAsAByteDiffersAndNothingIsConsumed(string text)
    {
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(text);
        foreach (ReadOnlySequence<byte> sequence in new[] { new ReadOnlySequence<byte>(bytes), Segments.Split(bytes, 1), Segments.Split(bytes, 5) })
        {
            ReadOnlySequence<byte> buffer = sequence;
            Assert.True(Http2FrameReader.TryReadPreface(ref buffer, out bool valid));
            Assert.False(valid);
            Assert.Equal(sequence.Start, buffer.Start);
            Assert.Equal(sequence.End, buffer.End);
        }
    }

    // ---------------------------------------------------------------- allocation

    [Fact]
    public void ReadingAndWritingFramesDoesNotAllocate()
    {
        byte[] bytes = Write(o =>
        {
            Http2FrameWriter.WriteSettings(o, [(Http2SettingId.InitialWindowSize, 1 << 20), (Http2SettingId.MaxFrameSize, 1 << 15)]);
            Http2FrameWriter.WriteHeaders(o, 1, Pattern(40), endStream: false, MaxFrameSize, new PriorityPayload(0, false, 15), 2);
            Http2FrameWriter.WriteData(o, 1, Pattern(100), endStream: true, padLength: 8);
            Http2FrameWriter.WritePriority(o, 1, new PriorityPayload(0, true, 1));
            Http2FrameWriter.WriteRstStream(o, 1, Http2ErrorCode.Cancel);
            Http2FrameWriter.WritePushPromise(o, 1, 2, Pattern(10), MaxFrameSize);
            Http2FrameWriter.WritePing(o, ack: false, 7);
            Http2FrameWriter.WriteGoAway(o, 1, Http2ErrorCode.NoError, "bye"u8);
            Http2FrameWriter.WriteWindowUpdate(o, 1, 10);
            Http2FrameWriter.WriteContinuation(o, 1, Pattern(3), endHeaders: true);
        });
        ReadOnlySequence<byte> contiguous = new(bytes);
        ReadOnlySequence<byte> segmented = Segments.Split(bytes, 7);
        var output = new ArrayBufferWriter<byte>(bytes.Length * 2);
        byte[] payload = Pattern(100);

        long Run()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            long sum = 0;
            foreach (ReadOnlySequence<byte> input in (ReadOnlySpan<ReadOnlySequence<byte>>)[contiguous, segmented])
            {
                ReadOnlySequence<byte> buffer = input;
                while (Http2FrameReader.TryReadFrame(ref buffer, MaxFrameSize, out Http2Frame frame))
                {
                    sum += Decode(frame);
                }
            }

            output.ResetWrittenCount();
            Http2FrameWriter.WriteData(output, 1, payload, endStream: false);
            Http2FrameWriter.WriteHeaders(output, 1, payload, endStream: true, MaxFrameSize);
            Http2FrameWriter.WriteWindowUpdate(output, 0, 5);
            Http2FrameWriter.WritePing(output, ack: true, 5);
            Http2FrameWriter.WriteSettingsAck(output);
            Http2FrameWriter.WriteSettings(output, [(Http2SettingId.EnablePush, 0)]);
            Assert.True(sum > 0);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Run(); // warm-up (JIT, static initialisation)
        Assert.Equal(0, Run());
    }

    private static long Decode(in Http2Frame frame)
    {
        switch (frame.Type)
        {
            case Http2FrameType.Data:
                return Http2FrameReader.ReadData(frame).Length;
            case Http2FrameType.Headers:
                return Http2FrameReader.ReadHeaders(frame).Fragment.Length;
            case Http2FrameType.Priority:
                return Http2FrameReader.ReadPriority(frame).Weight + 1;
            case Http2FrameType.RstStream:
                return (long)Http2FrameReader.ReadRstStream(frame);
            case Http2FrameType.Settings:
                Http2SettingsReader reader = Http2FrameReader.ReadSettings(frame);
                long total = 0;
                while (reader.TryRead(out _, out uint value))
                {
                    total += value;
                }

                return total;
            case Http2FrameType.PushPromise:
                return Http2FrameReader.ReadPushPromise(frame).PromisedStreamId;
            case Http2FrameType.Ping:
                return (long)Http2FrameReader.ReadPing(frame);
            case Http2FrameType.GoAway:
                return Http2FrameReader.ReadGoAway(frame).DebugData.Length;
            case Http2FrameType.WindowUpdate:
                return Http2FrameReader.ReadWindowUpdate(frame);
            case Http2FrameType.Continuation:
                return Http2FrameReader.ReadContinuation(frame).Length;
            default:
                return 0;
        }
    }
}
