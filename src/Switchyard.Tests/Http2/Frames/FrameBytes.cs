using System.Buffers;
using Switchyard.Http2;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Http2.Frames;

/// <summary>Builds frames on the wire (through the writer or by hand) and reads them back.</summary>
internal static class FrameBytes
{
    public const int MaxFrameSize = Http2FrameReader.MinMaxFrameSize;

    public static byte[] Write(Action<ArrayBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A frame written by hand: a 9-octet header (stream id written as given, reserved bit included) and the payload.</summary>
    public static byte[] Raw(Http2FrameType type, Http2FrameFlags flags, uint streamId, params byte[] payload) =>
        Raw(payload.Length, (byte)type, (byte)flags, streamId, payload);

    public static byte[] Raw(int length, byte type, byte flags, uint streamId, byte[] payload)
    {
        byte[] frame = new byte[9 + payload.Length];
        frame[0] = (byte)(length >> 16);
        frame[1] = (byte)(length >> 8);
        frame[2] = (byte)length;
        frame[3] = type;
        frame[4] = flags;
        frame[5] = (byte)(streamId >> 24);
        frame[6] = (byte)(streamId >> 16);
        frame[7] = (byte)(streamId >> 8);
        frame[8] = (byte)streamId;
        payload.CopyTo(frame, 9);
        return frame;
    }

    /// <summary>Reads exactly one frame from the bytes (contiguous), asserting that nothing is left.</summary>
    public static Http2Frame ReadSingle(byte[] bytes, int maxFrameSize = MaxFrameSize)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(Http2FrameReader.TryReadFrame(ref buffer, maxFrameSize, out Http2Frame frame));
        Assert.True(buffer.IsEmpty);
        return frame;
    }

    /// <summary>Reads every frame from the bytes, cut into segments of <paramref name="segmentSize"/>.</summary>
    public static List<Http2Frame> ReadAll(byte[] bytes, int segmentSize = int.MaxValue, int maxFrameSize = MaxFrameSize)
    {
        ReadOnlySequence<byte> buffer = Segments.Split(bytes, Math.Min(segmentSize, Math.Max(1, bytes.Length)));
        var frames = new List<Http2Frame>();
        while (Http2FrameReader.TryReadFrame(ref buffer, maxFrameSize, out Http2Frame frame))
        {
            frames.Add(frame);
        }

        Assert.True(buffer.IsEmpty, "bytes left after the last frame");
        return frames;
    }

    public static byte[] ToArray(in ReadOnlySequence<byte> sequence) => sequence.ToArray();

    public static byte[] Pattern(int length, int seed = 1)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 31) + seed);
        }

        return bytes;
    }
}
