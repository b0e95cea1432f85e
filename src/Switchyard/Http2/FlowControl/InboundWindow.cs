namespace Switchyard.Http2.FlowControl;

/// <summary>
/// A window we grant the peer (RFC 9113 §6.9): every DATA frame (padding included) takes from it, and we give it
/// back with WINDOW_UPDATE only once the bytes have been forwarded or dropped, so what one peer makes us buffer is
/// bounded by the window. Updates are batched: one is due when a quarter of <see cref="Size"/> has been released
/// (as Kestrel's InputFlowControl does), which keeps the peer sending without a WINDOW_UPDATE per frame. One per
/// stream and one for the connection; guarded by the connection's lock.
/// </summary>
internal struct InboundWindow(int initial, int size)
{
    private int _available = initial;
    private int _released;

    /// <summary>The window we aim to keep open (our SETTINGS_INITIAL_WINDOW_SIZE, or the connection window).</summary>
    public readonly int Size => size;

    /// <summary>What the peer may still send.</summary>
    public readonly int Available => _available;

    /// <summary>A DATA frame of <paramref name="length"/> octets arrived.</summary>
    /// <returns>
    /// False when it exceeds the window: "A receiver MAY respond with a stream error or connection error of type
    /// FLOW_CONTROL_ERROR if it is unable to accept a frame" — the sender broke §6.9.1 ("A sender MUST NOT send a
    /// flow-controlled frame with a length that exceeds the space available").
    /// </returns>
    public bool TryReceive(int length)
    {
        if (length > _available)
        {
            return false;
        }

        _available -= length;
        return true;
    }

    /// <summary>Opens the window by <paramref name="increment"/> at once (the connection's first WINDOW_UPDATE).</summary>
    public void Grow(int increment) => _available += increment;

    /// <summary><paramref name="bytes"/> were forwarded or dropped.</summary>
    /// <returns>The WINDOW_UPDATE increment to send now, or 0 when none is due yet.</returns>
    public int Release(int bytes)
    {
        _released += bytes;
        if (_released < size / 4)
        {
            return 0;
        }

        int increment = _released;
        _available += increment;
        _released = 0;
        return increment;
    }
}
