using System.Buffers;
using Bogus;
using Switchyard.Http2;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Http2.Frames.FrameBytes;

namespace Switchyard.Tests.Http2.Frames;

/// <summary>
/// Seeded random input: random frame sequences cut into random segments decode and re-encode to the same bytes,
/// and random bytes never make the reader fail with anything but an HTTP/2 connection or stream error.
/// </summary>
public sealed class Http2FrameFuzzTests
{
    /// <summary>Writes one random, valid frame of a random type with random flags and fields.</summary>
    private static void WriteRandomFrame(Randomizer random, IBufferWriter<byte> output)
    {
        int streamId = random.Int(1, int.MaxValue);
        byte? pad = random.Bool() ? (byte)random.Int(0, 255) : null;
        switch (random.Int(0, 10))
        {
            case 0:
                Http2FrameWriter.WriteData(output, streamId, random.Bytes(random.Int(0, 3000)), random.Bool(), pad);
                break;
            case 1:
                PriorityPayload? priority = random.Bool() ? new PriorityPayload(random.Int(0, int.MaxValue), random.Bool(), random.Byte()) : null;
                Http2FrameWriter.WriteHeaders(output, streamId, random.Bytes(random.Int(0, 3000)), random.Bool(), MaxFrameSize, priority, pad);
                break;
            case 2:
                int dependency = random.Int(0, int.MaxValue - 1);
                Http2FrameWriter.WritePriority(output, dependency == streamId ? streamId + 1 : streamId, new PriorityPayload(dependency, random.Bool(), random.Byte()));
                break;
            case 3:
                Http2FrameWriter.WriteRstStream(output, streamId, (Http2ErrorCode)random.UInt());
                break;
            case 4:
                if (random.Bool())
                {
                    Http2FrameWriter.WriteSettingsAck(output);
                    break;
                }

                var settings = new (Http2SettingId, uint)[random.Int(0, 10)];
                for (int i = 0; i < settings.Length; i++)
                {
                    settings[i] = ((Http2SettingId)random.Int(7, 0xFFFF), random.UInt()); // unknown ids: any value is valid
                }

                Http2FrameWriter.WriteSettings(output, settings);
                break;
            case 5:
                Http2FrameWriter.WritePushPromise(output, streamId, random.Int(1, int.MaxValue), random.Bytes(random.Int(0, 300)), MaxFrameSize, pad);
                break;
            case 6:
                Http2FrameWriter.WritePing(output, random.Bool(), random.ULong());
                break;
            case 7:
                Http2FrameWriter.WriteGoAway(output, random.Int(0, int.MaxValue), (Http2ErrorCode)random.UInt(), random.Bytes(random.Int(0, 100)));
                break;
            case 8:
                Http2FrameWriter.WriteWindowUpdate(output, random.Bool() ? 0 : streamId, random.Int(1, int.MaxValue));
                break;
            case 9:
                Http2FrameWriter.WriteContinuation(output, streamId, random.Bytes(random.Int(0, 500)), random.Bool());
                break;
            default:
                byte[] payload = random.Bytes(random.Int(0, 40));
                Http2FrameWriter.WriteFrameHeader(output, payload.Length, (Http2FrameType)random.Int(10, 255), (Http2FrameFlags)random.Byte(), random.Int(0, int.MaxValue));
                output.Write(payload);
                break;
        }
    }

    /// <summary>Writes a decoded frame back with the writer, from the decoded fields only.</summary>
    private static void Reencode(in Http2Frame frame, IBufferWriter<byte> output)
    {
        Http2FrameHeader h = frame.Header;
        bool padded = h.HasFlag(Http2FrameFlags.Padded);
        switch (h.Type)
        {
            case Http2FrameType.Data:
                byte[] data = Http2FrameReader.ReadData(frame).ToArray();
                Http2FrameWriter.WriteData(output, h.StreamId, data, h.HasFlag(Http2FrameFlags.EndStream), padded ? (byte)(h.Length - 1 - data.Length) : null);
                break;
            case Http2FrameType.Headers:
                HeadersPayload headers = Http2FrameReader.ReadHeaders(frame);
                byte[] block = headers.Fragment.ToArray();
                int fixedFields = (headers.HasPriority ? 5 : 0) + 1;
                Http2FrameWriter.WriteHeaders(output, h.StreamId, block, h.HasFlag(Http2FrameFlags.EndStream), MaxFrameSize,
                    headers.HasPriority ? headers.Priority : null, padded ? (byte)(h.Length - fixedFields - block.Length) : null);
                break;
            case Http2FrameType.Priority:
                Http2FrameWriter.WritePriority(output, h.StreamId, Http2FrameReader.ReadPriority(frame));
                break;
            case Http2FrameType.RstStream:
                Http2FrameWriter.WriteRstStream(output, h.StreamId, Http2FrameReader.ReadRstStream(frame));
                break;
            case Http2FrameType.Settings:
                Http2SettingsReader reader = Http2FrameReader.ReadSettings(frame);
                if (reader.IsAck)
                {
                    Http2FrameWriter.WriteSettingsAck(output);
                    break;
                }

                var settings = new List<(Http2SettingId, uint)>();
                while (reader.TryRead(out Http2SettingId id, out uint value))
                {
                    settings.Add((id, value));
                }

                Http2FrameWriter.WriteSettings(output, settings.ToArray());
                break;
            case Http2FrameType.PushPromise:
                PushPromisePayload promise = Http2FrameReader.ReadPushPromise(frame);
                byte[] promised = promise.Fragment.ToArray();
                Http2FrameWriter.WritePushPromise(output, h.StreamId, promise.PromisedStreamId, promised, MaxFrameSize, padded ? (byte)(h.Length - 5 - promised.Length) : null);
                break;
            case Http2FrameType.Ping:
                Http2FrameWriter.WritePing(output, h.HasFlag(Http2FrameFlags.Ack), Http2FrameReader.ReadPing(frame));
                break;
            case Http2FrameType.GoAway:
                GoAwayPayload goAway = Http2FrameReader.ReadGoAway(frame);
                Http2FrameWriter.WriteGoAway(output, goAway.LastStreamId, goAway.ErrorCode, goAway.DebugData.ToArray());
                break;
            case Http2FrameType.WindowUpdate:
                Http2FrameWriter.WriteWindowUpdate(output, h.StreamId, Http2FrameReader.ReadWindowUpdate(frame));
                break;
            case Http2FrameType.Continuation:
                Http2FrameWriter.WriteContinuation(output, h.StreamId, Http2FrameReader.ReadContinuation(frame).ToArray(), h.HasFlag(Http2FrameFlags.EndHeaders));
                break;
            default:
                Http2FrameWriter.WriteFrameHeader(output, h.Length, h.Type, h.Flags, h.StreamId);
                output.Write(frame.Payload.ToArray());
                break;
        }
    }

    /// <summary>Cuts the bytes into segments of random sizes (some empty).</summary>
    private static ReadOnlySequence<byte> RandomSegments(Randomizer random, byte[] bytes)
    {
        var chunks = new List<byte[]>();
        int offset = 0;
        while (offset < bytes.Length)
        {
            int size = Math.Min(bytes.Length - offset, random.Int(0, 40) == 0 ? 0 : random.Int(1, random.Bool() ? 16 : 5000));
            chunks.Add(bytes[offset..(offset + size)]);
            offset += size;
        }

        return Segments.Of([.. chunks]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomFramesInRandomSegmentsDecodeAndReencodeToTheSameBytes(int seed)
    {
        var random = new Randomizer(seed);
        for (int round = 0; round < 50; round++)
        {
            var wire = new ArrayBufferWriter<byte>();
            int count = random.Int(1, 30);
            for (int i = 0; i < count; i++)
            {
                WriteRandomFrame(random, wire);
            }

            byte[] bytes = wire.WrittenSpan.ToArray();
            ReadOnlySequence<byte> buffer = RandomSegments(random, bytes);
            var again = new ArrayBufferWriter<byte>();
            int frames = 0;
            while (Http2FrameReader.TryReadFrame(ref buffer, MaxFrameSize, out Http2Frame frame))
            {
                Reencode(frame, again);
                frames++;
            }

            Assert.True(buffer.IsEmpty);
            Assert.Equal(count, frames); // header blocks are small enough never to be split here
            Assert.Equal(bytes, again.WrittenSpan.ToArray());
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void RandomBytesOnlyEverRaiseHttp2Errors(int seed)
    {
        var random = new Randomizer(seed);
        int errors = 0;
        for (int round = 0; round < 5000; round++)
        {
            // A plausible header (small length, a known type most of the time, any flags and stream) and random payload bytes.
            int length = random.Int(0, 24);
            byte type = random.Int(0, 9) == 0 ? random.Byte() : (byte)random.Int(0, 9);
            uint streamId = random.Bool() ? 0 : random.Bool() ? random.UInt() : (uint)random.Int(1, 5);
            byte[] bytes = Raw(length, type, random.Byte(), streamId, random.Bytes(length));
            ReadOnlySequence<byte> buffer = RandomSegments(random, bytes);
            try
            {
                while (Http2FrameReader.TryReadFrame(ref buffer, MaxFrameSize, out Http2Frame frame))
                {
                    Http2FrameValidationTests.Decode(frame);
                }
            }
            catch (Exception e) when (e is Http2ConnectionException or Http2StreamException)
            {
                errors++;
            }
        }

        Assert.InRange(errors, 100, 4900); // both outcomes were exercised
    }
}
