using System.Buffers;
using System.IO.Pipelines;
using Switchyard.Http2.Hpack;
using Switchyard.Transport;

namespace Switchyard.Http2;

/// <summary>Our side of the SETTINGS exchange and the flow-control windows we grant.</summary>
internal sealed record Http2Options
{
    public static readonly Http2Options Default = new();

    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS we grant the peer (server role).</summary>
    public int MaxConcurrentStreams { get; init; } = 128;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE: how much one stream may send before we forward it.</summary>
    public int InitialStreamWindow { get; init; } = 256 * 1024;

    /// <summary>Connection receive window (raised from 65,535 by a WINDOW_UPDATE on stream 0 after the preface).</summary>
    public int ConnectionWindow { get; init; } = 1024 * 1024;

    public int MaxFrameSize { get; init; } = 16 * 1024;

    public int HeaderTableSize { get; init; } = 4096;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE: the decoded header list of one block (RFC 9113 6.5.2).</summary>
    public int MaxHeaderListSize { get; init; } = 64 * 1024;
}

/// <summary>
/// One HTTP/2 connection, in either role: server toward a caller, client toward a destination (app or intercept
/// target). A single read loop (<see cref="RunAsync"/>) decodes frames and HPACK and dispatches them to streams;
/// writers (stream pumps, control answers) share the output under one lock, which also orders HPACK encoding and
/// client stream ids with the frames on the wire. Connection errors end in GOAWAY with the RFC 9113 code, stream
/// errors in RST_STREAM; flood and abuse limits are the <see cref="Http2AbuseGuard"/>'s.
/// </summary>
internal sealed class Http2Connection : IAsyncDisposable
{
    private const int DefaultWindow = 65_535;
    private const int MaxWindow = int.MaxValue;

    private readonly Channel _channel;
    private readonly bool _isServer;
    private readonly Http2Options _options;
    private readonly Http2AbuseGuard? _guard;
    private readonly Func<Http2Stream, Http2HeaderList, bool>? _onRequest;
    private readonly HpackDecoder _decoder;
    private readonly HpackEncoder _encoder = new();
    private readonly ArrayBufferWriter<byte> _headerScratch = new(1024);
    private readonly ArrayBufferWriter<byte> _headerBlock = new(1024);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly object _sync = new();
    private readonly Dictionary<int, Http2Stream> _streams = [];
    private readonly ArrayBufferWriter<byte> _control = new(256);
    private TaskCompletionSource _windowChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Peer settings (what we may send).
    private int _peerMaxFrameSize = 16_384;
    private int _peerInitialWindow = DefaultWindow;
    private int _peerMaxConcurrentStreams = 100; // assumed until the peer's SETTINGS arrive
    private long _connectionSendWindow = DefaultWindow;

    // Our receive side.
    private int _connectionReceiveWindow = DefaultWindow;
    private int _connectionReceivedNotAcknowledged;

    private int _highestPeerStreamId;
    private int _nextStreamId = 1;
    private int _activeStreams;
    private int _headerBlockStream; // non-zero while a HEADERS block waits for CONTINUATION frames
    private bool _headerBlockEndStream;
    private int _goAwayReceivedLastStreamId = -1;
    private bool _goAwaySent;
    private bool _closed;

    public Http2Connection(Channel channel, bool isServer, Http2Options? options = null, Http2AbuseGuard? guard = null, Func<Http2Stream, Http2HeaderList, bool>? onRequest = null)
    {
        _channel = channel;
        _isServer = isServer;
        _options = options ?? Http2Options.Default;
        _guard = guard;
        _onRequest = onRequest;
        _decoder = new HpackDecoder(_options.HeaderTableSize, _options.MaxHeaderListSize);
    }

    /// <summary>The scheme of this connection's transport: what a request sent on it carries in <c>:scheme</c>.</summary>
    private ReadOnlySpan<byte> TransportScheme => _channel is Transport.TlsChannel ? "https"u8 : "http"u8;

    /// <summary>Why the connection ended (null while it runs or when it ended cleanly).</summary>
    public string? Failure { get; private set; }

    /// <summary>The GOAWAY code we sent, when we ended the connection for a protocol error or abuse.</summary>
    public Http2ErrorCode? GoAwaySent { get; private set; }

    /// <summary>The abuse verdict that ended the connection, as a metric label (rapid_reset, ...).</summary>
    public string? AbuseReason { get; private set; }

    public bool IsClosed
    {
        get { lock (_sync) { return _closed; } }
    }

    /// <summary>Client role: whether another stream may be opened now (no GOAWAY, under the peer's concurrency limit).</summary>
    public bool CanOpenStream
    {
        get
        {
            lock (_sync)
            {
                return !_closed && _goAwayReceivedLastStreamId < 0 && !_goAwaySent && _activeStreams < _peerMaxConcurrentStreams && _nextStreamId < int.MaxValue - 2;
            }
        }
    }

    public int ActiveStreams
    {
        get { lock (_sync) { return _activeStreams; } }
    }

    /// <summary>Completes once no stream is active (after a GOAWAY, for draining).</summary>
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

            await WriteLockedAsync(this, static (c, output) =>
            {
                if (!c._isServer)
                {
                    output.Write(Http2FrameWriter.ClientPreface);
                }

                Span<(Http2SettingId, uint)> settings =
                [
                    (Http2SettingId.HeaderTableSize, (uint)c._options.HeaderTableSize),
                    (Http2SettingId.EnablePush, 0),
                    (Http2SettingId.MaxConcurrentStreams, (uint)c._options.MaxConcurrentStreams),
                    (Http2SettingId.InitialWindowSize, (uint)c._options.InitialStreamWindow),
                    (Http2SettingId.MaxFrameSize, (uint)c._options.MaxFrameSize),
                    (Http2SettingId.MaxHeaderListSize, (uint)c._options.MaxHeaderListSize),
                ];
                Http2FrameWriter.WriteSettings(output, settings);
                if (c._options.ConnectionWindow > DefaultWindow)
                {
                    Http2FrameWriter.WriteWindowUpdate(output, 0, c._options.ConnectionWindow - DefaultWindow);
                }
            }).ConfigureAwait(false);
            lock (_sync)
            {
                _connectionReceiveWindow = Math.Max(DefaultWindow, _options.ConnectionWindow);
            }

            while (true)
            {
                ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = read.Buffer;
                List<Http2Connection>? outer = t_batch;
                t_batch = _batch;
                try
                {
                    while (Http2FrameReader.TryReadFrame(ref buffer, _options.MaxFrameSize, out Http2Frame frame))
                    {
                        HandleFrame(frame);
                    }
                }
                finally
                {
                    t_batch = outer;
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                await FlushControlAsync().ConfigureAwait(false);
                await FlushBatchAsync().ConfigureAwait(false);
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
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            Failure ??= e.Message;
        }
        finally
        {
            Close(Failure ?? "the connection ended");
        }
    }

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

    // ---------------------------------------------------------------- inbound frames (read loop only)

    private void HandleFrame(in Http2Frame frame)
    {
        Http2FrameHeader header = frame.Header;
        if (_headerBlockStream != 0 && (header.Type != Http2FrameType.Continuation || header.StreamId != _headerBlockStream))
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
                Abuse(_guard?.OnPriority());
                try
                {
                    Http2FrameReader.ReadPriority(frame);
                }
                catch (Http2StreamException e)
                {
                    ResetStream(e.StreamId, e.Code, e.Message);
                }

                break;
            case Http2FrameType.RstStream:
                OnRstStream(frame);
                break;
            case Http2FrameType.Settings:
                OnSettings(frame);
                break;
            case Http2FrameType.PushPromise:
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
                break; // unknown frame types are ignored (RFC 9113 4.1)
        }
    }

    private void Abuse(Http2AbuseVerdict? verdict)
    {
        if (verdict is not null)
        {
            AbuseReason = verdict.Reason;
            throw new Http2ConnectionException(verdict.Code, $"abuse limit: {verdict.Reason}");
        }
    }

    private void OnData(in Http2Frame frame)
    {
        int streamId = frame.Header.StreamId;
        int length = frame.Header.Length;
        ReadOnlySequence<byte> data = Http2FrameReader.ReadData(frame);
        bool endStream = (frame.Header.Flags & Http2FrameFlags.EndStream) != 0;
        if (data.IsEmpty && !endStream)
        {
            Abuse(_guard?.OnEmptyFrame());
        }

        Http2Stream? stream;
        lock (_sync)
        {
            if (length > _connectionReceiveWindow)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "DATA beyond the connection window");
            }

            _connectionReceiveWindow -= length;
            _streams.TryGetValue(streamId, out stream);
            if (stream is null)
            {
                if (IsIdle(streamId))
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "DATA on an idle stream");
                }

                // A stream we already closed (or reset): the bytes still count on the connection window.
                _connectionReceivedNotAcknowledged += length;
                QueueConnectionWindowUpdateIfDue();
                QueueRstStream(streamId, Http2ErrorCode.StreamClosed);
                return;
            }

            if (stream.RemoteEnded || !stream.HeadersReceived)
            {
                _connectionReceivedNotAcknowledged += length;
                QueueConnectionWindowUpdateIfDue();
                ResetStreamLocked(stream, Http2ErrorCode.StreamClosed, "DATA after END_STREAM");
                return;
            }

            if (length > stream.ReceiveWindow)
            {
                _connectionReceivedNotAcknowledged += length;
                QueueConnectionWindowUpdateIfDue();
                ResetStreamLocked(stream, Http2ErrorCode.FlowControlError, "DATA beyond the stream window");
                return;
            }

            stream.ReceiveWindow -= length;
            // Padding is not forwarded: give its share of the windows back at once.
            int padding = length - (int)data.Length;
            if (padding > 0)
            {
                stream.ReceivedNotAcknowledged += padding;
                _connectionReceivedNotAcknowledged += padding;
            }

            stream.DataReceived += data.Length;
            if (stream.DeclaredContentLength >= 0 && (stream.DataReceived > stream.DeclaredContentLength || (endStream && stream.DataReceived != stream.DeclaredContentLength)))
            {
                ResetStreamLocked(stream, Http2ErrorCode.ProtocolError, "DATA does not match content-length");
                return;
            }

            if (endStream)
            {
                stream.RemoteEnded = true;
            }
        }

        if (!data.IsEmpty)
        {
            stream.OnData(data);
        }

        if (endStream)
        {
            stream.OnRemoteEnd();
            MaybeForget(stream);
        }
    }

    private bool IsIdle(int streamId) =>
        (streamId & 1) == (_isServer ? 1 : 0) ? streamId > _highestPeerStreamId : streamId >= _nextStreamId;

    private void OnHeaders(in Http2Frame frame)
    {
        int streamId = frame.Header.StreamId;
        HeadersPayload payload = Http2FrameReader.ReadHeaders(frame);
        if (payload.HasPriority && payload.StreamDependency == streamId)
        {
            QueueRstStream(streamId, Http2ErrorCode.ProtocolError);
        }

        _headerBlock.ResetWrittenCount();
        foreach (ReadOnlyMemory<byte> segment in payload.Fragment)
        {
            _headerBlock.Write(segment.Span);
        }

        _headerBlockEndStream = (frame.Header.Flags & Http2FrameFlags.EndStream) != 0;
        if (payload.Fragment.IsEmpty && (frame.Header.Flags & Http2FrameFlags.EndHeaders) == 0)
        {
            Abuse(_guard?.OnEmptyFrame());
        }

        Abuse(_guard?.OnHeaderBlockFragment((int)payload.Fragment.Length, isContinuation: false));
        if ((frame.Header.Flags & Http2FrameFlags.EndHeaders) != 0)
        {
            OnHeaderBlock(streamId);
        }
        else
        {
            _headerBlockStream = streamId;
        }
    }

    private void OnContinuation(in Http2Frame frame)
    {
        if (_headerBlockStream == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "CONTINUATION without a header block");
        }

        if (frame.Payload.IsEmpty && (frame.Header.Flags & Http2FrameFlags.EndHeaders) == 0)
        {
            Abuse(_guard?.OnEmptyFrame());
        }

        Abuse(_guard?.OnHeaderBlockFragment((int)frame.Payload.Length, isContinuation: true));
        foreach (ReadOnlyMemory<byte> segment in frame.Payload)
        {
            _headerBlock.Write(segment.Span);
        }

        if ((frame.Header.Flags & Http2FrameFlags.EndHeaders) != 0)
        {
            int streamId = _headerBlockStream;
            _headerBlockStream = 0;
            OnHeaderBlock(streamId);
        }
    }

    /// <summary>A complete header block: decode (always, to keep HPACK in sync), then open a stream or deliver it.</summary>
    private void OnHeaderBlock(int streamId)
    {
        var headers = new Http2HeaderList();
        HpackDecodeResult decoded;
        try
        {
            decoded = _decoder.Decode(_headerBlock.WrittenSpan, headers);
        }
        catch (HpackDecodingException e)
        {
            headers.Dispose();
            throw new Http2ConnectionException(Http2ErrorCode.CompressionError, $"HPACK: {e.Message}");
        }

        bool endStream = _headerBlockEndStream;
        headers.EndStream = endStream;
        Http2Stream? stream;
        bool opened = false;
        lock (_sync)
        {
            _streams.TryGetValue(streamId, out stream);
            if (stream is null && !_isServer && (streamId & 1) == 1 && streamId < _nextStreamId)
            {
                headers.Dispose(); // a stream we reset or gave up: decoded for HPACK's sake, then dropped
                return;
            }

            if (stream is null)
            {
                if (!_isServer || (streamId & 1) == 0 || streamId <= _highestPeerStreamId)
                {
                    headers.Dispose();
                    throw new Http2ConnectionException(_isServer && (streamId & 1) == 1 ? Http2ErrorCode.StreamClosed : Http2ErrorCode.ProtocolError,
                        $"HEADERS on stream {streamId}, which cannot be opened by the peer");
                }

                _highestPeerStreamId = streamId;
                if (_goAwaySent || _closed)
                {
                    headers.Dispose();
                    QueueRstStream(streamId, Http2ErrorCode.RefusedStream);
                    return;
                }

                if (_activeStreams >= _options.MaxConcurrentStreams)
                {
                    headers.Dispose();
                    QueueRstStream(streamId, Http2ErrorCode.RefusedStream);
                    if (_guard?.OnStreamOpening(_activeStreams, _options.MaxConcurrentStreams) is { IsStreamError: false } verdict)
                    {
                        Abuse(verdict);
                    }

                    return;
                }

                stream = new Http2Stream(this, streamId, _peerInitialWindow, _options.InitialStreamWindow);
                _streams.Add(streamId, stream);
                _activeStreams++;
                opened = true;
            }
        }

        if (decoded == HpackDecodeResult.HeaderListTooLarge)
        {
            headers.Dispose();
            Abuse(_guard?.OnHeaderListTooLarge());
            ResetStream(stream, opened && _isServer ? Http2ErrorCode.RefusedStream : Http2ErrorCode.ProtocolError, "header list too large");
            return;
        }

        string? malformed;
        lock (_sync)
        {
            if (stream.RemoteEnded)
            {
                malformed = "HEADERS after END_STREAM";
            }
            else if (!stream.HeadersReceived)
            {
                malformed = _isServer ? Http2Validation.CheckRequest(headers) : Http2Validation.CheckResponse(headers, out int status) ?? InformationalCheck(status, endStream);
                if (malformed is null && (!_isServer ? !IsInformational(headers) : true))
                {
                    stream.HeadersReceived = true;
                    stream.DeclaredContentLength = ContentLength(headers);
                    if (stream.DeclaredContentLength == -2)
                    {
                        malformed = "bad content-length";
                    }
                }
            }
            else
            {
                malformed = !endStream ? "trailers without END_STREAM" : Http2Validation.CheckTrailers(headers);
            }

            if (malformed is null && endStream)
            {
                stream.RemoteEnded = true;
                if (stream.DeclaredContentLength > 0 && stream.DataReceived != stream.DeclaredContentLength)
                {
                    malformed = "DATA does not match content-length";
                }
            }
        }

        if (malformed is not null)
        {
            headers.Dispose();
            ResetStream(stream, Http2ErrorCode.ProtocolError, $"malformed: {malformed}");
            return;
        }

        if (opened && _onRequest is not null && !_onRequest(stream, headers))
        {
            headers.Dispose();
            ResetStream(stream, Http2ErrorCode.RefusedStream, "refused");
            return;
        }

        if (!opened)
        {
            stream.OnHeaderBlock(headers);
        }

        if (endStream)
        {
            stream.OnRemoteEnd();
            MaybeForget(stream);
        }
    }

    private static string? InformationalCheck(int status, bool endStream) => status is >= 100 and < 200 && endStream ? "1xx with END_STREAM" : null;

    private static bool IsInformational(Http2HeaderList headers) =>
        headers.TryGet(":status"u8, out ReadOnlySpan<byte> s) && s.Length == 3 && s[0] == (byte)'1';

    /// <summary>-1 none, -2 malformed, else the value (all content-length fields must agree).</summary>
    private static long ContentLength(Http2HeaderList headers)
    {
        long value = -1;
        for (int i = headers.IndexOf("content-length"u8); i >= 0; i = headers.IndexOf("content-length"u8, i + 1))
        {
            if (!System.Buffers.Text.Utf8Parser.TryParse(headers.Value(i), out long v, out int used) || used != headers.Value(i).Length || v < 0 || (value >= 0 && v != value))
            {
                return -2;
            }

            value = v;
        }

        return value;
    }

    private void OnRstStream(in Http2Frame frame)
    {
        Http2ErrorCode code = Http2FrameReader.ReadRstStream(frame);
        int streamId = frame.Header.StreamId;
        Http2Stream? stream;
        lock (_sync)
        {
            if (IsIdle(streamId))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "RST_STREAM on an idle stream");
            }

            if (!_streams.Remove(streamId, out stream))
            {
                return;
            }

            _activeStreams--;
            CreditUnconsumedLocked(stream);
        }

        stream.OnReset(new Http2StreamResetException(code, $"the peer reset the stream ({code})", retryable: code == Http2ErrorCode.RefusedStream));
        SignalIdleIfDone();
        if (_isServer)
        {
            Abuse(_guard?.OnPeerReset());
        }
    }

    private void OnSettings(in Http2Frame frame)
    {
        if ((frame.Header.Flags & Http2FrameFlags.Ack) != 0)
        {
            Http2FrameReader.ReadSettingsAck(frame);
            return;
        }

        var reader = new Http2SettingsReader(frame);
        Abuse(_guard?.OnSettings(reader.Count));
        lock (_sync)
        {
            while (reader.TryRead(out Http2SettingId id, out uint value))
            {
                switch (id)
                {
                    case Http2SettingId.HeaderTableSize:
                        _encoderTableSize = (int)Math.Min(value, 64 * 1024);
                        _encoderTableSizeChanged = true;
                        break;
                    case Http2SettingId.MaxConcurrentStreams:
                        _peerMaxConcurrentStreams = (int)Math.Min(value, int.MaxValue);
                        break;
                    case Http2SettingId.InitialWindowSize:
                        int delta = (int)value - _peerInitialWindow;
                        _peerInitialWindow = (int)value;
                        foreach (Http2Stream s in _streams.Values)
                        {
                            s.SendWindow += delta;
                            if (s.SendWindow > MaxWindow)
                            {
                                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window");
                            }
                        }

                        break;
                    case Http2SettingId.MaxFrameSize:
                        _peerMaxFrameSize = (int)value;
                        break;
                    default:
                        break;
                }
            }

            Http2FrameWriter.WriteSettingsAck(_control);
            PulseWindowsLocked();
        }
    }

    private int _encoderTableSize = 4096;
    private bool _encoderTableSizeChanged;

    private void OnPing(in Http2Frame frame)
    {
        ulong opaque = Http2FrameReader.ReadPing(frame);
        if ((frame.Header.Flags & Http2FrameFlags.Ack) != 0)
        {
            return;
        }

        Abuse(_guard?.OnPing());
        lock (_sync)
        {
            Http2FrameWriter.WritePing(_control, ack: true, opaque);
        }
    }

    private void OnGoAway(in Http2Frame frame)
    {
        GoAwayPayload goAway = Http2FrameReader.ReadGoAway(frame);
        List<Http2Stream> refused = [];
        lock (_sync)
        {
            _goAwayReceivedLastStreamId = goAway.LastStreamId;
            if (!_isServer)
            {
                foreach (Http2Stream s in _streams.Values)
                {
                    if (s.Id > goAway.LastStreamId)
                    {
                        refused.Add(s);
                    }
                }

                foreach (Http2Stream s in refused)
                {
                    _streams.Remove(s.Id);
                    _activeStreams--;
                }
            }
        }

        foreach (Http2Stream s in refused)
        {
            s.OnReset(new Http2StreamResetException(Http2ErrorCode.RefusedStream, "the destination went away before processing the stream", retryable: true));
        }

        SignalIdleIfDone();
    }

    private void OnWindowUpdate(in Http2Frame frame)
    {
        int increment;
        try
        {
            increment = Http2FrameReader.ReadWindowUpdate(frame);
        }
        catch (Http2StreamException e)
        {
            ResetStream(e.StreamId, e.Code, e.Message);
            return;
        }

        int streamId = frame.Header.StreamId;
        lock (_sync)
        {
            if (streamId == 0)
            {
                _connectionSendWindow += increment;
                if (_connectionSendWindow > MaxWindow)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "WINDOW_UPDATE overflows the connection window");
                }
            }
            else if (_streams.TryGetValue(streamId, out Http2Stream? stream))
            {
                stream.SendWindow += increment;
                if (stream.SendWindow > MaxWindow)
                {
                    ResetStreamLocked(stream, Http2ErrorCode.FlowControlError, "WINDOW_UPDATE overflows the stream window");
                    return;
                }
            }
            else if (IsIdle(streamId))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on an idle stream");
            }

            PulseWindowsLocked();
        }
    }

    // ---------------------------------------------------------------- stream bookkeeping

    private void ResetStream(int streamId, Http2ErrorCode code, string reason)
    {
        Http2Stream? stream;
        lock (_sync)
        {
            _streams.TryGetValue(streamId, out stream);
            if (stream is null)
            {
                QueueRstStream(streamId, code);
                return;
            }
        }

        ResetStream(stream, code, reason);
    }

    /// <summary>Stream error found by the read loop: RST_STREAM queued, the stream's consumer told.</summary>
    private void ResetStream(Http2Stream stream, Http2ErrorCode code, string reason)
    {
        lock (_sync)
        {
            ResetStreamLocked(stream, code, reason);
        }
    }

    private void ResetStreamLocked(Http2Stream stream, Http2ErrorCode code, string reason)
    {
        QueueRstStream(stream.Id, code);
        CreditUnconsumedLocked(stream);
        if (_streams.Remove(stream.Id))
        {
            _activeStreams--;
        }

        stream.OnReset(new Http2StreamResetException(code, reason));
        if (_activeStreams == 0 && (_goAwaySent || _goAwayReceivedLastStreamId >= 0))
        {
            _idle.TrySetResult();
        }
    }

    /// <summary>Bytes of a reset stream nobody will forward: give them back to the connection window.</summary>
    private void CreditUnconsumedLocked(Http2Stream stream)
    {
        if (stream.ResetError is null && stream.DataReceived > stream.DataConsumed)
        {
            _connectionReceivedNotAcknowledged += (int)(stream.DataReceived - stream.DataConsumed);
            stream.DataConsumed = stream.DataReceived;
            QueueConnectionWindowUpdateIfDue();
        }
    }

    private void QueueRstStream(int streamId, Http2ErrorCode code)
    {
        lock (_sync)
        {
            Http2FrameWriter.WriteRstStream(_control, streamId, code);
        }
    }

    /// <summary>Forgets a stream once both directions ended.</summary>
    private void MaybeForget(Http2Stream stream)
    {
        lock (_sync)
        {
            if (stream.RemoteEnded && stream.LocalEnded && _streams.Remove(stream.Id))
            {
                _activeStreams--;
            }
        }

        SignalIdleIfDone();
    }

    private void SignalIdleIfDone()
    {
        lock (_sync)
        {
            if (_activeStreams == 0 && (_goAwaySent || _goAwayReceivedLastStreamId >= 0))
            {
                _idle.TrySetResult();
            }
        }
    }

    private void PulseWindowsLocked()
    {
        TaskCompletionSource changed = _windowChanged;
        _windowChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private void QueueConnectionWindowUpdateIfDue()
    {
        if (_connectionReceivedNotAcknowledged >= _options.ConnectionWindow / 4)
        {
            Http2FrameWriter.WriteWindowUpdate(_control, 0, _connectionReceivedNotAcknowledged);
            _connectionReceiveWindow += _connectionReceivedNotAcknowledged;
            _connectionReceivedNotAcknowledged = 0;
        }
    }

    /// <summary>The stream's consumer forwarded <paramref name="bytes"/>: WINDOW_UPDATE for stream and connection when due.</summary>
    internal ValueTask ConsumedAsync(Http2Stream stream, int bytes)
    {
        if (bytes <= 0)
        {
            return ValueTask.CompletedTask;
        }

        lock (_sync)
        {
            if (_closed || stream.ResetError is not null)
            {
                return ValueTask.CompletedTask; // a reset credited the connection window already
            }

            stream.DataConsumed += bytes;
            _connectionReceivedNotAcknowledged += bytes;
            QueueConnectionWindowUpdateIfDue();
            if (!stream.RemoteEnded && stream.ResetError is null)
            {
                stream.ReceivedNotAcknowledged += bytes;
                if (stream.ReceivedNotAcknowledged >= _options.InitialStreamWindow / 4)
                {
                    Http2FrameWriter.WriteWindowUpdate(_control, stream.Id, stream.ReceivedNotAcknowledged);
                    stream.ReceiveWindow += stream.ReceivedNotAcknowledged;
                    stream.ReceivedNotAcknowledged = 0;
                }
            }

            if (_control.WrittenCount == 0)
            {
                return ValueTask.CompletedTask;
            }
        }

        return FlushControlAsync();
    }

    // ---------------------------------------------------------------- outbound

    /// <summary>Client role: opens a stream with this request header block (ids assigned in wire order).</summary>
    public async ValueTask<Http2Stream> OpenStreamAsync(Http2HeaderList headers, bool endStream)
    {
        await EnterWriteAsync().ConfigureAwait(false);
        Http2Stream stream;
        try
        {
            lock (_sync)
            {
                if (_closed || _goAwayReceivedLastStreamId >= 0)
                {
                    throw new Http2StreamResetException(Http2ErrorCode.RefusedStream, "the connection to the destination is closing", retryable: true);
                }

                stream = new Http2Stream(this, _nextStreamId, _peerInitialWindow, _options.InitialStreamWindow) { HeadersReceived = false };
                _nextStreamId += 2;
                _streams.Add(stream.Id, stream);
                _activeStreams++;
                stream.LocalEnded = endStream;
            }

            WriteHeaderFrames(stream.Id, headers, endStream, request: true);
            await FlushUnlessQueuedAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }

        return stream;
    }

    /// <summary>Sends a header block on a stream (response, 1xx, trailers with <paramref name="endStream"/>).</summary>
    public async ValueTask SendHeadersAsync(Http2Stream stream, Http2HeaderList headers, bool endStream)
    {
        await EnterWriteAsync().ConfigureAwait(false);
        try
        {
            ThrowIfGone(stream);
            WriteHeaderFrames(stream.Id, headers, endStream);
            await FlushUnlessQueuedAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }

        if (endStream)
        {
            EndLocal(stream);
        }
    }

    /// <param name="request">
    /// A request we send as the client: its <c>:scheme</c> is this connection's own (https over TLS, http over h2c), not
    /// the caller's, since the destination checks it against its transport (Kestrel refuses a mismatch with
    /// PROTOCOL_ERROR) — a TLS caller's request delivered over plaintext h2c says http.
    /// </param>
    private void WriteHeaderFrames(int streamId, Http2HeaderList headers, bool endStream, bool request = false)
    {
        _headerScratch.ResetWrittenCount();
        lock (_sync)
        {
            if (_encoderTableSizeChanged)
            {
                _encoder.SetPeerMaxTableSize(_encoderTableSize);
                _encoderTableSizeChanged = false;
            }
        }

        _encoder.BeginHeaderBlock(_headerScratch);
        for (int i = 0; i < headers.Count; i++)
        {
            ReadOnlySpan<byte> name = headers.Name(i);
            ReadOnlySpan<byte> value = request && name.SequenceEqual(":scheme"u8) ? TransportScheme : headers.Value(i);
            _encoder.EncodeHeader(name, value, headers.Indexing(i), _headerScratch);
        }

        Http2FrameWriter.WriteHeaders(_channel.Output, streamId, _headerScratch.WrittenSpan, endStream, _peerMaxFrameSize);
    }

    /// <summary>
    /// Sends DATA within the peer's stream and connection windows, waiting for WINDOW_UPDATE when they are
    /// closed; an empty <paramref name="data"/> with <paramref name="endStream"/> sends END_STREAM alone.
    /// </summary>
    public async ValueTask SendDataAsync(Http2Stream stream, ReadOnlySequence<byte> data, bool endStream)
    {
        while (true)
        {
            int chunk;
            Task? wait = null;
            lock (_sync)
            {
                ThrowIfGoneLocked(stream);
                long allowed = Math.Min(Math.Min(stream.SendWindow, _connectionSendWindow), _peerMaxFrameSize);
                if (data.IsEmpty)
                {
                    chunk = 0;
                }
                else if (allowed > 0)
                {
                    chunk = (int)Math.Min(allowed, data.Length);
                    stream.SendWindow -= chunk;
                    _connectionSendWindow -= chunk;
                }
                else
                {
                    chunk = -1;
                    wait = _windowChanged.Task;
                }
            }

            if (wait is not null)
            {
                if (_guard is null)
                {
                    try
                    {
                        await wait.WaitAsync(stream.Aborted).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (stream.ResetError is { } reset)
                    {
                        throw reset;
                    }

                    continue;
                }

                try
                {
                    await wait.WaitAsync(_guard.Limits.ZeroWindowTimeout, stream.Aborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stream.ResetError is { } reset)
                {
                    throw reset;
                }
                catch (TimeoutException)
                {
                    // The caller keeps its window shut while we hold its data: a zero-window stall (slow read attack).
                    AbuseReason = Http2AbuseVerdict.ZeroWindowStall.Reason;
                    Failure = $"the caller kept its receive window at zero for {_guard.Limits.ZeroWindowTimeout.TotalSeconds:0} s";
                    await SendGoAwayAsync(Http2AbuseVerdict.ZeroWindowStall.Code, Failure).ConfigureAwait(false);
                    _channel.Abort();
                    throw new Http2StreamResetException(Http2ErrorCode.EnhanceYourCalm, Failure);
                }

                continue;
            }

            bool last = chunk == data.Length;
            await EnterWriteAsync().ConfigureAwait(false);
            try
            {
                ThrowIfGone(stream);
                Http2FrameWriter.WriteData(_channel.Output, stream.Id, data.Slice(0, chunk), endStream && last);
                await FlushUnlessQueuedAsync().ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }

            data = data.Slice(chunk);
            if (last)
            {
                break;
            }
        }

        if (endStream)
        {
            EndLocal(stream);
        }
    }

    /// <summary>Resets a stream from our side (the other half of the exchange failed or was cancelled).</summary>
    public async ValueTask ResetAsync(Http2Stream stream, Http2ErrorCode code)
    {
        lock (_sync)
        {
            if (stream.ResetError is not null || _closed)
            {
                return;
            }

            ResetStreamLocked(stream, code, $"reset by the agent ({code})");
        }

        await FlushControlAsync().ConfigureAwait(false);
    }

    /// <summary>Graceful shutdown (drain): GOAWAY NO_ERROR with the last stream we accepted; open streams finish.</summary>
    public async ValueTask ShutdownAsync()
    {
        lock (_sync)
        {
            if (_goAwaySent || _closed)
            {
                return;
            }
        }

        await SendGoAwayAsync(Http2ErrorCode.NoError, "shutting down").ConfigureAwait(false);
        SignalIdleIfDone();
        await _idle.Task.ConfigureAwait(false);
        try
        {
            await _channel.CloseOutputAsync().ConfigureAwait(false); // the caller sees the end and closes; our read loop ends
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // already gone
        }
    }

    private async ValueTask SendGoAwayAsync(Http2ErrorCode code, string reason)
    {
        int last;
        lock (_sync)
        {
            if (_goAwaySent && code == Http2ErrorCode.NoError)
            {
                return;
            }

            _goAwaySent = true;
            last = _highestPeerStreamId;
            if (code != Http2ErrorCode.NoError)
            {
                GoAwaySent = code;
            }
        }

        try
        {
            await FlushControlAsync().ConfigureAwait(false);
            await WriteLockedAsync((last, code, reason), static (s, output) =>
                Http2FrameWriter.WriteGoAway(output, s.last, s.code, System.Text.Encoding.UTF8.GetBytes(s.reason.Length > 200 ? s.reason[..200] : s.reason))).ConfigureAwait(false);
            if (code != Http2ErrorCode.NoError)
            {
                await _channel.CloseOutputAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // the peer is gone already
        }
    }

    private void EndLocal(Http2Stream stream)
    {
        lock (_sync)
        {
            stream.LocalEnded = true;
        }

        MaybeForget(stream);
    }

    private void ThrowIfGone(Http2Stream stream)
    {
        lock (_sync)
        {
            ThrowIfGoneLocked(stream);
        }
    }

    private void ThrowIfGoneLocked(Http2Stream stream)
    {
        if (stream.ResetError is { } error)
        {
            throw error;
        }

        if (_closed)
        {
            throw new Http2StreamResetException(Http2ErrorCode.Cancel, "the connection ended");
        }
    }

    private int _queuedWriters;

    /// <summary>The connections written to during the read batch running on this thread (null outside a batch).</summary>
    [ThreadStatic]
    private static List<Http2Connection>? t_batch;

    private readonly List<Http2Connection> _batch = [];

    /// <summary>End of a read batch: one flush for every connection the batch wrote to.</summary>
    private async ValueTask FlushBatchAsync()
    {
        while (_batch.Count > 0)
        {
            Http2Connection target = _batch[^1];
            _batch.RemoveAt(_batch.Count - 1);
            try
            {
                await target.EnterWriteAsync().ConfigureAwait(false);
                try
                {
                    await target._channel.Output.FlushAsync().ConfigureAwait(false);
                }
                finally
                {
                    target._writeLock.Release();
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // That connection is gone; its own read loop reports it.
            }
        }
    }

    /// <summary>Takes the output; counted while waiting so the writer before can leave the flush to the last one.</summary>
    private async ValueTask EnterWriteAsync()
    {
        Interlocked.Increment(ref _queuedWriters);
        try
        {
            await _writeLock.WaitAsync().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _queuedWriters);
        }
    }

    /// <summary>
    /// Write coalescing: when another writer already waits for the output, its flush sends our frames too (one
    /// TLS record and one send for a burst of frames, as an event loop would); the last writer always flushes.
    /// </summary>
    private ValueTask FlushUnlessQueuedAsync()
    {
        if (Volatile.Read(ref _queuedWriters) > 0)
        {
            return ValueTask.CompletedTask;
        }

        if (t_batch is { } batch)
        {
            // Written while a read loop on this thread works through a batch of frames (streams run inline there):
            // the read loop flushes once when the batch is done, one send for all the frames it caused.
            if (!batch.Contains(this))
            {
                batch.Add(this);
            }

            return ValueTask.CompletedTask;
        }

        ValueTask<FlushResult> flush = _channel.Output.FlushAsync();
        if (flush.IsCompleted)
        {
            flush.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }

        return new ValueTask(flush.AsTask());
    }

    private async ValueTask FlushControlAsync()
    {
        byte[]? bytes = null;
        lock (_sync)
        {
            if (_control.WrittenCount > 0)
            {
                bytes = _control.WrittenSpan.ToArray();
                _control.ResetWrittenCount();
            }
        }

        if (bytes is not null)
        {
            await WriteLockedAsync(bytes, static (b, output) => output.Write(b)).ConfigureAwait(false);
        }
    }

    private async ValueTask WriteLockedAsync<TState>(TState state, Action<TState, PipeWriter> write)
    {
        await EnterWriteAsync().ConfigureAwait(false);
        try
        {
            write(state, _channel.Output);
            await FlushUnlessQueuedAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Ends every stream still open (connection gone) and wakes anyone waiting for a window.</summary>
    private void Close(string reason)
    {
        List<Http2Stream> open;
        lock (_sync)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            open = [.. _streams.Values];
            _streams.Clear();
            _activeStreams = 0;
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
