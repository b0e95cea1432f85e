using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Switchyard.Http2;

/// <summary>
/// Reads HTTP/2 frames (RFC 9113 §4) out of a receive buffer and decodes their payloads (§6), allocation-free.
/// <para>
/// <see cref="TryReadFrame"/> cuts one whole frame (header and payload) off the front of the buffer, or consumes
/// nothing when the frame is not complete yet; the only check it makes is the frame size against our
/// SETTINGS_MAX_FRAME_SIZE. The <c>Read*</c> methods then decode one frame type each and enforce what RFC 9113 §6
/// says about that type's stream identifier, length, padding and field values, throwing
/// <see cref="Http2ConnectionException"/> (answer with GOAWAY) or <see cref="Http2StreamException"/> (answer with
/// RST_STREAM) exactly as the RFC classifies each violation. Checks that need connection state (stream states,
/// header block sequencing, flow-control windows, role-dependent settings) are the caller's.
/// </para>
/// <para>
/// Frame-size errors in frames that carry a field block, in SETTINGS and in frames on stream 0 are connection
/// errors (§4.2); so is a padded or priority-carrying frame too short for those fields, since DATA, HEADERS and
/// PUSH_PROMISE all affect connection-wide state (flow control, HPACK).
/// </para>
/// </summary>
public static class Http2FrameReader
{
    public const int FrameHeaderLength = 9;

    private const int PrefaceLength = 24;

    /// <summary>The initial SETTINGS_MAX_FRAME_SIZE and the smallest value it may take (RFC 9113 §4.2, §6.5.2).</summary>
    public const int MinMaxFrameSize = 16_384;

    /// <summary>The largest SETTINGS_MAX_FRAME_SIZE (2^24-1, RFC 9113 §4.2).</summary>
    public const int MaxMaxFrameSize = 16_777_215;

    /// <summary>The largest flow-control window and window increment (2^31-1, RFC 9113 §6.9).</summary>
    public const int MaxWindowSize = int.MaxValue;

    /// <summary>
    /// Checks the client connection preface (RFC 9113 §3.4), the 24 octets <c>PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n</c>.
    /// Returns false (consuming nothing) while the buffer holds only a correct beginning of it. Returns true once the
    /// outcome is known: <paramref name="valid"/> true with the preface sliced off the buffer, or false as soon as a
    /// byte differs (the buffer unchanged, so a caller can fall back or answer, e.g., an HTTP/1 request).
    /// </summary>
    public static bool TryReadPreface(ref ReadOnlySequence<byte> buffer, out bool valid)
    {
        ReadOnlySpan<byte> preface = Http2FrameWriter.ClientPreface;
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= preface.Length)
        {
            valid = first.StartsWith(preface);
            if (valid)
            {
                buffer = buffer.Slice(preface.Length);
            }

            return true;
        }

        Span<byte> head = stackalloc byte[PrefaceLength];
        int available = (int)Math.Min(buffer.Length, preface.Length);
        buffer.Slice(0, available).CopyTo(head);
        if (!head[..available].SequenceEqual(preface[..available]))
        {
            valid = false;
            return true;
        }

        if (available < preface.Length)
        {
            valid = false;
            return false;
        }

        valid = true;
        buffer = buffer.Slice(preface.Length);
        return true;
    }

    /// <summary>
    /// Cuts the next whole frame off the front of <paramref name="buffer"/>. Returns false, consuming nothing and
    /// leaving the buffer unchanged, when the buffer does not hold the whole frame yet. Throws
    /// <see cref="Http2ConnectionException"/> (FRAME_SIZE_ERROR) as soon as the 9-octet header announces a payload
    /// longer than <paramref name="maxFrameSize"/> (the SETTINGS_MAX_FRAME_SIZE we advertised), without waiting for
    /// it. Frames of unknown type are returned like any other; the caller ignores them.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out Http2Frame frame)
    {
        if (maxFrameSize is < MinMaxFrameSize or > MaxMaxFrameSize)
        {
            ThrowMaxFrameSizeOutOfRange(maxFrameSize);
        }

        if (buffer.Length < FrameHeaderLength)
        {
            frame = default;
            return false;
        }

        Span<byte> scratch = stackalloc byte[FrameHeaderLength];
        ReadOnlySpan<byte> bytes = Head(buffer, scratch);
        int length = (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];
        if (length > maxFrameSize)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"a {(Http2FrameType)bytes[3]} frame of {length} octets exceeds SETTINGS_MAX_FRAME_SIZE ({maxFrameSize})");
        }

        if (buffer.Length - FrameHeaderLength < length)
        {
            frame = default;
            return false;
        }

        var header = new Http2FrameHeader(length, (Http2FrameType)bytes[3], (Http2FrameFlags)bytes[4], ReadStreamId(bytes[5..]));
        ReadOnlySequence<byte> payload = buffer.Slice(FrameHeaderLength, length);
        buffer = buffer.Slice(payload.End);
        frame = new Http2Frame(header, payload);
        return true;
    }

    /// <summary>DATA (RFC 9113 §6.1): the data, without the Pad Length octet and the padding.</summary>
    public static ReadOnlySequence<byte> ReadData(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.Data);
        RequireStream(frame);
        return Unpad(frame, 0);
    }

    /// <summary>
    /// HEADERS (RFC 9113 §6.2): the priority fields and the field block fragment, without padding. A stream that
    /// depends on itself (§5.3.1, a stream error) is NOT rejected here: the field block must still be decoded to
    /// keep the HPACK context in sync, so the caller compares <see cref="HeadersPayload.StreamDependency"/> with the
    /// stream id and resets the stream after decoding.
    /// </summary>
    public static HeadersPayload ReadHeaders(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.Headers);
        RequireStream(frame);
        bool hasPriority = (frame.Header.Flags & Http2FrameFlags.Priority) != 0;
        ReadOnlySequence<byte> rest = Unpad(frame, hasPriority ? 5 : 0);
        if (!hasPriority)
        {
            return new HeadersPayload(false, 0, false, 0, rest);
        }

        PriorityPayload priority = ReadPriorityFields(rest);
        return new HeadersPayload(true, priority.StreamDependency, priority.Exclusive, priority.Weight, rest.Slice(5));
    }

    /// <summary>
    /// PRIORITY (RFC 9113 §6.3). A length other than 5 is a stream error FRAME_SIZE_ERROR; a stream depending on
    /// itself is a stream error PROTOCOL_ERROR (§5.3.1) and is checked here, because nothing else needs the frame.
    /// </summary>
    public static PriorityPayload ReadPriority(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.Priority);
        RequireStream(frame);
        if (frame.Payload.Length != 5)
        {
            throw new Http2StreamException(frame.Header.StreamId, Http2ErrorCode.FrameSizeError, $"PRIORITY of {frame.Payload.Length} octets instead of 5");
        }

        PriorityPayload priority = ReadPriorityFields(frame.Payload);
        if (priority.StreamDependency == frame.Header.StreamId)
        {
            throw new Http2StreamException(frame.Header.StreamId, Http2ErrorCode.ProtocolError, "a stream cannot depend on itself");
        }

        return priority;
    }

    /// <summary>RST_STREAM (RFC 9113 §6.4): the error code, possibly one this enum does not name.</summary>
    public static Http2ErrorCode ReadRstStream(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.RstStream);
        RequireStream(frame);
        RequireLength(frame, 4);
        Span<byte> scratch = stackalloc byte[4];
        return (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(Head(frame.Payload, scratch));
    }

    /// <summary>
    /// SETTINGS (RFC 9113 §6.5): a reader over the (id, value) pairs, after checking the stream id and the length.
    /// An ACK is returned as an empty reader with <see cref="Http2SettingsReader.IsAck"/> set. The known settings'
    /// values are range-checked as they are read; role-dependent checks (a client receiving ENABLE_PUSH = 1) are
    /// the caller's.
    /// </summary>
    public static Http2SettingsReader ReadSettings(in Http2Frame frame) => new(frame);

    /// <summary>A SETTINGS frame with ACK (RFC 9113 §6.5): checks that it is on stream 0 and empty.</summary>
    public static void ReadSettingsAck(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.Settings);
        if ((frame.Header.Flags & Http2FrameFlags.Ack) == 0)
        {
            throw new ArgumentException("not a SETTINGS acknowledgement", nameof(frame));
        }

        _ = new Http2SettingsReader(frame);
    }

    /// <summary>PUSH_PROMISE (RFC 9113 §6.6): the promised stream id and the field block fragment, without padding.</summary>
    public static PushPromisePayload ReadPushPromise(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.PushPromise);
        RequireStream(frame);
        ReadOnlySequence<byte> rest = Unpad(frame, 4);
        Span<byte> scratch = stackalloc byte[4];
        int promised = ReadStreamId(Head(rest, scratch));
        return new PushPromisePayload(promised, rest.Slice(4));
    }

    /// <summary>PING (RFC 9113 §6.7): the 8 opaque octets, as a big-endian number.</summary>
    public static ulong ReadPing(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.Ping);
        RequireConnection(frame);
        RequireLength(frame, 8);
        Span<byte> scratch = stackalloc byte[8];
        return BinaryPrimitives.ReadUInt64BigEndian(Head(frame.Payload, scratch));
    }

    /// <summary>GOAWAY (RFC 9113 §6.8).</summary>
    public static GoAwayPayload ReadGoAway(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.GoAway);
        RequireConnection(frame);
        if (frame.Payload.Length < 8)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"GOAWAY of {frame.Payload.Length} octets, shorter than 8");
        }

        Span<byte> scratch = stackalloc byte[8];
        ReadOnlySpan<byte> bytes = Head(frame.Payload, scratch);
        return new GoAwayPayload(ReadStreamId(bytes), (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]), frame.Payload.Slice(8));
    }

    /// <summary>
    /// WINDOW_UPDATE (RFC 9113 §6.9): the increment, 1..2^31-1. A length other than 4 is a connection error
    /// (FRAME_SIZE_ERROR); an increment of 0 is a stream error on a stream and a connection error on stream 0
    /// (PROTOCOL_ERROR). Window overflow is the caller's check.
    /// </summary>
    public static int ReadWindowUpdate(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.WindowUpdate);
        RequireLength(frame, 4);
        Span<byte> scratch = stackalloc byte[4];
        int increment = (int)(BinaryPrimitives.ReadUInt32BigEndian(Head(frame.Payload, scratch)) & 0x7FFF_FFFF);
        if (increment == 0)
        {
            const string Reason = "WINDOW_UPDATE with an increment of 0";
            if (frame.Header.StreamId == 0)
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, Reason);
            }

            throw new Http2StreamException(frame.Header.StreamId, Http2ErrorCode.ProtocolError, Reason);
        }

        return increment;
    }

    /// <summary>
    /// CONTINUATION (RFC 9113 §6.10): the field block fragment. Whether a CONTINUATION may come now (right after a
    /// HEADERS, PUSH_PROMISE or CONTINUATION without END_HEADERS, on the same stream) is the caller's check.
    /// </summary>
    public static ReadOnlySequence<byte> ReadContinuation(in Http2Frame frame)
    {
        Expect(frame, Http2FrameType.Continuation);
        RequireStream(frame);
        return frame.Payload;
    }

    /// <summary>Validates one setting's value (RFC 9113 §6.5.2); unknown ids are accepted (they MUST be ignored).</summary>
    public static void ValidateSetting(Http2SettingId id, uint value)
    {
        switch (id)
        {
            case Http2SettingId.EnablePush when value > 1:
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"SETTINGS_ENABLE_PUSH of {value}, not 0 or 1");
            case Http2SettingId.InitialWindowSize when value > MaxWindowSize:
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, $"SETTINGS_INITIAL_WINDOW_SIZE of {value}, above 2^31-1");
            case Http2SettingId.MaxFrameSize when value is < MinMaxFrameSize or > MaxMaxFrameSize:
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"SETTINGS_MAX_FRAME_SIZE of {value}, outside 16384..16777215");
            default:
                break;
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Strips the Pad Length octet and the padding, checking that <paramref name="fixedFields"/> octets of fixed fields fit.</summary>
    private static ReadOnlySequence<byte> Unpad(in Http2Frame frame, int fixedFields)
    {
        ReadOnlySequence<byte> payload = frame.Payload;
        if ((frame.Header.Flags & Http2FrameFlags.Padded) == 0)
        {
            if (payload.Length < fixedFields)
            {
                ThrowTooShort(frame.Header.Type, payload.Length);
            }

            return payload;
        }

        if (payload.Length < 1 + fixedFields)
        {
            ThrowTooShort(frame.Header.Type, payload.Length);
        }

        Span<byte> scratch = stackalloc byte[1];
        int padLength = Head(payload, scratch)[0];
        long room = payload.Length - 1 - fixedFields;
        if (padLength > room)
        {
            // RFC 9113 §6.1, §6.2, §6.6: padding as long as the payload or longer is a connection error; so is
            // padding that overlaps the fixed fields, which no correct sender can produce either.
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{frame.Header.Type} padding of {padLength} octets does not fit in a payload of {payload.Length}");
        }

        return payload.Slice(1, payload.Length - 1 - padLength);
    }

    private static PriorityPayload ReadPriorityFields(in ReadOnlySequence<byte> fields)
    {
        Span<byte> scratch = stackalloc byte[5];
        ReadOnlySpan<byte> bytes = Head(fields, scratch);
        uint word = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        return new PriorityPayload((int)(word & 0x7FFF_FFFF), (word & 0x8000_0000) != 0, bytes[4]);
    }

    /// <summary>The 31-bit stream id of 4 octets; the reserved bit is ignored (RFC 9113 §4.1).</summary>
    private static int ReadStreamId(ReadOnlySpan<byte> bytes) => (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes) & 0x7FFF_FFFF);

    /// <summary>The first <c>scratch.Length</c> octets of the sequence (which holds at least that many): in place when contiguous, else copied.</summary>
    private static ReadOnlySpan<byte> Head(in ReadOnlySequence<byte> sequence, Span<byte> scratch)
    {
        ReadOnlySpan<byte> first = sequence.FirstSpan;
        if (first.Length >= scratch.Length)
        {
            return first[..scratch.Length];
        }

        sequence.Slice(0, scratch.Length).CopyTo(scratch);
        return scratch;
    }

    private static void Expect(in Http2Frame frame, Http2FrameType type)
    {
        if (frame.Header.Type != type)
        {
            ThrowWrongType(frame.Header.Type, type);
        }
    }

    private static void RequireStream(in Http2Frame frame)
    {
        if (frame.Header.StreamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{frame.Header.Type} on stream 0");
        }
    }

    private static void RequireConnection(in Http2Frame frame)
    {
        if (frame.Header.StreamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{frame.Header.Type} on stream {frame.Header.StreamId}, not 0");
        }
    }

    /// <summary>A fixed-length frame whose size error is a connection error (RST_STREAM, PING, WINDOW_UPDATE).</summary>
    private static void RequireLength(in Http2Frame frame, int length)
    {
        if (frame.Payload.Length != length)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"{frame.Header.Type} of {frame.Payload.Length} octets instead of {length}");
        }
    }

    [DoesNotReturn]
    private static void ThrowTooShort(Http2FrameType type, long length) =>
        throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"{type} of {length} octets is too short for its fixed fields");

    [DoesNotReturn]
    private static void ThrowWrongType(Http2FrameType actual, Http2FrameType expected) =>
        throw new ArgumentException($"a {actual} frame passed to the {expected} reader", "frame");

    [DoesNotReturn]
    private static void ThrowMaxFrameSizeOutOfRange(int maxFrameSize) =>
        throw new ArgumentOutOfRangeException(nameof(maxFrameSize), maxFrameSize, "SETTINGS_MAX_FRAME_SIZE is 16384..16777215");
}

/// <summary>
/// Enumerates a SETTINGS payload's (id, value) pairs in wire order without allocating (RFC 9113 §6.5.1). Unknown
/// ids are returned too (callers ignore them, §6.5.2); the values of known ids are range-checked as they are read,
/// throwing <see cref="Http2ConnectionException"/> (PROTOCOL_ERROR or FLOW_CONTROL_ERROR).
/// </summary>
public ref struct Http2SettingsReader
{
    private const int EntryLength = 6;
    private ReadOnlySequence<byte> _payload;

    /// <summary>Checks a SETTINGS frame (stream 0, a length that is a multiple of 6, an empty ACK) and reads its payload.</summary>
    public Http2SettingsReader(in Http2Frame frame)
    {
        if (frame.Header.Type != Http2FrameType.Settings)
        {
            throw new ArgumentException($"a {frame.Header.Type} frame passed to the SETTINGS reader", nameof(frame));
        }

        if (frame.Header.StreamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"SETTINGS on stream {frame.Header.StreamId}, not 0");
        }

        IsAck = (frame.Header.Flags & Http2FrameFlags.Ack) != 0;
        if (IsAck && frame.Payload.Length != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"SETTINGS ACK with a payload of {frame.Payload.Length} octets");
        }

        if (frame.Payload.Length % EntryLength != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"SETTINGS of {frame.Payload.Length} octets, not a multiple of 6");
        }

        _payload = frame.Payload;
        Count = (int)(frame.Payload.Length / EntryLength);
    }

    /// <summary>The frame is an acknowledgement (no settings).</summary>
    public bool IsAck { get; }

    /// <summary>How many (id, value) pairs the frame carries in all.</summary>
    public int Count { get; }

    /// <summary>The next setting, validated; false at the end.</summary>
    public bool TryRead(out Http2SettingId id, out uint value)
    {
        if (_payload.IsEmpty)
        {
            id = default;
            value = 0;
            return false;
        }

        ReadOnlySpan<byte> first = _payload.FirstSpan;
        Span<byte> scratch = stackalloc byte[EntryLength];
        if (first.Length >= EntryLength)
        {
            first[..EntryLength].CopyTo(scratch);
        }
        else
        {
            _payload.Slice(0, EntryLength).CopyTo(scratch);
        }

        _payload = _payload.Slice(EntryLength);
        id = (Http2SettingId)BinaryPrimitives.ReadUInt16BigEndian(scratch);
        value = BinaryPrimitives.ReadUInt32BigEndian(scratch[2..]);
        Http2FrameReader.ValidateSetting(id, value);
        return true;
    }
}
