namespace Switchyard.Http2;

/// <summary>
/// RFC 9113 §5.1 stream states. The reserved states are left out: push is disabled in both directions
/// (SETTINGS_ENABLE_PUSH 0, and a PUSH_PROMISE is a connection error), so no stream is ever reserved.
/// </summary>
internal enum Http2StreamState : byte
{
    Idle,
    Open,

    /// <summary>We sent END_STREAM; the peer may still send.</summary>
    HalfClosedLocal,

    /// <summary>The peer sent END_STREAM; we may still send.</summary>
    HalfClosedRemote,

    Closed,
}

/// <summary>How a stream reached <see cref="Http2StreamState.Closed"/> (h2's <c>Cause</c>): it decides what a late frame gets.</summary>
internal enum Http2CloseCause : byte
{
    None,

    /// <summary>Both sides sent END_STREAM.</summary>
    EndStream,

    /// <summary>We sent RST_STREAM: frames already in flight from the peer are ignored (RFC 9113 §5.1, closed).</summary>
    LocalReset,

    /// <summary>The peer sent RST_STREAM.</summary>
    RemoteReset,

    /// <summary>The connection ended under the stream.</summary>
    ConnectionEnded,
}

/// <summary>
/// The state of one stream and every transition between states, each with the RFC 9113 §5.1 sentence it enforces
/// (model: hyperium/h2 <c>proto/streams/state.rs</c>). Not thread-safe: the connection calls it under its lock.
/// </summary>
internal struct Http2StreamStateMachine
{
    public Http2StreamState State { get; private set; }

    public Http2CloseCause Cause { get; private set; }

    public readonly bool IsClosed => State == Http2StreamState.Closed;

    /// <summary>The peer's direction has ended (END_STREAM or reset): no more DATA or HEADERS from it.</summary>
    public readonly bool RemoteEnded => State is Http2StreamState.HalfClosedRemote or Http2StreamState.Closed;

    /// <summary>
    /// idle -> open / half-closed: "Receiving a HEADERS frame causes the stream to become 'open'" (server role), or
    /// sending one (client role); with END_STREAM on that HEADERS the stream goes on to half-closed at once.
    /// </summary>
    public void Open(bool receivedByUs, bool endStream)
    {
        State = !endStream ? Http2StreamState.Open
            : receivedByUs ? Http2StreamState.HalfClosedRemote
            : Http2StreamState.HalfClosedLocal;
    }

    /// <summary>Whether the peer may send HEADERS or DATA on the stream now; null when it may, else the stream error.</summary>
    public readonly Http2ErrorCode? CheckReceive() => State switch
    {
        Http2StreamState.Open or Http2StreamState.HalfClosedLocal => null,

        // §5.1 half-closed (remote): "If an endpoint receives additional frames, other than WINDOW_UPDATE,
        // PRIORITY, or RST_STREAM, for a stream that is in this state, it MUST respond with a stream error
        // (Section 5.4.2) of type STREAM_CLOSED."
        // §5.1 closed: "An endpoint that receives any frame other than PRIORITY after receiving a RST_STREAM MUST
        // treat that as a stream error (Section 5.4.2) of type STREAM_CLOSED."
        Http2StreamState.HalfClosedRemote or Http2StreamState.Closed => Http2ErrorCode.StreamClosed,

        // §5.1 idle: "Receiving any frame other than HEADERS or PRIORITY on a stream in this state MUST be treated as
        // a connection error (Section 5.4.1) of type PROTOCOL_ERROR." (the connection checks ids before a stream
        // exists; an idle stream object here is a bug of ours, answered as that error on the stream)
        _ => Http2ErrorCode.ProtocolError,
    };

    /// <summary>
    /// A HEADERS or DATA frame from the peer that <see cref="CheckReceive"/> allowed; <paramref name="endStream"/> ends
    /// the peer's direction: open -> half-closed (remote), half-closed (local) -> closed.
    /// </summary>
    /// <returns>True when this made the stream closed.</returns>
    public bool Receive(bool endStream)
    {
        if (!endStream)
        {
            return false;
        }

        if (State == Http2StreamState.Open)
        {
            State = Http2StreamState.HalfClosedRemote;
            return false;
        }

        return State == Http2StreamState.HalfClosedLocal && Close(Http2CloseCause.EndStream);
    }

    /// <summary>We sent END_STREAM: open -> half-closed (local), half-closed (remote) -> closed.</summary>
    /// <returns>True when this made the stream closed.</returns>
    public bool SendEnd()
    {
        switch (State)
        {
            case Http2StreamState.Open:
                State = Http2StreamState.HalfClosedLocal;
                return false;
            case Http2StreamState.HalfClosedRemote:
                return Close(Http2CloseCause.EndStream);
            default:
                return false; // half-closed (local) already, or closed by a reset: nothing changes
        }
    }

    /// <summary>
    /// "Either endpoint can send a frame with the RST_STREAM flag set, ... this causes the stream to transition
    /// immediately to 'closed'" (§5.1 open); also the end of the connection.
    /// </summary>
    /// <returns>False when the stream was closed already (nothing changes, the first cause stays).</returns>
    public bool Close(Http2CloseCause cause)
    {
        if (State == Http2StreamState.Closed)
        {
            return false;
        }

        State = Http2StreamState.Closed;
        Cause = cause;
        return true;
    }
}
