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
}

public static class ConnectionEndReasons
{
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
        _ => "error",
    };
}
