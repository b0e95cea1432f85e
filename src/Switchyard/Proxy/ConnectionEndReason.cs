namespace Switchyard.Proxy;

/// <summary>Why a downstream connection ended; shown in the ConnectionEnded log line and in metrics.</summary>
public enum ConnectionEndReason : byte
{
    Completed,
    DownstreamReset,
    UpstreamReset,
    AppUnreachable,
    DownstreamTlsFailed,
    UpstreamTlsFailed,
    NotTlsOnTlsPort,
    TlsOnPlaintextPort,
    DrainTimeout,
    BadRequest,
    InterceptUnavailable,
    ProtocolError,
    Error,

    /// <summary>The TLS handshake did not finish within <c>tlsHandshakeTimeout</c>.</summary>
    TlsHandshakeTimeout,

    /// <summary>A request head took longer than <c>requestHeadTimeout</c> from its first byte.</summary>
    RequestHeadTimeout,

    /// <summary>No request or stream in flight for <c>idleTimeout</c>.</summary>
    IdleTimeout,

    /// <summary>A request or stream moved no byte either way for <c>streamIdleTimeout</c>.</summary>
    StreamIdleTimeout,

    /// <summary>The caller or the app accepted no byte for <c>writeStallTimeout</c> (the kernel's TCP_USER_TIMEOUT).</summary>
    WriteStall,

    /// <summary>The port already had <c>maxConnections</c> open.</summary>
    MaxConnections,

    /// <summary>The app did not start its response within <c>appResponseTimeout</c> (the caller got 504).</summary>
    AppResponseTimeout,

    /// <summary>The agent already held every connection its memory limit allows (<see cref="ConnectionBudget"/>).</summary>
    MemoryLimit,
}

public static class ConnectionEndReasons
{
    /// <summary>Every end reason's name, in enum order (the metrics write each as 0 until it happens).</summary>
    public static IReadOnlyList<string> AllNames { get; } = Enum.GetValues<ConnectionEndReason>().Select(r => r.Name()).Distinct().ToArray();

    public static string Name(this ConnectionEndReason reason) => reason switch
    {
        ConnectionEndReason.Completed => "completed",
        ConnectionEndReason.DownstreamReset => "downstream_reset",
        ConnectionEndReason.UpstreamReset => "upstream_reset",
        ConnectionEndReason.AppUnreachable => "app_unreachable",
        ConnectionEndReason.DownstreamTlsFailed => "downstream_tls_failed",
        ConnectionEndReason.UpstreamTlsFailed => "upstream_tls_failed",
        ConnectionEndReason.NotTlsOnTlsPort => "not_tls_on_tls_port",
        ConnectionEndReason.TlsOnPlaintextPort => "tls_on_plaintext_port",
        ConnectionEndReason.DrainTimeout => "drain_timeout",
        ConnectionEndReason.BadRequest => "bad_request",
        ConnectionEndReason.InterceptUnavailable => "intercept_unavailable",
        ConnectionEndReason.ProtocolError => "protocol_error",
        ConnectionEndReason.TlsHandshakeTimeout => "tls_handshake_timeout",
        ConnectionEndReason.RequestHeadTimeout => "request_head_timeout",
        ConnectionEndReason.IdleTimeout => "idle_timeout",
        ConnectionEndReason.StreamIdleTimeout => "stream_idle_timeout",
        ConnectionEndReason.WriteStall => "write_stall",
        ConnectionEndReason.MaxConnections => "max_connections",
        ConnectionEndReason.AppResponseTimeout => "app_response_timeout",
        ConnectionEndReason.MemoryLimit => "memory_limit",
        _ => "error",
    };
}
