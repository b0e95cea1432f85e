using System.Buffers;
using Switchyard.Transport;

namespace Switchyard.Http2;

/// <summary>What the proxy sends on a connection: new streams (client role), header blocks, DATA within the peer's windows, resets, GOAWAY.</summary>
internal sealed partial class Http2Connection
{
    /// <summary>
    /// The scheme of this connection's transport: what a request sent on it carries in <c>:scheme</c>, not the
    /// caller's, since the destination checks it against its transport (Kestrel refuses a mismatch with
    /// PROTOCOL_ERROR) — a TLS caller's request delivered over plaintext h2c says http.
    /// </summary>
    private ReadOnlySpan<byte> TransportScheme => _channel.IsSecure ? "https"u8 : "http"u8;

    private int PeerMaxFrameSize
    {
        get { lock (Sync) { return _peerMaxFrameSize; } }
    }

    /// <summary>Client role: opens a stream with this request header block (ids assigned in wire order, §5.1.1).</summary>
    public async ValueTask<Http2Stream> OpenStreamAsync(Http2HeaderList headers, bool endStream)
    {
        await _writer.EnterAsync().ConfigureAwait(false);
        Http2Stream stream;
        try
        {
            int maxFrame;
            if (!_prefaceWritten)
            {
                // §3.4: the client's preface comes before any frame; a stream opened first would be a protocol error
                // at the destination. RunAsync must be started before the connection is handed out.
                throw new InvalidOperationException("a stream was opened before the connection's preface was written (RunAsync not started)");
            }

            lock (Sync)
            {
                if (_closed || _retired || _goAwayReceivedLastStreamId >= 0)
                {
                    throw new Http2StreamResetException(Http2ErrorCode.RefusedStream, "the connection to the destination is closing", retryable: true);
                }

                stream = new Http2Stream(this, _nextStreamId, _peerInitialWindow, _limits.InitialStreamWindow)
                {
                    SlotHolds = 1,
                    LastActivity = Clock.GetTimestamp(),
                    RequestIsHead = headers.TryGet(":method"u8, out ReadOnlySpan<byte> method) && method.SequenceEqual("HEAD"u8),
                };
                stream.State.Open(receivedByUs: false, endStream);
                _nextStreamId += 2;
                _streams.Add(stream.Id, stream);
                _activeStreams++;
                maxFrame = _peerMaxFrameSize;
            }

            _writer.WriteHeaders(stream.Id, headers, endStream, maxFrame, TransportScheme);
            await _writer.FlushUnlessQueuedAsync().ConfigureAwait(false);
        }
        finally
        {
            _writer.Exit();
        }

        return stream;
    }

    /// <summary>Sends a header block on a stream (response, 1xx, trailers with <paramref name="endStream"/>).</summary>
    public async ValueTask SendHeadersAsync(Http2Stream stream, Http2HeaderList headers, bool endStream)
    {
        int maxFrame = PeerMaxFrameSize;
        await _writer.EnterAsync().ConfigureAwait(false);
        try
        {
            ThrowIfGone(stream);
            _writer.WriteHeaders(stream.Id, headers, endStream, maxFrame, scheme: default);
            stream.LastActivity = Clock.GetTimestamp();
            await _writer.FlushUnlessQueuedAsync().ConfigureAwait(false);
        }
        finally
        {
            _writer.Exit();
        }

        if (endStream)
        {
            EndLocal(stream);
        }
    }

    /// <summary>
    /// Sends DATA within the peer's stream and connection windows (§6.9.1), waiting for WINDOW_UPDATE when they are
    /// closed; an empty <paramref name="data"/> with <paramref name="endStream"/> sends END_STREAM alone. A peer that
    /// keeps the window shut past <see cref="Http2Limits.ZeroWindowTimeout"/> (server role) loses the connection.
    /// </summary>
    public async ValueTask SendDataAsync(Http2Stream stream, ReadOnlySequence<byte> data, bool endStream)
    {
        while (true)
        {
            int chunk;
            Task? wait = null;
            lock (Sync)
            {
                ThrowIfGoneLocked(stream);
                long allowed = Math.Min(Math.Min(stream.SendWindow.Available, _sendWindow.Available), _peerMaxFrameSize);
                if (data.IsEmpty)
                {
                    chunk = 0;
                }
                else if (allowed > 0)
                {
                    chunk = (int)Math.Min(allowed, data.Length);
                    stream.SendWindow.Take(chunk);
                    _sendWindow.Take(chunk);
                }
                else
                {
                    chunk = -1;
                    wait = _windowChanged.Task;
                }
            }

            if (wait is not null)
            {
                await WaitForWindowAsync(stream, wait).ConfigureAwait(false);
                continue;
            }

            bool last = chunk == data.Length;
            await _writer.EnterAsync().ConfigureAwait(false);
            try
            {
                ThrowIfGone(stream);
                Http2FrameWriter.WriteData(_writer.Output, stream.Id, data.Slice(0, chunk), endStream && last);
                stream.LastActivity = Clock.GetTimestamp();
                await _writer.FlushUnlessQueuedAsync().ConfigureAwait(false);
            }
            finally
            {
                _writer.Exit();
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

    private async ValueTask WaitForWindowAsync(Http2Stream stream, Task windowChanged)
    {
        try
        {
            if (_guard is null)
            {
                await windowChanged.WaitAsync(stream.Aborted).ConfigureAwait(false);
            }
            else
            {
                await windowChanged.WaitAsync(_guard.Limits.ZeroWindowTimeout, _guard.Time, stream.Aborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stream.ResetError is { } reset)
        {
            throw reset;
        }
        catch (TimeoutException)
        {
            // The caller keeps its window shut while we hold its data: a zero-window stall (slow read attack).
            AbuseReason = Http2AbuseVerdict.ZeroWindowStall.Reason;
            Failure = $"the caller kept its receive window at zero for {_guard!.Limits.ZeroWindowTimeout.TotalSeconds:0} s";
            await SendGoAwayAsync(Http2AbuseVerdict.ZeroWindowStall.Code, Failure).ConfigureAwait(false);
            _channel.Abort();
            throw new Http2StreamResetException(Http2ErrorCode.EnhanceYourCalm, Failure);
        }
    }

    /// <summary>
    /// Resets a stream from our side because the other half of the exchange failed or was cancelled (not because of
    /// this peer: not counted toward its reset budget; the stream's slot stays taken until the exchange ends anyway).
    /// </summary>
    public async ValueTask ResetAsync(Http2Stream stream, Http2ErrorCode code)
    {
        lock (Sync)
        {
            if (_closed || !CloseStreamLocked(stream, Http2CloseCause.LocalReset))
            {
                return;
            }

            _writer.QueueRstStream(stream.Id, code);
        }

        stream.OnReset(new Http2StreamResetException(code, $"reset by the agent ({code})"));
        await _writer.FlushControlAsync().ConfigureAwait(false);
    }

    /// <summary>Graceful shutdown (drain): GOAWAY NO_ERROR with the last stream we accepted; open streams finish (§6.8).</summary>
    public async ValueTask ShutdownAsync()
    {
        lock (Sync)
        {
            if (_goAwaySent || _closed)
            {
                return;
            }
        }

        await SendGoAwayAsync(Http2ErrorCode.NoError, "shutting down").ConfigureAwait(false);
        lock (Sync)
        {
            SignalIdleIfDoneLocked();
        }

        await _idle.Task.ConfigureAwait(false);
        try
        {
            await _writer.CloseAsync().ConfigureAwait(false); // the caller sees the end and closes; our read loop ends
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            // already gone
        }
    }

    /// <summary>
    /// §6.8 GOAWAY with the last stream id we processed; after an error code the output is closed too ("After sending
    /// a GOAWAY frame for an error condition, the sender ... MUST close the TCP connection" in §5.4.1).
    /// </summary>
    private async ValueTask SendGoAwayAsync(Http2ErrorCode code, string reason)
    {
        int last;
        lock (Sync)
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
            await _writer.FlushControlAsync().ConfigureAwait(false);
            await _writer.WriteAsync((last, code, reason), static (s, output) =>
                Http2FrameWriter.WriteGoAway(output, s.last, s.code, System.Text.Encoding.UTF8.GetBytes(s.reason.Length > 200 ? s.reason[..200] : s.reason))).ConfigureAwait(false);
            if (code != Http2ErrorCode.NoError)
            {
                await _writer.CloseAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            // the peer is gone already
        }
    }

    /// <summary>We sent END_STREAM (§5.1: open -> half-closed (local), half-closed (remote) -> closed).</summary>
    private void EndLocal(Http2Stream stream)
    {
        lock (Sync)
        {
            if (stream.State.SendEnd())
            {
                ForgetClosedLocked(stream);
            }
        }
    }

    private void ThrowIfGone(Http2Stream stream)
    {
        lock (Sync)
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
}
