using System.Buffers;

namespace Switchyard.Http2;

/// <summary>
/// Frame types of RFC 9113 §6. Any other value is an unknown (extension) type: <see cref="Http2FrameReader"/> still
/// hands such a frame out, and callers MUST ignore and discard it (RFC 9113 §4.1, §5.5).
/// </summary>
public enum Http2FrameType : byte
{
    Data = 0,
    Headers = 1,
    Priority = 2,
    RstStream = 3,
    Settings = 4,
    PushPromise = 5,
    Ping = 6,
    GoAway = 7,
    WindowUpdate = 8,
    Continuation = 9,
}

/// <summary>
/// Frame flags (RFC 9113 §6). A flag's meaning depends on the frame type (<see cref="EndStream"/> and
/// <see cref="Ack"/> share a bit); flags a type does not define MUST be ignored on receipt (§4.1).
/// </summary>
[Flags]
public enum Http2FrameFlags : byte
{
    None = 0,
    EndStream = 0x1,
    Ack = 0x1,
    EndHeaders = 0x4,
    Padded = 0x8,
    Priority = 0x20,
}

/// <summary>Error codes of RFC 9113 §7, carried by RST_STREAM and GOAWAY. Unknown codes MUST NOT trigger special behaviour.</summary>
public enum Http2ErrorCode : uint
{
    NoError = 0,
    ProtocolError = 1,
    InternalError = 2,
    FlowControlError = 3,
    SettingsTimeout = 4,
    StreamClosed = 5,
    FrameSizeError = 6,
    RefusedStream = 7,
    Cancel = 8,
    CompressionError = 9,
    ConnectError = 10,
    EnhanceYourCalm = 11,
    InadequateSecurity = 12,
    Http11Required = 13,
}

/// <summary>SETTINGS parameters of RFC 9113 §6.5.2. Unknown identifiers MUST be ignored.</summary>
public enum Http2SettingId : ushort
{
    HeaderTableSize = 1,
    EnablePush = 2,
    MaxConcurrentStreams = 3,
    InitialWindowSize = 4,
    MaxFrameSize = 5,
    MaxHeaderListSize = 6,
}

/// <summary>
/// The 9-octet frame header (RFC 9113 §4.1). <see cref="StreamId"/> is the 31-bit identifier, the reserved bit
/// already masked off; <see cref="Type"/> may be a value outside <see cref="Http2FrameType"/>'s names.
/// </summary>
public readonly record struct Http2FrameHeader(int Length, Http2FrameType Type, Http2FrameFlags Flags, int StreamId)
{
    public bool HasFlag(Http2FrameFlags flag) => (Flags & flag) == flag;
}

/// <summary>
/// One frame as read: its header and its whole payload, padding and fixed fields included (decode it with the
/// <c>Read*</c> methods of <see cref="Http2FrameReader"/>). The payload is a slice of the receive buffer, valid
/// until the reader of that buffer advances past it.
/// </summary>
public readonly struct Http2Frame(Http2FrameHeader header, ReadOnlySequence<byte> payload)
{
    public Http2FrameHeader Header { get; } = header;

    public ReadOnlySequence<byte> Payload { get; } = payload;

    public Http2FrameType Type => Header.Type;

    public Http2FrameFlags Flags => Header.Flags;

    public int StreamId => Header.StreamId;

    public override string ToString() => $"{Header.Type} stream={Header.StreamId} flags=0x{(byte)Header.Flags:x2} length={Header.Length}";
}

/// <summary>
/// A connection error (RFC 9113 §5.4.1): the connection ends with GOAWAY carrying <see cref="Code"/>.
/// <see cref="Exception.Message"/> is a short reason, fit for GOAWAY debug data and logs.
/// </summary>
public sealed class Http2ConnectionException(Http2ErrorCode code, string message) : Exception(message)
{
    public Http2ErrorCode Code { get; } = code;
}

/// <summary>
/// A stream error (RFC 9113 §5.4.2): RST_STREAM with <see cref="Code"/> on <see cref="StreamId"/>; the connection goes on.
/// </summary>
public sealed class Http2StreamException(int streamId, Http2ErrorCode code, string message) : Exception(message)
{
    public int StreamId { get; } = streamId;

    public Http2ErrorCode Code { get; } = code;
}

/// <summary>
/// The PRIORITY fields (RFC 9113 §5.3.2, §6.3; deprecated by §5.3 but still on the wire). <see cref="Weight"/> is
/// the wire value: the weight minus one (0..255 stands for 1..256).
/// </summary>
public readonly record struct PriorityPayload(int StreamDependency, bool Exclusive, byte Weight);

// The payloads holding a ReadOnlySequence are plain structs, not records: a record's generated equality would
// compare the sequence through ValueType.Equals (boxing, field-by-field reflection on CoreCLR).

/// <summary>
/// A HEADERS payload without its padding (RFC 9113 §6.2). The priority fields are meaningful only when
/// <see cref="HasPriority"/>. <see cref="Fragment"/> is the field block fragment: the whole block when the frame
/// has END_HEADERS, else the first part, CONTINUATION frames bring the rest.
/// </summary>
public readonly struct HeadersPayload(bool hasPriority, int streamDependency, bool exclusive, byte weight, ReadOnlySequence<byte> fragment)
{
    public bool HasPriority { get; } = hasPriority;

    public int StreamDependency { get; } = streamDependency;

    public bool Exclusive { get; } = exclusive;

    /// <summary>The wire value: the weight minus one.</summary>
    public byte Weight { get; } = weight;

    public ReadOnlySequence<byte> Fragment { get; } = fragment;

    public PriorityPayload Priority => new(StreamDependency, Exclusive, Weight);
}

/// <summary>A PUSH_PROMISE payload without its padding (RFC 9113 §6.6).</summary>
public readonly struct PushPromisePayload(int promisedStreamId, ReadOnlySequence<byte> fragment)
{
    public int PromisedStreamId { get; } = promisedStreamId;

    public ReadOnlySequence<byte> Fragment { get; } = fragment;
}

/// <summary>A GOAWAY payload (RFC 9113 §6.8); <see cref="DebugData"/> is opaque diagnostic data, possibly empty.</summary>
public readonly struct GoAwayPayload(int lastStreamId, Http2ErrorCode errorCode, ReadOnlySequence<byte> debugData)
{
    public int LastStreamId { get; } = lastStreamId;

    public Http2ErrorCode ErrorCode { get; } = errorCode;

    public ReadOnlySequence<byte> DebugData { get; } = debugData;
}
