namespace Switchyard.Proxy;

/// <summary>
/// What a connection waits for now, which decides the timeout that applies (SPEC "Limits and timeouts"); the
/// <see cref="Heartbeat"/> compares it with the clock once a second. Set by the processors as a request goes by.
/// </summary>
public enum ConnectionPhase : byte
{
    /// <summary>No timeout of ours (a raw relay, a tunnel: their bytes are the app's business).</summary>
    Unbounded,

    /// <summary>No request or stream in flight: <c>idleTimeout</c> from when the phase started.</summary>
    Idle,

    /// <summary>A request head has started and not ended: <c>requestHeadTimeout</c> from its first byte.</summary>
    RequestHead,

    /// <summary>A request or stream in flight: <c>streamIdleTimeout</c> from the last byte that moved either way.</summary>
    Exchange,

    /// <summary>Idle HTTP/2 connection sent GOAWAY NO_ERROR: the caller has <see cref="Heartbeat.GoAwayGrace"/> to close.</summary>
    Closing,
}
