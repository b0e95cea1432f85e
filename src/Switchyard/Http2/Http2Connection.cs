using System.Buffers;
using System.IO.Pipelines;
using Switchyard.Http2.FlowControl;
using Switchyard.Http2.Hpack;
using Switchyard.Transport;

namespace Switchyard.Http2;

/// <summary>
/// One HTTP/2 connection, in either role: server toward a caller, client toward a destination (app or intercept
/// target). The parts, each a concern of RFC 9113:
/// <list type="bullet">
/// <item>this file: the read loop (preface, SETTINGS, frames in batches) and the dispatch of each frame;</item>
/// <item><c>Http2Connection.Frames.cs</c>: what each inbound frame does (§6), with the stream states of
/// <see cref="Http2StreamStateMachine"/> (§5.1) and the windows of <c>FlowControl/</c> (§6.9);</item>
/// <item><c>Http2Connection.Streams.cs</c>: opening, resetting and forgetting streams, concurrency slots (§5.1.2),
/// giving windows back as the consumer forwards data;</item>
/// <item><c>Http2Connection.Send.cs</c>: what the proxy sends (streams, headers, data, resets, GOAWAY; §6.8);</item>
/// <item><see cref="Http2OutputWriter"/>: the output, its lock, HPACK encoding order and write coalescing.</item>
/// </list>
/// Connection errors end in GOAWAY with the RFC 9113 code, stream errors in RST_STREAM; flood and abuse limits are
/// the <see cref="Http2AbuseGuard"/>'s, and every stream we reset because of the peer counts against its budget.
/// </summary>
internal sealed partial class Http2Connection : IAsyncDisposable
{
    /// <summary>The window every stream and the connection start with before SETTINGS say otherwise (§6.9.2).</summary>
    private const int DefaultWindow = 65_535;

    private readonly Channel _channel;
    private readonly bool _isServer;
    private readonly Http2Limits _limits;
    private readonly Http2AbuseGuard? _guard;
    private readonly Action<Http2Stream, Http2HeaderList>? _onStream;
    private readonly HpackDecoder _decoder;
    private readonly Http2OutputWriter _writer;
    private readonly Dictionary<int, Http2Stream> _streams = [];
    private readonly Http2ClosedStreams _closedStreams = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _windowChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Peer settings (what we may send), guarded by Sync.
    private int _peerMaxFrameSize = 16_384;
    private int _peerInitialWindow = DefaultWindow;
    private int _peerMaxConcurrentStreams = 100; // assumed until the peer's SETTINGS arrive
    private OutboundWindow _sendWindow = new(DefaultWindow);

    // Our receive side, guarded by Sync.
    private InboundWindow _receiveWindow;

    private int _highestPeerStreamId;
    private int _nextStreamId = 1;
    private int _activeStreams; // streams holding a concurrency slot
    private int _goAwayReceivedLastStreamId = -1;
    private bool _goAwaySent;
    private bool _retired;

    /// <summary>Set once our preface and SETTINGS are written (first thing <see cref="RunAsync"/> does, under the writer lock).</summary>
    private bool _prefaceWritten;
    private bool _closed;

    /// <param name="onStream">
    /// Server role: called on the read loop for every stream the peer opens with a well-formed request head. The
    /// stream keeps its concurrency slot until <see cref="Http2Stream.EndExchange"/> is called.
    /// </param>
    public Http2Connection(Channel channel, bool isServer, Http2Limits? limits = null, Http2AbuseGuard? guard = null, Action<Http2Stream, Http2HeaderList>? onStream = null)
    {
        _channel = channel;
        _isServer = isServer;
        _limits = limits ?? Http2Limits.Default;
        _guard = guard;
        _onStream = onStream;
        _decoder = new HpackDecoder(_limits.HeaderTableSize, _limits.MaxHeaderListSize);
        _writer = new Http2OutputWriter(channel);
        _receiveWindow = new InboundWindow(DefaultWindow, Math.Max(DefaultWindow, _limits.ConnectionWindow));
    }

    /// <summary>The clock of the stream idle timeouts and the zero-window stall (the abuse guard's, when there is one).</summary>
    internal TimeProvider Clock => _guard?.Time ?? TimeProvider.System;

    /// <summary>When the header block waiting for CONTINUATION started (0: none), for <c>requestHeadTimeout</c>.</summary>
    public long HeaderBlockSince => Volatile.Read(ref _headerBlockSince);

    private long _headerBlockSince;

    /// <summary>
    /// Resets (CANCEL) every stream with no byte moved either way for longer than <paramref name="limit"/>
    /// (<c>streamIdleTimeout</c>: ends that exchange, the connection's other streams go on).
    /// </summary>
    /// <returns>How many streams were reset.</returns>
    public int EndIdleStreams(TimeSpan limit)
    {
        long now = Clock.GetTimestamp();
        List<Http2Stream>? idle = null;
        lock (Sync)
        {
            foreach (Http2Stream s in _streams.Values)
            {
                if (Clock.GetElapsedTime(s.LastActivity, now) > limit)
                {
                    (idle ??= []).Add(s);
                }
            }
        }

        foreach (Http2Stream s in idle ?? [])
        {
            _ = ResetAsync(s, Http2ErrorCode.Cancel).AsTask();
        }

        return idle?.Count ?? 0;
    }

    /// <summary>The lock of the connection's and its streams' state (never held across an await).</summary>
    internal object Sync { get; } = new();

    /// <summary>Why the connection ended (null while it runs or when it ended cleanly).</summary>
    public string? Failure { get; private set; }

    /// <summary>
    /// The peer's GOAWAY when it carried an error code: "GOAWAY PROTOCOL_ERROR: debug text" (the debug data as ASCII,
    /// at most 200 characters). Null when none came or it said NO_ERROR (a graceful close).
    /// </summary>
    public string? GoAwayReceived { get; private set; }

    /// <summary>The GOAWAY code we sent, when we ended the connection for a protocol error or abuse.</summary>
    public Http2ErrorCode? GoAwaySent { get; private set; }

    /// <summary>The abuse verdict that ended the connection, as a metric label (rapid_reset, ...).</summary>
    public string? AbuseReason { get; private set; }

    public bool IsClosed
    {
        get { lock (Sync) { return _closed; } }
    }

    /// <summary>Client role: whether another stream may be opened now (no GOAWAY, under the peer's concurrency limit).</summary>
    public bool CanOpenStream
    {
        get
        {
            lock (Sync)
            {
                return !_closed && !_retired && _goAwayReceivedLastStreamId < 0 && !_goAwaySent && _activeStreams < _peerMaxConcurrentStreams && _nextStreamId < int.MaxValue - 2;
            }
        }
    }

    /// <summary>Streams holding a concurrency slot: open, or closed while the proxy's exchange for them still runs.</summary>
    public int ActiveStreams
    {
        get { lock (Sync) { return _activeStreams; } }
    }

    /// <summary>
    /// Client role: when no stream holds a slot, takes the connection out of service (no stream opens on it from here
    /// on: one racing in is refused as retryable) and returns true; the caller then shuts it down. False when busy.
    /// </summary>
    public bool TryRetireIdle()
    {
        lock (Sync)
        {
            if (_closed || _retired || _activeStreams > 0)
            {
                return false;
            }

            _retired = true;
            return true;
        }
    }

    /// <summary>Completes once no stream holds a slot after a GOAWAY either way (draining), or the connection ended.</summary>
    public Task Idle => _idle.Task;

    /// <summary>Runs the connection until it ends: preface and SETTINGS, then the read loop. Never throws.</summary>
    public async Task RunAsync()
    {
        PipeReader input = _channel.Input;
        try
        {
            if (_isServer)
            {
                await ReadPrefaceAsync(input).ConfigureAwait(false);
            }

            await WriteOurSettingsAsync().ConfigureAwait(false);
            while (true)
            {
                ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = read.Buffer;
                List<Http2OutputWriter>? outer = _writer.BeginBatch();
                try
                {
                    while (Http2FrameReader.TryReadFrame(ref buffer, _limits.MaxFrameSize, out Http2Frame frame))
                    {
                        HandleFrame(frame);
                    }
                }
                finally
                {
                    Http2OutputWriter.EndBatch(outer);
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                await _writer.FlushControlAsync().ConfigureAwait(false);
                await _writer.FlushBatchAsync().ConfigureAwait(false);
                if (read.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        Failure = "the peer closed in the middle of a frame";
                    }

                    break;
                }
            }
        }
        catch (Http2ConnectionException e)
        {
            Failure = e.Message;
            await SendGoAwayAsync(e.Code, e.Message).ConfigureAwait(false);
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            Failure ??= e.Message;
        }
        finally
        {
            Close(Failure ?? "the connection ended");
        }
    }

    /// <summary>
    /// §3.4: "the server connection preface consists of a potentially empty SETTINGS frame"; the client's is the
    /// magic octets then SETTINGS. Also opens the connection window beyond 65,535 (§6.9.2: only WINDOW_UPDATE can).
    /// </summary>
    private async ValueTask WriteOurSettingsAsync()
    {
        await _writer.WriteAsync(this, static (c, output) =>
        {
            c._prefaceWritten = true;
            if (!c._isServer)
            {
                output.Write(Http2FrameWriter.ClientPreface);
            }

            Http2Limits l = c._limits;
            Span<(Http2SettingId, uint)> settings =
            [
                (Http2SettingId.HeaderTableSize, (uint)l.HeaderTableSize),
                (Http2SettingId.EnablePush, 0),
                (Http2SettingId.MaxConcurrentStreams, (uint)l.MaxConcurrentStreams),
                (Http2SettingId.InitialWindowSize, (uint)l.InitialStreamWindow),
                (Http2SettingId.MaxFrameSize, (uint)l.MaxFrameSize),
                (Http2SettingId.MaxHeaderListSize, (uint)l.MaxHeaderListSize),
            ];
            Http2FrameWriter.WriteSettings(output, settings);
            if (l.ConnectionWindow > DefaultWindow)
            {
                Http2FrameWriter.WriteWindowUpdate(output, 0, l.ConnectionWindow - DefaultWindow);
            }
        }).ConfigureAwait(false);
        lock (Sync)
        {
            _receiveWindow.Grow(Math.Max(0, _limits.ConnectionWindow - DefaultWindow));
        }
    }

    /// <summary>
    /// §3.4: "Clients and servers MUST treat an invalid connection preface as a connection error (Section 5.4.1) of
    /// type PROTOCOL_ERROR." (An HTTP/1.1 request on a port that takes HTTP/2 only gets GOAWAY, not a 400.)
    /// </summary>
    private static async ValueTask ReadPrefaceAsync(PipeReader input)
    {
        while (true)
        {
            ReadResult read = await input.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            if (Http2FrameReader.TryReadPreface(ref buffer, out bool valid))
            {
                input.AdvanceTo(buffer.Start);
                if (!valid)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the connection did not start with the HTTP/2 preface");
                }

                return;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                throw new IOException("the caller closed before the HTTP/2 preface");
            }
        }
    }

    /// <summary>One inbound frame (read loop only).</summary>
    private void HandleFrame(in Http2Frame frame)
    {
        Http2FrameHeader header = frame.Header;

        // §6.10: "A receiver MUST treat the receipt of any other type of frame or a frame on a different stream as a
        // connection error (Section 5.4.1) of type PROTOCOL_ERROR." (while a header block waits for CONTINUATION)
        if (_headerBlock.StreamId != 0 && (header.Type != Http2FrameType.Continuation || header.StreamId != _headerBlock.StreamId))
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "a header block was interrupted before END_HEADERS");
        }

        switch (header.Type)
        {
            case Http2FrameType.Data:
                OnData(frame);
                break;
            case Http2FrameType.Headers:
                OnHeaders(frame);
                break;
            case Http2FrameType.Continuation:
                OnContinuation(frame);
                break;
            case Http2FrameType.Priority:
                OnPriority(frame);
                break;
            case Http2FrameType.RstStream:
                OnRstStream(frame);
                break;
            case Http2FrameType.Settings:
                OnSettings(frame);
                break;
            case Http2FrameType.PushPromise:
                // §8.4: "A client cannot push. Thus, servers MUST treat the receipt of a PUSH_PROMISE frame as a
                // connection error"; and we told servers SETTINGS_ENABLE_PUSH 0 (§6.5.2).
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "PUSH_PROMISE although push is disabled");
            case Http2FrameType.Ping:
                OnPing(frame);
                break;
            case Http2FrameType.GoAway:
                OnGoAway(frame);
                break;
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(frame);
                break;
            default:
                break; // §4.1: "Implementations MUST ignore and discard frames of unknown types."
        }
    }

    /// <summary>Ends the connection (GOAWAY with the verdict's code) when the guard gave a verdict.</summary>
    private void Abuse(Http2AbuseVerdict? verdict)
    {
        if (verdict is not null)
        {
            AbuseReason = verdict.Reason;
            throw new Http2ConnectionException(verdict.Code, $"abuse limit: {verdict.Reason}");
        }
    }

    /// <summary>Ends every stream still open (connection gone) and wakes anyone waiting for a window.</summary>
    private void Close(string reason)
    {
        List<Http2Stream> open;
        lock (Sync)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            open = [.. _streams.Values];
            foreach (Http2Stream s in open)
            {
                CloseStreamLocked(s, Http2CloseCause.ConnectionEnded);
            }

            PulseWindowsLocked();
        }

        foreach (Http2Stream s in open)
        {
            s.OnReset(new Http2StreamResetException(Http2ErrorCode.Cancel, $"the connection ended: {reason}", retryable: false));
        }

        _idle.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        Close("disposed");
        await _channel.DisposeAsync().ConfigureAwait(false);
    }
}
