namespace Switchyard.Config;

/// <summary>
/// The timeouts and connection limit of one port (SPEC "Limits and timeouts", <c>ports[].limits</c>). Each default
/// says why it is that number; each limit that ends a connection has its own end reason (logs, metrics). Size limits
/// of the codecs stay with them (<see cref="Http1.Http1Limits"/>, <see cref="Http2.Http2Limits"/>).
/// </summary>
public sealed record PortLimits
{
    public static readonly PortLimits Default = new();

    /// <summary>
    /// From accept to a finished TLS handshake (end reason <c>tls_handshake_timeout</c>). 10 s: a handshake is two
    /// round trips plus certificate checks; nginx's ssl_handshake_timeout is 60 s, HAProxy's timeout client applies,
    /// Kestrel's default is 10 s. A caller that opens and sends nothing is gone after this.
    /// </summary>
    public TimeSpan TlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// From the first byte of an HTTP/1 request head (or an HTTP/2 HEADERS frame that needs CONTINUATION) to its end
    /// (end reason <c>request_head_timeout</c>). 10 s, as Kestrel's RequestHeadersTimeout is 30 s and nginx's
    /// client_header_timeout 60 s: a real client sends its head in one packet; a slowloris trickles it for minutes.
    /// </summary>
    public TimeSpan RequestHeadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A connection with no request or stream in flight (end reason <c>idle_timeout</c>; HTTP/2 gets GOAWAY NO_ERROR).
    /// 120 s: above the keep-alive of every common client pool (Go 90 s, .NET 120 s idle, browsers 60-300 s) so we are
    /// rarely the side that closes first, well below what lets idle callers pile up (nginx keepalive_timeout 75 s).
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// A request or HTTP/2 stream with no byte moving either way (ends that exchange; end reason
    /// <c>stream_idle_timeout</c>). 5 min, Envoy's stream_idle_timeout: long enough for a slow app, not for a body
    /// that never comes.
    /// </summary>
    public TimeSpan StreamIdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A caller or app that accepts no bytes for this long loses the connection (end reason <c>write_stall</c>).
    /// 60 s, nginx's send_timeout. Enforced by the kernel (TCP_USER_TIMEOUT: unacknowledged data, zero window
    /// probes included), so a slow reader costs no timer of ours.
    /// </summary>
    public TimeSpan WriteStallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long to wait for the app's response head (504 on expiry, end reason <c>app_response_timeout</c> for the
    /// exchange). None by default: only the app knows how long its slowest request takes (long polls, reports);
    /// <see cref="StreamIdleTimeout"/> still bounds a wait with nothing moving.
    /// </summary>
    public TimeSpan? AppResponseTimeout { get; init; }

    /// <summary>
    /// Connections open at once on this port; one more is closed at accept (end reason <c>max_connections</c>). None by
    /// default: what fits depends on the pod's memory.
    /// </summary>
    public int? MaxConnections { get; init; }

    /// <summary>
    /// Most body bytes buffered to evaluate a body filter (SPEC.md "Body filters"); a longer body does not match and is
    /// forwarded unchanged (<c>switchyard_body_filter_total{result="too_large"}</c>). 64 KiB, as mirrord's HTTP body
    /// filter: JSON API requests are a few KiB; uploads that are larger are not what a body filter is for.
    /// </summary>
    public int MaxBodyBytes { get; init; } = 64 * 1024;

    /// <summary>Upper bound of <see cref="MaxBodyBytes"/> a config may set: 16 MiB per request held in memory.</summary>
    public const int MaxBodyBytesLimit = 16 * 1024 * 1024;

    /// <summary>
    /// How long to wait for the whole body of a request a body filter may still take (SPEC.md "Body filters"); a
    /// slower body does not match and is forwarded as it arrives (<c>result="timeout"</c>). 1 s, as mirrord: the
    /// delay a slow caller can add to its own request, never more.
    /// </summary>
    public TimeSpan BodyTimeout { get; init; } = TimeSpan.FromSeconds(1);
}
