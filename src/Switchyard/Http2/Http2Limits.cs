namespace Switchyard.Http2;

/// <summary>
/// Every HTTP/2 limit of one connection, with its default and the reason for it (model: Kestrel's Http2Limits,
/// Envoy's protocol_constraints). Two kinds: what we announce in SETTINGS and grant through flow control, and the
/// abuse limits that <see cref="Http2AbuseGuard"/> enforces (RFC 9113 §10.5).
/// <para>
/// Rate limits are token buckets: <c>*Burst</c> events at once, refilled at <c>*PerSecond</c> (1 or more); set a
/// burst to <see cref="int.MaxValue"/> to disable a limit. The defaults are set so that no well-behaved client comes
/// near them while each attack, which needs thousands of events per second per connection to hurt, is cut off within
/// its first second. Points of comparison:
/// </para>
/// <list type="bullet">
/// <item>nghttp2 (so Node, Apache mod_http2, curl-based servers): incoming RST_STREAM token bucket, burst 1000,
/// 33/s; at most 32 entries per SETTINGS frame (GHSA-q5wr-xfw9-q7xr).</item>
/// <item>Jetty's rate control: 128 events/s, counting RST_STREAM, SETTINGS, CONTINUATION and empty frames.</item>
/// <item>Envoy: 1 consecutive frame with an empty payload, 100 PRIORITY frames per stream; Netty: 2 consecutive
/// empty DATA frames.</item>
/// <item>hyper's h2: CONTINUATION frames per block capped at a small multiple of
/// max_header_list_size / max_frame_size; Kestrel and nginx bound the whole header block by the header size limit
/// and drop the connection past it.</item>
/// </list>
/// </summary>
public sealed record Http2Limits
{
    public static readonly Http2Limits Default = new();

    // ------------------------------------------------------------ what we announce (SETTINGS) and grant

    /// <summary>
    /// SETTINGS_MAX_CONCURRENT_STREAMS we grant a caller. 128, as nginx (http2_max_concurrent_streams) and within
    /// Kestrel's 100 / HAProxy's 100: enough for a browser's page or a gRPC client's channel, and small enough that
    /// one connection cannot hold more than that many app exchanges at once. A stream keeps its slot until its
    /// exchange with the app has ended, not just until its frames did (a reset stream whose upstream request still
    /// runs still counts).
    /// </summary>
    public int MaxConcurrentStreams { get; init; } = 128;

    /// <summary>
    /// SETTINGS_INITIAL_WINDOW_SIZE: how much one stream may send before we forward it. 256 KiB keeps a
    /// single upload near line rate on a LAN round trip (Kestrel: 768 KiB, nginx: 64 KiB) while bounding what a stream
    /// buffers here: flow control is end to end, the window re-opens only after the bytes went on.
    /// </summary>
    public int InitialStreamWindow { get; init; } = 256 * 1024;

    /// <summary>
    /// Connection receive window (raised from 65,535 by a WINDOW_UPDATE on stream 0 after the preface). 1 MiB: four
    /// streams at full window (Kestrel: 1 MiB too); the most one connection can make us buffer.
    /// </summary>
    public int ConnectionWindow { get; init; } = 1024 * 1024;

    /// <summary>SETTINGS_MAX_FRAME_SIZE: the protocol's minimum, 16 KiB (RFC 9113 §6.5.2); larger frames buy nothing on a proxy path.</summary>
    public int MaxFrameSize { get; init; } = 16 * 1024;

    /// <summary>SETTINGS_HEADER_TABLE_SIZE: the RFC 7541 default of 4 KiB, what every peer expects.</summary>
    public int HeaderTableSize { get; init; } = 4096;

    /// <summary>
    /// SETTINGS_MAX_HEADER_LIST_SIZE: the decoded header list of one block (RFC 9113 §6.5.2). 64 KiB, as nginx's
    /// large_client_header_buffers total and above Kestrel's 32 KiB: big cookies and JWTs fit, a header bomb does not.
    /// </summary>
    public int MaxHeaderListSize { get; init; } = 64 * 1024;

    // ------------------------------------------------------------ abuse limits (Http2AbuseGuard)

    /// <summary>
    /// Rapid reset (CVE-2023-44487): streams the peer resets, that we reset or refuse because of the peer. 200 at
    /// once covers a browser cancelling a whole page's worth of requests (our MAX_CONCURRENT_STREAMS is 128)...
    /// </summary>
    public int ResetBurst { get; init; } = 200;

    /// <summary>...then 50 per second sustained: between nghttp2 (33/s) and Jetty (128 events/s), and far below the thousands per second of the attack.</summary>
    public int ResetsPerSecond { get; init; } = 50;

    /// <summary>
    /// CONTINUATION flood (CVE-2024-27316): the field block fragments of one header block (HEADERS or PUSH_PROMISE
    /// and its CONTINUATIONs), before HPACK decoding. 128 KiB is twice our SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB):
    /// an HPACK encoding is never larger than its header list size (each field counts 32 octets on top of its
    /// name and value, more than any representation's overhead), so a block that long would be refused anyway.
    /// Past it the connection is closed with ENHANCE_YOUR_CALM, as Kestrel and nginx do: the block cannot be
    /// skipped (HPACK state would desynchronise), and buffering it further is what the attack wants.
    /// </summary>
    public int MaxHeaderBlockBytes { get; init; } = 128 * 1024;

    /// <summary>
    /// CONTINUATION frames per header block. A 128 KiB block needs 8 frames at the minimum frame size of 16 KiB;
    /// 32 leaves room for senders that split at 4 KiB, and stops floods of tiny frames (which carry little data
    /// and would take forever to reach <see cref="MaxHeaderBlockBytes"/>).
    /// </summary>
    public int MaxContinuationFrames { get; init; } = 32;

    /// <summary>
    /// Header blocks whose decoded list exceeded SETTINGS_MAX_HEADER_LIST_SIZE. The caller decodes the block (to
    /// keep HPACK in sync) and resets just that stream (the RFC 9113 §10.5.1 answer, a 431-like refusal); a peer
    /// that keeps doing it, 10 at once then 1 per second, is making us decode and discard large blocks on purpose.
    /// </summary>
    public int HeaderListTooLargeBurst { get; init; } = 10;

    public int HeaderListTooLargePerSecond { get; init; } = 1;

    /// <summary>
    /// SETTINGS flood (CVE-2019-9515): SETTINGS frames without ACK, each of which we must acknowledge. A client
    /// sends one at the start and rarely any later: 10 at once, then 1 per second.
    /// </summary>
    public int SettingsBurst { get; init; } = 10;

    public int SettingsPerSecond { get; init; } = 1;

    /// <summary>
    /// Entries in one SETTINGS frame (nghttp2's default, GHSA-q5wr-xfw9-q7xr): there are 6 defined settings plus a
    /// few extensions, while a 16 KiB frame could carry 2730 entries, each possibly adjusting every open stream's
    /// window.
    /// </summary>
    public int MaxSettingsEntries { get; init; } = 32;

    /// <summary>
    /// PING flood (CVE-2019-9512): PINGs needing an ACK. Generous, because gRPC and hyper clients send a
    /// bandwidth-delay-product probe PING per round trip while a large response flows: 100 at once, 50 per
    /// second. Our ACKs are written under flush back-pressure, so they cannot pile up in memory.
    /// </summary>
    public int PingBurst { get; init; } = 100;

    public int PingsPerSecond { get; init; } = 50;

    /// <summary>
    /// Empty frame flood (CVE-2019-9518): DATA with no data and no END_STREAM, HEADERS / CONTINUATION with an empty
    /// fragment and no END_HEADERS. They do nothing, and correct senders produce them rarely (an application
    /// flushing an empty write): 50 at once, 10 per second.
    /// </summary>
    public int EmptyFrameBurst { get; init; } = 50;

    public int EmptyFramesPerSecond { get; init; } = 10;

    /// <summary>
    /// PRIORITY flood (CVE-2019-9513): RFC 9113 deprecates the priority tree and we ignore it, so these frames only
    /// cost parsing; browsers that still send them send a few per page: 100 at once, 20 per second.
    /// </summary>
    public int PriorityBurst { get; init; } = 100;

    public int PrioritiesPerSecond { get; init; } = 20;

    /// <summary>
    /// How long the peer may keep our send window at 0 while we have data for it (a slow-read attack holding the
    /// stream, its upstream and its buffers): 30 s, in line with nginx's send_timeout (60 s between writes) and
    /// Kestrel's minimum response data rate (240 B/s after a 5 s grace).
    /// </summary>
    public TimeSpan ZeroWindowTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
