using System.Buffers;
using Switchyard.Http2;
using static Switchyard.Tests.Http2.Frames.FrameBytes;

namespace Switchyard.Tests.Http2.Frames;

/// <summary>
/// <see cref="Http2FrameWriter"/>: exact bytes on the wire, header blocks split into HEADERS / PUSH_PROMISE plus
/// CONTINUATION and reassembled, and arguments a correct caller never passes rejected before anything is written.
/// </summary>
public sealed class Http2FrameWriterTests
{
    [Fact]
    public void FrameHeaderBytes()
    {
        byte[] bytes = Write(o => Http2FrameWriter.WriteFrameHeader(o, 0x12_3456, (Http2FrameType)0x0A, (Http2FrameFlags)0x25, int.MaxValue));
        Assert.Equal(new byte[] { 0x12, 0x34, 0x56, 0x0A, 0x25, 0x7F, 0xFF, 0xFF, 0xFF }, bytes);

        Span<byte> span = stackalloc byte[9];
        Http2FrameWriter.WriteFrameHeader(span, 0, Http2FrameType.Settings, Http2FrameFlags.Ack, 0);
        Assert.Equal(new byte[] { 0, 0, 0, 4, 1, 0, 0, 0, 0 }, span.ToArray());
    }

    [Fact]
    public void GoldenFrames()
    {
        Assert.Equal(
            new byte[] { 0, 0, 8, 6, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 },
            Write(o => Http2FrameWriter.WritePing(o, ack: true, 0x0102030405060708)));
        Assert.Equal(
            new byte[] { 0, 0, 4, 8, 0, 0, 0, 0, 3, 0x7F, 0xFF, 0xFF, 0xFF },
            Write(o => Http2FrameWriter.WriteWindowUpdate(o, 3, int.MaxValue)));
        Assert.Equal(
            new byte[] { 0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 8 },
            Write(o => Http2FrameWriter.WriteRstStream(o, 1, Http2ErrorCode.Cancel)));
        Assert.Equal(
            new byte[] { 0, 0, 10, 7, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 11, (byte)'h', (byte)'i' },
            Write(o => Http2FrameWriter.WriteGoAway(o, 5, Http2ErrorCode.EnhanceYourCalm, "hi"u8)));
        Assert.Equal(
            new byte[] { 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100 },
            Write(o => Http2FrameWriter.WriteSettings(o, [(Http2SettingId.MaxConcurrentStreams, 100)])));
        Assert.Equal(
            new byte[] { 0, 0, 5, 2, 0, 0, 0, 0, 3, 0x80, 0, 0, 1, 255 },
            Write(o => Http2FrameWriter.WritePriority(o, 3, new PriorityPayload(1, true, 255))));
        Assert.Equal(
            new byte[] { 0, 0, 5, 0, 0x09, 0, 0, 0, 1, 2, 0xAA, 0xBB, 0, 0 }, // END_STREAM | PADDED, Pad Length 2
            Write(o => Http2FrameWriter.WriteData(o, 1, [0xAA, 0xBB], endStream: true, padLength: 2)));
        Assert.Equal(
            new byte[] { 0, 0, 8, 1, 0x2D, 0, 0, 0, 1, 1, 0, 0, 0, 0, 15, 0x82, 0 }, // END_STREAM | END_HEADERS | PADDED | PRIORITY
            Write(o => Http2FrameWriter.WriteHeaders(o, 1, [0x82], endStream: true, MaxFrameSize, new PriorityPayload(0, false, 15), 1)));
        Assert.Equal(
            new byte[] { 0, 0, 5, 5, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0x82 },
            Write(o => Http2FrameWriter.WritePushPromise(o, 1, 2, [0x82], MaxFrameSize)));
        Assert.Equal(
            new byte[] { 0, 0, 1, 9, 0, 0, 0, 0, 1, 0x82 },
            Write(o => Http2FrameWriter.WriteContinuation(o, 1, [0x82], endHeaders: false)));
    }

    /// <summary>Reads a HEADERS or PUSH_PROMISE block back frame by frame, asserting the flags of each.</summary>
    private static byte[] Reassemble(List<Http2Frame> frames, int streamId, bool endStream)
    {
        var block = new ArrayBufferWriter<byte>();
        for (int i = 0; i < frames.Count; i++)
        {
            Http2Frame frame = frames[i];
            bool last = i == frames.Count - 1;
            Assert.Equal(streamId, frame.StreamId);
            Assert.Equal(last, frame.Header.HasFlag(Http2FrameFlags.EndHeaders));
            ReadOnlySequence<byte> fragment;
            if (i == 0)
            {
                Assert.Equal(endStream, frame.Header.HasFlag(Http2FrameFlags.EndStream));
                fragment = frame.Type == Http2FrameType.Headers ? Http2FrameReader.ReadHeaders(frame).Fragment : Http2FrameReader.ReadPushPromise(frame).Fragment;
            }
            else
            {
                Assert.Equal(Http2FrameType.Continuation, frame.Type);
                Assert.Equal(Http2FrameFlags.None, frame.Flags & ~Http2FrameFlags.EndHeaders); // no END_STREAM or other flag on CONTINUATION
                fragment = Http2FrameReader.ReadContinuation(frame);
            }

            foreach (ReadOnlyMemory<byte> segment in fragment)
            {
                block.Write(segment.Span);
            }
        }

        return block.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(0, 16_384, 1)]
    [InlineData(1, 16_384, 1)]
    [InlineData(16_384, 16_384, 1)]
    [InlineData(16_385, 16_384, 2)]
    [InlineData(40_000, 16_384, 3)]
    [InlineData(3 * 16_384, 16_384, 3)]
    [InlineData(3 * 16_384 + 1, 16_384, 4)]
    [InlineData(40_000, 100_000, 1)]
    [InlineData(200_000, 65_536, 4)]
    public void HeadersAreSplitIntoContinuationFrames(int blockLength, int maxFrameSize, int frameCount)
    {
        byte[] block = Pattern(blockLength, 13);
        foreach (bool endStream in new[] { false, true })
        {
            byte[] bytes = Write(o => Http2FrameWriter.WriteHeaders(o, 21, block, endStream, maxFrameSize));
            List<Http2Frame> frames = ReadAll(bytes, 4096, maxFrameSize);
            Assert.Equal(frameCount, frames.Count);
            Assert.Equal(Http2FrameType.Headers, frames[0].Type);
            Assert.All(frames[..^1], f => Assert.Equal(maxFrameSize, f.Header.Length)); // all but the last are full
            Assert.Equal(block, Reassemble(frames, 21, endStream));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16_384 - 6 - 255)]
    [InlineData(16_384 - 6 - 255 + 1)]
    [InlineData(50_000)]
    public void PrioritisedPaddedHeadersLeaveRoomForTheirFieldsInTheFirstFrame(int blockLength)
    {
        byte[] block = Pattern(blockLength, 17);
        var priority = new PriorityPayload(3, true, 200);
        byte[] bytes = Write(o => Http2FrameWriter.WriteHeaders(o, 5, block, endStream: true, MaxFrameSize, priority, 255));
        List<Http2Frame> frames = ReadAll(bytes, 1000);
        Assert.Equal(1 + (Math.Max(0, blockLength - (MaxFrameSize - 6 - 255)) + MaxFrameSize - 1) / MaxFrameSize, frames.Count);
        Assert.True(frames[0].Header.Length <= MaxFrameSize);
        Assert.Equal(priority, Http2FrameReader.ReadHeaders(frames[0]).Priority);
        Assert.Equal(block, Reassemble(frames, 5, endStream: true));
    }

    [Theory]
    [InlineData(10, 1)]
    [InlineData(16_380, 1)]
    [InlineData(16_381, 2)]
    [InlineData(40_000, 3)]
    public void PushPromiseIsSplitIntoContinuationFrames(int blockLength, int frameCount)
    {
        byte[] block = Pattern(blockLength, 19);
        byte[] bytes = Write(o => Http2FrameWriter.WritePushPromise(o, 1, 4, block, MaxFrameSize));
        List<Http2Frame> frames = ReadAll(bytes, 3000);
        Assert.Equal(frameCount, frames.Count);
        Assert.Equal(4, Http2FrameReader.ReadPushPromise(frames[0]).PromisedStreamId);
        Assert.Equal(block, Reassemble(frames, 1, endStream: false));
    }

    [Fact]
    public void DataFromAMultiSegmentSequence()
    {
        byte[] data = Pattern(10_000, 23);
        ReadOnlySequence<byte> sequence = TestSupport.Segments.Split(data, 333);
        byte[] bytes = Write(o => Http2FrameWriter.WriteData(o, 1, sequence.Slice(100, 5000), endStream: false));
        Http2Frame frame = ReadSingle(bytes);
        Assert.Equal(5000, frame.Header.Length);
        Assert.Equal(data[100..5100], Http2FrameReader.ReadData(frame).ToArray());
    }

    [Fact]
    public void TheLargestFramesCanBeWritten()
    {
        byte[] data = new byte[Http2FrameReader.MaxMaxFrameSize];
        Http2Frame frame = ReadSingle(Write(o => Http2FrameWriter.WriteData(o, 1, data, endStream: false)), Http2FrameReader.MaxMaxFrameSize);
        Assert.Equal(Http2FrameReader.MaxMaxFrameSize, frame.Header.Length);
    }

    public static TheoryData<string, Action<IBufferWriter<byte>>> Misuse() => new()
    {
        { "DATA on stream 0", o => Http2FrameWriter.WriteData(o, 0, [1], false) },
        { "DATA on a negative stream", o => Http2FrameWriter.WriteData(o, -1, [1], false) },
        { "DATA over 2^24-1", o => Http2FrameWriter.WriteData(o, 1, new byte[Http2FrameReader.MaxMaxFrameSize + 1], false) },
        { "DATA sequence over 2^24-1", o => Http2FrameWriter.WriteData(o, 1, new ReadOnlySequence<byte>(new byte[Http2FrameReader.MaxMaxFrameSize + 1]), false) },
        { "DATA padded over 2^24-1", o => Http2FrameWriter.WriteData(o, 1, new byte[Http2FrameReader.MaxMaxFrameSize - 1], false, 1) },
        { "HEADERS on stream 0", o => Http2FrameWriter.WriteHeaders(o, 0, [0x82], true, MaxFrameSize) },
        { "HEADERS with a max frame size under 16384", o => Http2FrameWriter.WriteHeaders(o, 1, [0x82], true, 100) },
        { "HEADERS with a max frame size over 2^24-1", o => Http2FrameWriter.WriteHeaders(o, 1, [0x82], true, Http2FrameReader.MaxMaxFrameSize + 1) },
        { "HEADERS depending on a negative stream", o => Http2FrameWriter.WriteHeaders(o, 1, [0x82], true, MaxFrameSize, new PriorityPayload(-1, false, 0)) },
        { "PUSH_PROMISE promising stream 0", o => Http2FrameWriter.WritePushPromise(o, 1, 0, [0x82], MaxFrameSize) },
        { "CONTINUATION on stream 0", o => Http2FrameWriter.WriteContinuation(o, 0, [0x82], true) },
        { "PRIORITY on stream 0", o => Http2FrameWriter.WritePriority(o, 0, new PriorityPayload(1, false, 0)) },
        { "RST_STREAM on stream 0", o => Http2FrameWriter.WriteRstStream(o, 0, Http2ErrorCode.Cancel) },
        { "WINDOW_UPDATE of 0", o => Http2FrameWriter.WriteWindowUpdate(o, 1, 0) },
        { "WINDOW_UPDATE negative", o => Http2FrameWriter.WriteWindowUpdate(o, 0, -5) },
        { "WINDOW_UPDATE on a negative stream", o => Http2FrameWriter.WriteWindowUpdate(o, -1, 5) },
        { "GOAWAY with a negative last stream", o => Http2FrameWriter.WriteGoAway(o, -1, Http2ErrorCode.NoError, default) },
        { "GOAWAY with too much debug data", o => Http2FrameWriter.WriteGoAway(o, 1, Http2ErrorCode.NoError, new byte[Http2FrameReader.MaxMaxFrameSize - 7]) },
        { "a frame header over 2^24-1", o => Http2FrameWriter.WriteFrameHeader(o, Http2FrameReader.MaxMaxFrameSize + 1, Http2FrameType.Data, 0, 1) },
        { "a frame header with a negative length", o => Http2FrameWriter.WriteFrameHeader(o, -1, Http2FrameType.Data, 0, 1) },
    };

    [Theory]
    [MemberData(nameof(Misuse))]
    public void MisuseThrowsBeforeWritingAnything(string what, Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        Exception e = Assert.ThrowsAny<ArgumentException>(() => write(output));
        Assert.True(output.WrittenCount == 0, $"{what}: {output.WrittenCount} octets written before {e.GetType().Name}");
    }

    [Fact]
    public void TheReservedBitIsNeverSent()
    {
        byte[] bytes = Write(o =>
        {
            Http2FrameWriter.WriteHeaders(o, int.MaxValue, Pattern(20_000), false, MaxFrameSize, new PriorityPayload(int.MaxValue, false, 1));
            Http2FrameWriter.WritePushPromise(o, int.MaxValue, int.MaxValue, [], MaxFrameSize);
            Http2FrameWriter.WriteGoAway(o, int.MaxValue, Http2ErrorCode.NoError, default);
            Http2FrameWriter.WriteWindowUpdate(o, int.MaxValue, int.MaxValue);
        });
        var buffer = new ReadOnlySequence<byte>(bytes);
        int offset = 0;
        while (Http2FrameReader.TryReadFrame(ref buffer, MaxFrameSize, out Http2Frame frame))
        {
            Assert.Equal(0, bytes[offset + 5] & 0x80);
            if (frame.Type is not Http2FrameType.Continuation)
            {
                // The 31-bit field opening the payload: dependency (E bit clear), promised id, last stream id, increment.
                Assert.Equal(0x7F, bytes[offset + 9]);
            }

            offset += 9 + frame.Header.Length;
            Assert.Equal(frame.Type == Http2FrameType.GoAway ? 0 : int.MaxValue, frame.StreamId);
        }

        Assert.Equal(bytes.Length, offset);
    }
}
