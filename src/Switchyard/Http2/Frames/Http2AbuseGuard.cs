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
    private readonly Http2Limits _limits;
    private Bucket _resets;
    private Bucket _headerListTooLarge;
    private Bucket _settings;
    private Bucket _pings;
    private Bucket _emptyFrames;
    private Bucket _priorities;
    private long _headerBlockBytes;
    private int _continuationFrames;

    public Http2AbuseGuard(Http2Limits? limits = null, TimeProvider? time = null)
    {
        _limits = limits ?? Http2Limits.Default;
        _time = time ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfNegative(_limits.MaxHeaderBlockBytes, nameof(Http2Limits.MaxHeaderBlockBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(_limits.MaxContinuationFrames, nameof(Http2Limits.MaxContinuationFrames));
        ArgumentOutOfRangeException.ThrowIfNegative(_limits.MaxSettingsEntries, nameof(Http2Limits.MaxSettingsEntries));
        ArgumentOutOfRangeException.ThrowIfLessThan(_limits.ZeroWindowTimeout, TimeSpan.Zero, nameof(Http2Limits.ZeroWindowTimeout));
        long frequency = _time.TimestampFrequency;
        _resets = new Bucket(_limits.ResetBurst, _limits.ResetsPerSecond, frequency, nameof(Http2Limits.ResetBurst), nameof(Http2Limits.ResetsPerSecond));
        _headerListTooLarge = new Bucket(_limits.HeaderListTooLargeBurst, _limits.HeaderListTooLargePerSecond, frequency, nameof(Http2Limits.HeaderListTooLargeBurst), nameof(Http2Limits.HeaderListTooLargePerSecond));
        _settings = new Bucket(_limits.SettingsBurst, _limits.SettingsPerSecond, frequency, nameof(Http2Limits.SettingsBurst), nameof(Http2Limits.SettingsPerSecond));
        _pings = new Bucket(_limits.PingBurst, _limits.PingsPerSecond, frequency, nameof(Http2Limits.PingBurst), nameof(Http2Limits.PingsPerSecond));
        _emptyFrames = new Bucket(_limits.EmptyFrameBurst, _limits.EmptyFramesPerSecond, frequency, nameof(Http2Limits.EmptyFrameBurst), nameof(Http2Limits.EmptyFramesPerSecond));
        _priorities = new Bucket(_limits.PriorityBurst, _limits.PrioritiesPerSecond, frequency, nameof(Http2Limits.PriorityBurst), nameof(Http2Limits.PrioritiesPerSecond));
    }

    public Http2Limits Limits => _limits;

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
    /// <see cref="Http2Limits.MaxHeaderBlockBytes"/> octets or <see cref="Http2Limits.MaxContinuationFrames"/>
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

    /// <summary>The clock of the rate limits, also the one the zero-window stall (<see cref="Http2Limits.ZeroWindowTimeout"/>) is timed with.</summary>
    public TimeProvider Time => _time;

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
