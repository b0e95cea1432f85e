namespace Switchyard.Http2.FlowControl;

/// <summary>
/// A window the peer grants us (RFC 9113 §6.9): DATA we send takes from it, WINDOW_UPDATE and a change of
/// SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2, which may make it negative) give back. One per stream and one for the
/// connection; guarded by the connection's lock.
/// </summary>
internal struct OutboundWindow(long initial)
{
    /// <summary>"A sender MUST NOT allow a flow-control window to exceed 2^31-1 octets." (§6.9.1)</summary>
    public const long MaxWindow = int.MaxValue;

    public long Available { get; private set; } = initial;

    /// <summary>Adds a WINDOW_UPDATE increment or a SETTINGS delta.</summary>
    /// <returns>
    /// False when the window now exceeds 2^31-1: "If a sender receives a WINDOW_UPDATE that causes a flow-control
    /// window to exceed this maximum, it MUST terminate either the stream or the connection, as appropriate."
    /// </returns>
    public bool TryGrow(long delta)
    {
        Available += delta;
        return Available <= MaxWindow;
    }

    public void Take(int length) => Available -= length;
}
