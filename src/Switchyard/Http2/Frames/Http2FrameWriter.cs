using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Switchyard.Http2;

/// <summary>
/// Writes HTTP/2 frames (RFC 9113 §4, §6) into an <see cref="IBufferWriter{T}"/>, allocation-free. Callers
/// serialize access to a connection's output and split DATA to the peer's SETTINGS_MAX_FRAME_SIZE and flow-control
/// windows; header blocks are split into HEADERS / PUSH_PROMISE plus CONTINUATION frames here. Arguments a correct
/// caller never passes (a stream id out of range, a DATA frame on stream 0, a payload beyond 2^24-1 octets) throw
/// <see cref="ArgumentException"/>s rather than producing a frame the peer would reject. The reserved bit of every
/// stream id is written as 0.
/// </summary>
public static class Http2FrameWriter
{
    private const int HeaderLength = Http2FrameReader.FrameHeaderLength;

    /// <summary>The client connection preface, <c>PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n</c> (RFC 9113 §3.4).</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>Writes the 9-octet frame header (RFC 9113 §4.1) into <paramref name="destination"/>.</summary>
    public static void WriteFrameHeader(Span<byte> destination, int length, Http2FrameType type, Http2FrameFlags flags, int streamId)
    {
        if ((uint)length > Http2FrameReader.MaxMaxFrameSize)
        {
            ThrowOutOfRange(nameof(length), length, "a frame payload is 0..16777215 octets");
        }

        CheckStreamId(streamId);
        destination = destination[..HeaderLength];
        destination[0] = (byte)(length >> 16);
        destination[1] = (byte)(length >> 8);
        destination[2] = (byte)length;
        destination[3] = (byte)type;
        destination[4] = (byte)flags;
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], streamId);
    }

    /// <summary>Writes the 9-octet frame header (RFC 9113 §4.1); the caller writes <paramref name="length"/> payload octets next.</summary>
    public static void WriteFrameHeader(IBufferWriter<byte> output, int length, Http2FrameType type, Http2FrameFlags flags, int streamId)
    {
        WriteFrameHeader(output.GetSpan(HeaderLength), length, type, flags, streamId);
        output.Advance(HeaderLength);
    }

    /// <summary>
    /// DATA (RFC 9113 §6.1). With <paramref name="padLength"/> the frame is PADDED: a Pad Length octet, then the
    /// data, then that many zero octets (0 is valid: the flag and the length octet only).
    /// </summary>
    public static void WriteData(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> data, bool endStream, byte? padLength = null)
    {
        RequireStream(streamId);
        WritePaddedStart(output, data.Length, Http2FrameType.Data, endStream ? Http2FrameFlags.EndStream : Http2FrameFlags.None, streamId, padLength);
        output.Write(data);
        WritePadding(output, padLength);
    }

    /// <summary>DATA (RFC 9113 §6.1) from a sequence, e.g. a slice of a pipe's buffer; see the span overload.</summary>
    public static void WriteData(IBufferWriter<byte> output, int streamId, in ReadOnlySequence<byte> data, bool endStream, byte? padLength = null)
    {
        RequireStream(streamId);
        if (data.Length > Http2FrameReader.MaxMaxFrameSize)
        {
            ThrowOutOfRange(nameof(data), data.Length, "a frame payload is 0..16777215 octets");
        }

        WritePaddedStart(output, (int)data.Length, Http2FrameType.Data, endStream ? Http2FrameFlags.EndStream : Http2FrameFlags.None, streamId, padLength);
        if (data.IsSingleSegment)
        {
            output.Write(data.FirstSpan);
        }
        else
        {
            foreach (ReadOnlyMemory<byte> segment in data)
            {
                output.Write(segment.Span);
            }
        }

        WritePadding(output, padLength);
    }

    /// <summary>
    /// A whole field block as HEADERS plus as many CONTINUATION frames as needed for no frame payload to exceed
    /// <paramref name="maxFrameSize"/> (the peer's SETTINGS_MAX_FRAME_SIZE); END_HEADERS is set on the last frame
    /// only, END_STREAM on the HEADERS frame (RFC 9113 §6.2, §6.10, §8.1). <paramref name="priority"/> and
    /// <paramref name="padLength"/> add the PRIORITY and PADDED fields to the HEADERS frame; the block is never
    /// empty-split: an empty block is one HEADERS frame with END_HEADERS.
    /// </summary>
    public static void WriteHeaders(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> headerBlock, bool endStream, int maxFrameSize,
        PriorityPayload? priority = null, byte? padLength = null)
    {
        RequireStream(streamId);
        CheckMaxFrameSize(maxFrameSize);
        if (priority is { } check)
        {
            CheckStreamId(check.StreamDependency);
        }

        int overhead = (priority is null ? 0 : 5) + (padLength is { } p ? 1 + p : 0);
        int first = Math.Min(headerBlock.Length, maxFrameSize - overhead);
        Http2FrameFlags flags = (endStream ? Http2FrameFlags.EndStream : Http2FrameFlags.None)
            | (first == headerBlock.Length ? Http2FrameFlags.EndHeaders : Http2FrameFlags.None)
            | (priority is null ? Http2FrameFlags.None : Http2FrameFlags.Priority);
        WritePaddedStart(output, first + (priority is null ? 0 : 5), Http2FrameType.Headers, flags, streamId, padLength);
        if (priority is { } fields)
        {
            WritePriorityFields(output.GetSpan(5), fields);
            output.Advance(5);
        }

        output.Write(headerBlock[..first]);
        WritePadding(output, padLength);
        WriteContinuations(output, streamId, headerBlock[first..], maxFrameSize);
    }

    /// <summary>
    /// A whole field block as PUSH_PROMISE plus CONTINUATION frames (RFC 9113 §6.6), split like
    /// <see cref="WriteHeaders"/>.
    /// </summary>
    public static void WritePushPromise(IBufferWriter<byte> output, int streamId, int promisedStreamId, ReadOnlySpan<byte> headerBlock, int maxFrameSize,
        byte? padLength = null)
    {
        RequireStream(streamId);
        RequireStream(promisedStreamId);
        CheckMaxFrameSize(maxFrameSize);
        int overhead = 4 + (padLength is { } p ? 1 + p : 0);
        int first = Math.Min(headerBlock.Length, maxFrameSize - overhead);
        Http2FrameFlags flags = first == headerBlock.Length ? Http2FrameFlags.EndHeaders : Http2FrameFlags.None;
        WritePaddedStart(output, 4 + first, Http2FrameType.PushPromise, flags, streamId, padLength);
        BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), promisedStreamId);
        output.Advance(4);
        output.Write(headerBlock[..first]);
        WritePadding(output, padLength);
        WriteContinuations(output, streamId, headerBlock[first..], maxFrameSize);
    }

    /// <summary>One CONTINUATION frame (RFC 9113 §6.10); <see cref="WriteHeaders"/> writes them itself.</summary>
    public static void WriteContinuation(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> fragment, bool endHeaders)
    {
        RequireStream(streamId);
        WriteFrameHeader(output, fragment.Length, Http2FrameType.Continuation, endHeaders ? Http2FrameFlags.EndHeaders : Http2FrameFlags.None, streamId);
        output.Write(fragment);
    }

    /// <summary>PRIORITY (RFC 9113 §6.3).</summary>
    public static void WritePriority(IBufferWriter<byte> output, int streamId, PriorityPayload priority)
    {
        RequireStream(streamId);
        CheckStreamId(priority.StreamDependency);
        Span<byte> frame = output.GetSpan(HeaderLength + 5);
        WriteFrameHeader(frame, 5, Http2FrameType.Priority, Http2FrameFlags.None, streamId);
        WritePriorityFields(frame[HeaderLength..], priority);
        output.Advance(HeaderLength + 5);
    }

    /// <summary>RST_STREAM (RFC 9113 §6.4).</summary>
    public static void WriteRstStream(IBufferWriter<byte> output, int streamId, Http2ErrorCode code)
    {
        RequireStream(streamId);
        Span<byte> frame = output.GetSpan(HeaderLength + 4);
        WriteFrameHeader(frame, 4, Http2FrameType.RstStream, Http2FrameFlags.None, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(frame[HeaderLength..], (uint)code);
        output.Advance(HeaderLength + 4);
    }

    /// <summary>SETTINGS (RFC 9113 §6.5) with the given parameters, in order; an empty span writes an empty SETTINGS.</summary>
    public static void WriteSettings(IBufferWriter<byte> output, ReadOnlySpan<(Http2SettingId Id, uint Value)> settings)
    {
        int length = settings.Length * 6;
        Span<byte> frame = output.GetSpan(HeaderLength + length);
        WriteFrameHeader(frame, length, Http2FrameType.Settings, Http2FrameFlags.None, 0);
        Span<byte> entry = frame[HeaderLength..];
        foreach ((Http2SettingId id, uint value) in settings)
        {
            BinaryPrimitives.WriteUInt16BigEndian(entry, (ushort)id);
            BinaryPrimitives.WriteUInt32BigEndian(entry[2..], value);
            entry = entry[6..];
        }

        output.Advance(HeaderLength + length);
    }

    /// <summary>The SETTINGS acknowledgement: an empty SETTINGS frame with ACK (RFC 9113 §6.5.3).</summary>
    public static void WriteSettingsAck(IBufferWriter<byte> output) => WriteFrameHeader(output, 0, Http2FrameType.Settings, Http2FrameFlags.Ack, 0);

    /// <summary>PING (RFC 9113 §6.7); a response has <paramref name="ack"/> and echoes the opaque data.</summary>
    public static void WritePing(IBufferWriter<byte> output, bool ack, ulong opaque)
    {
        Span<byte> frame = output.GetSpan(HeaderLength + 8);
        WriteFrameHeader(frame, 8, Http2FrameType.Ping, ack ? Http2FrameFlags.Ack : Http2FrameFlags.None, 0);
        BinaryPrimitives.WriteUInt64BigEndian(frame[HeaderLength..], opaque);
        output.Advance(HeaderLength + 8);
    }

    /// <summary>GOAWAY (RFC 9113 §6.8) with optional debug data (keep it short: it is not flow-controlled).</summary>
    public static void WriteGoAway(IBufferWriter<byte> output, int lastStreamId, Http2ErrorCode code, ReadOnlySpan<byte> debugData)
    {
        CheckStreamId(lastStreamId);
        WriteFrameHeader(output, 8 + debugData.Length, Http2FrameType.GoAway, Http2FrameFlags.None, 0);
        Span<byte> fields = output.GetSpan(8);
        BinaryPrimitives.WriteInt32BigEndian(fields, lastStreamId);
        BinaryPrimitives.WriteUInt32BigEndian(fields[4..], (uint)code);
        output.Advance(8);
        output.Write(debugData);
    }

    /// <summary>WINDOW_UPDATE (RFC 9113 §6.9) on a stream or, with stream 0, on the connection; the increment is 1..2^31-1.</summary>
    public static void WriteWindowUpdate(IBufferWriter<byte> output, int streamId, int increment)
    {
        if (increment <= 0)
        {
            ThrowOutOfRange(nameof(increment), increment, "a window increment is 1..2^31-1");
        }

        Span<byte> frame = output.GetSpan(HeaderLength + 4);
        WriteFrameHeader(frame, 4, Http2FrameType.WindowUpdate, Http2FrameFlags.None, streamId);
        BinaryPrimitives.WriteInt32BigEndian(frame[HeaderLength..], increment);
        output.Advance(HeaderLength + 4);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>The frame header and, when padded, the Pad Length octet; <paramref name="contentLength"/> excludes the padding fields.</summary>
    private static void WritePaddedStart(IBufferWriter<byte> output, int contentLength, Http2FrameType type, Http2FrameFlags flags, int streamId, byte? padLength)
    {
        if (padLength is not { } pad)
        {
            WriteFrameHeader(output, contentLength, type, flags, streamId);
            return;
        }

        Span<byte> start = output.GetSpan(HeaderLength + 1);
        WriteFrameHeader(start, contentLength + 1 + pad, type, flags | Http2FrameFlags.Padded, streamId);
        start[HeaderLength] = pad;
        output.Advance(HeaderLength + 1);
    }

    private static void WritePadding(IBufferWriter<byte> output, byte? padLength)
    {
        if (padLength is { } pad and > 0)
        {
            output.GetSpan(pad)[..pad].Clear();
            output.Advance(pad);
        }
    }

    private static void WriteContinuations(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> rest, int maxFrameSize)
    {
        while (!rest.IsEmpty)
        {
            int n = Math.Min(rest.Length, maxFrameSize);
            WriteContinuation(output, streamId, rest[..n], endHeaders: n == rest.Length);
            rest = rest[n..];
        }
    }

    private static void WritePriorityFields(Span<byte> destination, PriorityPayload priority)
    {
        uint word = (uint)priority.StreamDependency | (priority.Exclusive ? 0x8000_0000u : 0u);
        BinaryPrimitives.WriteUInt32BigEndian(destination, word);
        destination[4] = priority.Weight;
    }

    private static void CheckStreamId(int streamId)
    {
        if (streamId < 0)
        {
            ThrowOutOfRange(nameof(streamId), streamId, "a stream id is 0..2^31-1");
        }
    }

    private static void RequireStream(int streamId)
    {
        if (streamId <= 0)
        {
            ThrowOutOfRange(nameof(streamId), streamId, "this frame type needs a stream id of 1..2^31-1");
        }
    }

    private static void CheckMaxFrameSize(int maxFrameSize)
    {
        if (maxFrameSize is < Http2FrameReader.MinMaxFrameSize or > Http2FrameReader.MaxMaxFrameSize)
        {
            ThrowOutOfRange(nameof(maxFrameSize), maxFrameSize, "SETTINGS_MAX_FRAME_SIZE is 16384..16777215");
        }
    }

    [DoesNotReturn]
    private static void ThrowOutOfRange(string name, long value, string message) => throw new ArgumentOutOfRangeException(name, value, message);
}
