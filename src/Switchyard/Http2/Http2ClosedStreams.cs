namespace Switchyard.Http2;

/// <summary>
/// How recently closed streams ended, so that a late frame gets the answer RFC 9113 §5.1 gives for its cause: frames
/// in flight after our RST_STREAM are ignored, HEADERS after both END_STREAMs is a connection error STREAM_CLOSED,
/// and a stream id below the highest that was never opened is a connection error PROTOCOL_ERROR (§5.1.1). A ring of
/// the last <see cref="Capacity"/> closes: older streams are answered as if never opened, which is the strict
/// reading, and a peer does not keep sending on a stream that far back. Guarded by the connection's lock.
/// </summary>
internal sealed class Http2ClosedStreams
{
    /// <summary>Twice our MAX_CONCURRENT_STREAMS (128): a whole generation of streams closing at once, and the one before.</summary>
    public const int Capacity = 256;

    private readonly (int Id, Http2CloseCause Cause)[] _ring = new (int, Http2CloseCause)[Capacity];
    private int _next;

    public void Remember(int streamId, Http2CloseCause cause)
    {
        _ring[_next] = (streamId, cause);
        _next = (_next + 1) % Capacity;
    }

    /// <summary>The cause of a recently closed stream, or <see cref="Http2CloseCause.None"/> when it is not remembered.</summary>
    public Http2CloseCause CauseOf(int streamId)
    {
        foreach ((int id, Http2CloseCause cause) in _ring)
        {
            if (id == streamId && cause != Http2CloseCause.None)
            {
                return cause;
            }
        }

        return Http2CloseCause.None;
    }
}
