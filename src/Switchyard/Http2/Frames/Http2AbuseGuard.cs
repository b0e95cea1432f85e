namespace Switchyard.Http2;

/// <summary>
/// What <see cref="Http2AbuseGuard"/> decided: <see cref="Code"/> is the GOAWAY error code (or, when
/// <see cref="IsStreamError"/>, the RST_STREAM code for the one stream), <see cref="Reason"/> a stable snake_case
/// metric label. The instances are shared (one per reason), so a verdict costs no allocation.
/// </summary>
public sealed record Http2AbuseVerdict(Http2ErrorCode Code, string Reason, bool IsStreamError = false)
{
    /// <summary>CVE-2023-44487: streams reset by the peer, or by us because of the peer, faster than the reset budget.</summary>
    public static Http2AbuseVerdict RapidReset { get; } = new(Http2ErrorCode.EnhanceYourCalm, "rapid_reset");

    /// <summary>CVE-2024-27316: a header block grew past its byte or CONTINUATION frame limit before END_HEADERS.</summary>
    public static Http2AbuseVerdict ContinuationFlood { get; } = new(Http2ErrorCode.EnhanceYourCalm, "continuation_flood");

    /// <summary>Decoded header lists over SETTINGS_MAX_HEADER_LIST_SIZE, again and again.</summary>
    public static Http2AbuseVerdict HeaderListTooLarge { get; } = new(Http2ErrorCode.EnhanceYourCalm, "header_list_too_large");

    /// <summary>CVE-2019-9515: SETTINGS frames (each needs an ACK) too often, or one with too many entries.</summary>
    public static Http2AbuseVerdict SettingsFlood { get; } = new(Http2ErrorCode.EnhanceYourCalm, "settings_flood");

    /// <summary>CVE-2019-9512: PINGs needing an ACK too often.</summary>
    public static Http2AbuseVerdict PingFlood { get; } = new(Http2ErrorCode.EnhanceYourCalm, "ping_flood");

    /// <summary>CVE-2019-9518: frames with an empty payload and no END_STREAM / END_HEADERS, too often.</summary>
    public static Http2AbuseVerdict EmptyFrameFlood { get; } = new(Http2ErrorCode.EnhanceYourCalm, "empty_frame_flood");

    /// <summary>CVE-2019-9513 (resource loop): PRIORITY frames too often.</summary>
    public static Http2AbuseVerdict PriorityFlood { get; } = new(Http2ErrorCode.EnhanceYourCalm, "priority_flood");

    /// <summary>
    /// A stream opened beyond our SETTINGS_MAX_CONCURRENT_STREAMS: a stream error REFUSED_STREAM (RFC 9113 §5.1.2),
    /// not a connection error; the caller resets that stream and goes on.
    /// </summary>
    public static Http2AbuseVerdict TooManyStreams { get; } = new(Http2ErrorCode.RefusedStream, "too_many_streams", IsStreamError: true);

    /// <summary>CVE-2019-9517 style slow read: the peer kept our send window at 0 while we had data for too long.</summary>
    public static Http2AbuseVerdict ZeroWindowStall { get; } = new(Http2ErrorCode.EnhanceYourCalm, "zero_window_stall");
}

/// <summary>
/// Limits of <see cref="Http2AbuseGuard"/>. Rate limits are token buckets: <c>*Burst</c> events at once, refilled
/// at <c>*PerSecond</c> (1 or more); set a burst to <see cref="int.MaxValue"/> to disable a limit. The defaults
/// are set so that no well-behaved client comes near them while each attack, which needs thousands of events per
/// second per connection to hurt, is cut off within its first second. Points of comparison:
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
public sealed record Http2AbuseLimits
{
    public static readonly Http2AbuseLimits Default = new();

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

/// <summary>
/// The abuse limits of one HTTP/2 connection (RFC 9113 §10.5) in one place: the read loop reports each event an
/// attacker could repeat cheaply, and gets back null (fine) or a shared <see cref="Http2AbuseVerdict"/>. A
/// connection-level verdict (<see cref="Http2AbuseVerdict.IsStreamError"/> false) means GOAWAY with its code and
/// closing; the stream-level one (<see cref="Http2AbuseVerdict.TooManyStreams"/>) means RST_STREAM for that stream.
/// <para>
/// No timers and no threads: rate limits are token buckets kept as one timestamp each (the generic cell rate
/// algorithm: the time at which the bucket will be full again), advanced by the events themselves and read from
/// the injected <see cref="TimeProvider"/>. Not thread-safe: call it from the connection's read loop (or under the
/// connection's lock). Flow control of WINDOW_UPDATE is not rate-limited here: a fast download legitimately
/// produces thousands per second, so a meaningful limit needs the ratio to the DATA frames we send.
/// </para>
/// </summary>
public sealed class Http2AbuseGuard
{
    private readonly TimeProvider _time;
    private readonly Http2AbuseLimits _limits;
    private Bucket _resets;
    private Bucket _headerListTooLarge;
    private Bucket _settings;
    private Bucket _pings;
    private Bucket _emptyFrames;
    private Bucket _priorities;
    private long _headerBlockBytes;
    private int _continuationFrames;
    private bool _stalled;
    private long _stalledSince;

    public Http2AbuseGuard(Http2AbuseLimits? limits = null, TimeProvider? time = null)
    {
        _limits = limits ?? Http2AbuseLimits.Default;
        _time = time ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfNegative(_limits.MaxHeaderBlockBytes, nameof(Http2AbuseLimits.MaxHeaderBlockBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(_limits.MaxContinuationFrames, nameof(Http2AbuseLimits.MaxContinuationFrames));
        ArgumentOutOfRangeException.ThrowIfNegative(_limits.MaxSettingsEntries, nameof(Http2AbuseLimits.MaxSettingsEntries));
        ArgumentOutOfRangeException.ThrowIfLessThan(_limits.ZeroWindowTimeout, TimeSpan.Zero, nameof(Http2AbuseLimits.ZeroWindowTimeout));
        long frequency = _time.TimestampFrequency;
        _resets = new Bucket(_limits.ResetBurst, _limits.ResetsPerSecond, frequency, nameof(Http2AbuseLimits.ResetBurst), nameof(Http2AbuseLimits.ResetsPerSecond));
        _headerListTooLarge = new Bucket(_limits.HeaderListTooLargeBurst, _limits.HeaderListTooLargePerSecond, frequency, nameof(Http2AbuseLimits.HeaderListTooLargeBurst), nameof(Http2AbuseLimits.HeaderListTooLargePerSecond));
        _settings = new Bucket(_limits.SettingsBurst, _limits.SettingsPerSecond, frequency, nameof(Http2AbuseLimits.SettingsBurst), nameof(Http2AbuseLimits.SettingsPerSecond));
        _pings = new Bucket(_limits.PingBurst, _limits.PingsPerSecond, frequency, nameof(Http2AbuseLimits.PingBurst), nameof(Http2AbuseLimits.PingsPerSecond));
        _emptyFrames = new Bucket(_limits.EmptyFrameBurst, _limits.EmptyFramesPerSecond, frequency, nameof(Http2AbuseLimits.EmptyFrameBurst), nameof(Http2AbuseLimits.EmptyFramesPerSecond));
        _priorities = new Bucket(_limits.PriorityBurst, _limits.PrioritiesPerSecond, frequency, nameof(Http2AbuseLimits.PriorityBurst), nameof(Http2AbuseLimits.PrioritiesPerSecond));
    }

    public Http2AbuseLimits Limits => _limits;

    /// <summary>The peer reset a stream (RST_STREAM received; server role). Rapid reset budget.</summary>
    public Http2AbuseVerdict? OnPeerReset() => Take(ref _resets, Http2AbuseVerdict.RapidReset);

    /// <summary>
    /// We reset a stream because of the peer (a malformed request, a stream-level protocol or flow-control error:
    /// the "MadeYouReset" variant of rapid reset). Same budget as <see cref="OnPeerReset"/>.
    /// </summary>
    public Http2AbuseVerdict? OnLocalReset() => Take(ref _resets, Http2AbuseVerdict.RapidReset);

    /// <summary>
    /// We refused a stream with REFUSED_STREAM for a reason of our own choosing (e.g. after sending GOAWAY). Same
    /// budget as <see cref="OnPeerReset"/>. Streams refused through <see cref="OnStreamOpening"/> are counted there.
    /// </summary>
    public Http2AbuseVerdict? OnStreamRefused() => Take(ref _resets, Http2AbuseVerdict.RapidReset);

    /// <summary>
    /// The peer opens a stream while <paramref name="activeStreams"/> of its streams are open and we advertised
    /// <paramref name="maxConcurrentStreams"/>. Null: open it. <see cref="Http2AbuseVerdict.TooManyStreams"/>
    /// (a stream verdict): reset it with REFUSED_STREAM — the refusal is already counted toward rapid reset, and
    /// when that budget is gone the answer is <see cref="Http2AbuseVerdict.RapidReset"/> (close the connection)
    /// instead. A peer may legitimately exceed the limit before it has seen our SETTINGS (§5.1.2), hence a stream
    /// error first.
    /// </summary>
    public Http2AbuseVerdict? OnStreamOpening(int activeStreams, int maxConcurrentStreams)
    {
        if (activeStreams < maxConcurrentStreams)
        {
            return null;
        }

        return Take(ref _resets, Http2AbuseVerdict.RapidReset) ?? Http2AbuseVerdict.TooManyStreams;
    }

    /// <summary>
    /// A field block fragment of <paramref name="length"/> octets: a HEADERS or PUSH_PROMISE frame
    /// (<paramref name="isContinuation"/> false) starts a block, each CONTINUATION adds to it. Verdict
    /// <see cref="Http2AbuseVerdict.ContinuationFlood"/> once the block exceeds
    /// <see cref="Http2AbuseLimits.MaxHeaderBlockBytes"/> octets or <see cref="Http2AbuseLimits.MaxContinuationFrames"/>
    /// CONTINUATION frames.
    /// </summary>
    public Http2AbuseVerdict? OnHeaderBlockFragment(int length, bool isContinuation)
    {
        if (isContinuation)
        {
            _continuationFrames++;
            _headerBlockBytes += length;
        }
        else
        {
            _continuationFrames = 0;
            _headerBlockBytes = length;
        }

        return _headerBlockBytes > _limits.MaxHeaderBlockBytes || _continuationFrames > _limits.MaxContinuationFrames
            ? Http2AbuseVerdict.ContinuationFlood
            : null;
    }

    /// <summary>The HPACK decoder found a header list larger than our SETTINGS_MAX_HEADER_LIST_SIZE; the caller resets the stream.</summary>
    public Http2AbuseVerdict? OnHeaderListTooLarge() => Take(ref _headerListTooLarge, Http2AbuseVerdict.HeaderListTooLarge);

    /// <summary>
    /// A SETTINGS frame without ACK, with <paramref name="entryCount"/> entries (its length / 6; 0 when unknown).
    /// Not for acknowledgements, which answer our own SETTINGS.
    /// </summary>
    public Http2AbuseVerdict? OnSettings(int entryCount = 0) =>
        entryCount > _limits.MaxSettingsEntries ? Http2AbuseVerdict.SettingsFlood : Take(ref _settings, Http2AbuseVerdict.SettingsFlood);

    /// <summary>A PING without ACK (one we must answer). Not for PING ACKs.</summary>
    public Http2AbuseVerdict? OnPing() => Take(ref _pings, Http2AbuseVerdict.PingFlood);

    /// <summary>
    /// A frame that carries nothing and ends nothing: DATA with no data (after padding is removed) and no
    /// END_STREAM, HEADERS / CONTINUATION / PUSH_PROMISE with an empty fragment and no END_HEADERS.
    /// </summary>
    public Http2AbuseVerdict? OnEmptyFrame() => Take(ref _emptyFrames, Http2AbuseVerdict.EmptyFrameFlood);

    /// <summary>A PRIORITY frame.</summary>
    public Http2AbuseVerdict? OnPriority() => Take(ref _priorities, Http2AbuseVerdict.PriorityFlood);

    /// <summary>
    /// Tracks a zero-window stall: call it whenever either condition may have changed (a window update, data
    /// queued or sent) and periodically (e.g. from the keep-alive tick), since no timer runs here. The stall
    /// starts when <paramref name="haveDataToSend"/> and <paramref name="windowIsZero"/> first hold together and
    /// ends as soon as either does not; verdict <see cref="Http2AbuseVerdict.ZeroWindowStall"/> once it has lasted
    /// longer than <see cref="Http2AbuseLimits.ZeroWindowTimeout"/>. "Window is zero" is the caller's notion:
    /// typically the connection send window, or every stream that has data being blocked.
    /// </summary>
    public Http2AbuseVerdict? CheckStall(bool haveDataToSend, bool windowIsZero)
    {
        if (!haveDataToSend || !windowIsZero)
        {
            _stalled = false;
            return null;
        }

        long now = _time.GetTimestamp();
        if (!_stalled)
        {
            _stalled = true;
            _stalledSince = now;
            return null;
        }

        return _time.GetElapsedTime(_stalledSince, now) > _limits.ZeroWindowTimeout ? Http2AbuseVerdict.ZeroWindowStall : null;
    }

    /// <summary>How long the current zero-window stall has lasted (zero when not stalled).</summary>
    public TimeSpan StalledFor => _stalled ? _time.GetElapsedTime(_stalledSince) : TimeSpan.Zero;

    private Http2AbuseVerdict? Take(ref Bucket bucket, Http2AbuseVerdict verdict) => bucket.TryTake(_time.GetTimestamp()) ? null : verdict;

    /// <summary>
    /// A token bucket of <c>burst</c> tokens refilled at <c>perSecond</c>, as the generic cell rate algorithm: one
    /// timestamp, the theoretical arrival time (TAT) of the next event at the sustained rate. An event at
    /// <c>now</c> conforms when TAT − now ≤ (burst − 1) × interval, and then pushes TAT one interval further; so a
    /// full bucket takes exactly <c>burst</c> events at once, and one more per interval after that.
    /// </summary>
    private struct Bucket
    {
        private readonly long _interval;
        private readonly long _tolerance;
        private long _theoreticalArrival;
        private bool _started;

        public Bucket(int burst, int perSecond, long frequency, string burstName, string perSecondName)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1, burstName);
            ArgumentOutOfRangeException.ThrowIfLessThan(perSecond, 1, perSecondName);
            _interval = Math.Max(1, frequency / perSecond);
            _tolerance = burst - 1L > long.MaxValue / 2 / _interval ? long.MaxValue / 2 : (burst - 1L) * _interval;
        }

        public bool TryTake(long now)
        {
            long tat = !_started || _theoreticalArrival < now ? now : _theoreticalArrival;
            if (tat - now > _tolerance)
            {
                return false;
            }

            _theoreticalArrival = tat + _interval;
            _started = true;
            return true;
        }
    }
}
