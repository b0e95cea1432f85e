namespace Switchyard.Http2;

/// <summary>Stream bookkeeping: closing and forgetting streams, late frames, concurrency slots, giving windows back.</summary>
internal sealed partial class Http2Connection
{
    /// <summary>
    /// A stream error the peer caused (§5.4.2): RST_STREAM, the stream's consumer told, and, in the server role, one
    /// reset taken from the peer's reset budget — streams the peer makes us reset cost what streams it resets itself
    /// cost (the "MadeYouReset" variant of rapid reset), so past the budget the connection ends with
    /// ENHANCE_YOUR_CALM. Read loop only (the guard is not thread-safe).
    /// </summary>
    private void StreamErrorFromPeer(Http2Stream stream, Http2ErrorCode code, string reason)
    {
        bool reset;
        lock (Sync)
        {
            reset = CloseStreamLocked(stream, Http2CloseCause.LocalReset);
            if (reset)
            {
                _writer.QueueRstStream(stream.Id, code);
            }
        }

        if (reset)
        {
            stream.OnReset(new Http2StreamResetException(code, reason));
            CountLocalReset();
        }
    }

    /// <summary>A stream error found before or without a stream object (a frame naming the stream id only).</summary>
    /// <param name="allowedOnIdle">The frame may name an idle stream (PRIORITY, §5.1); any other is a connection error there.</param>
    private void StreamErrorFromPeer(int streamId, Http2ErrorCode code, string reason, bool allowedOnIdle = false)
    {
        Http2Stream? stream;
        lock (Sync)
        {
            if (!_streams.TryGetValue(streamId, out stream))
            {
                if (IsIdle(streamId))
                {
                    // §5.1 idle: any frame but HEADERS or PRIORITY is a connection error; a PRIORITY naming itself
                    // on an idle stream is a stream error of that stream, which closes it before it opened.
                    if (!allowedOnIdle)
                    {
                        throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, reason);
                    }
                }

                _writer.QueueRstStream(streamId, code);
            }
        }

        if (stream is null)
        {
            CountLocalReset();
            return;
        }

        StreamErrorFromPeer(stream, code, reason);
    }

    private void CountLocalReset()
    {
        if (_isServer)
        {
            Abuse(_guard?.OnLocalReset());
        }
    }

    /// <summary>
    /// A DATA frame on a stream that is no longer open (§5.1 closed). After our RST_STREAM the peer may still have
    /// frames in flight: "An endpoint MUST ignore frames that it receives on closed streams after it has sent a
    /// RST_STREAM frame." Otherwise: "An endpoint that receives any frame other than PRIORITY after receiving a
    /// RST_STREAM MUST treat that as a stream error (Section 5.4.2) of type STREAM_CLOSED", and after END_STREAM
    /// both ways likewise (answered as a stream error here: the connection's other streams go on).
    /// </summary>
    private void LateFrameLocked(int streamId, string reason)
    {
        if (_closedStreams.CauseOf(streamId) == Http2CloseCause.LocalReset)
        {
            return;
        }

        _writer.QueueRstStream(streamId, Http2ErrorCode.StreamClosed);
        if (_isServer)
        {
            Abuse(_guard?.OnLocalReset());
        }
    }

    /// <summary>HEADERS naming a stream id at or below the highest the peer opened, and no longer open.</summary>
    private void LateHeadersLocked(int streamId)
    {
        switch (_closedStreams.CauseOf(streamId))
        {
            case Http2CloseCause.LocalReset:
                return; // trailers in flight when we reset the stream: ignored (§5.1 closed)
            case Http2CloseCause.RemoteReset:
                LateFrameLocked(streamId, "HEADERS after RST_STREAM");
                return;
            case Http2CloseCause.EndStream:
            case Http2CloseCause.ConnectionEnded:
                // §5.1 closed: "An endpoint that receives any frames after receiving a frame with the END_STREAM
                // flag set MUST treat that as a connection error (Section 5.4.1) of type STREAM_CLOSED."
                throw new Http2ConnectionException(Http2ErrorCode.StreamClosed, $"HEADERS on stream {streamId}, which both sides ended");
            default:
                // §5.1.1: "The identifier of a newly established stream MUST be numerically greater than all streams
                // that the initiating endpoint has opened or reserved. ... An endpoint that receives an unexpected
                // stream identifier MUST respond with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"HEADERS on stream {streamId}, below the highest stream id {_highestPeerStreamId}");
        }
    }

    /// <summary>A new stream we do not take: REFUSED_STREAM, remembered as reset by us (its late frames are ignored).</summary>
    private void RefuseLocked(int streamId)
    {
        _writer.QueueRstStream(streamId, Http2ErrorCode.RefusedStream);
        _closedStreams.Remember(streamId, Http2CloseCause.LocalReset);
    }

    /// <summary>
    /// Closes a stream for <paramref name="cause"/> (§5.1 "closed"): forgotten, remembered for late frames, its slot's
    /// frame hold released, and after a reset the bytes nobody will forward go back to the connection window.
    /// </summary>
    /// <returns>False when the stream was closed already.</returns>
    private bool CloseStreamLocked(Http2Stream stream, Http2CloseCause cause)
    {
        if (!stream.State.Close(cause))
        {
            return false;
        }

        if (stream.DataReceived > stream.DataConsumed)
        {
            ReleaseConnectionWindowLocked((int)(stream.DataReceived - stream.DataConsumed));
            stream.DataConsumed = stream.DataReceived;
        }

        ForgetClosedLocked(stream);
        return true;
    }

    /// <summary>A stream that just reached closed: out of the table, into the closed ring, its frame hold released.</summary>
    private void ForgetClosedLocked(Http2Stream stream)
    {
        if (_streams.Remove(stream.Id))
        {
            _closedStreams.Remember(stream.Id, stream.State.Cause);
            ReleaseSlotLocked(stream);
        }
    }

    /// <summary>Server role: the proxy's exchange for the stream ended (see <see cref="Http2Stream.EndExchange"/>).</summary>
    internal void EndExchange(Http2Stream stream)
    {
        lock (Sync)
        {
            if (stream.ExchangeHeld)
            {
                stream.ExchangeHeld = false;
                ReleaseSlotLocked(stream);
            }
        }
    }

    private void ReleaseSlotLocked(Http2Stream stream)
    {
        if (--stream.SlotHolds == 0)
        {
            _activeStreams--;
            SignalIdleIfDoneLocked();
        }
    }

    private void SignalIdleIfDoneLocked()
    {
        if (_activeStreams == 0 && (_goAwaySent || _goAwayReceivedLastStreamId >= 0))
        {
            _idle.TrySetResult();
        }
    }

    private void PulseWindowsLocked()
    {
        TaskCompletionSource changed = _windowChanged;
        _windowChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private void ReleaseConnectionWindowLocked(int bytes)
    {
        int increment = _receiveWindow.Release(bytes);
        if (increment > 0)
        {
            _writer.QueueWindowUpdate(0, increment);
        }
    }

    private void ReleaseStreamWindowLocked(Http2Stream stream, int bytes)
    {
        int increment = stream.ReceiveWindow.Release(bytes);

        // After END_STREAM the peer sends no more DATA: a WINDOW_UPDATE would be pointless (§6.9 allows it).
        if (increment > 0 && !stream.State.RemoteEnded)
        {
            _writer.QueueWindowUpdate(stream.Id, increment);
        }
    }

    /// <summary>The stream's consumer forwarded <paramref name="bytes"/>: WINDOW_UPDATE for stream and connection when due.</summary>
    internal ValueTask ConsumedAsync(Http2Stream stream, int bytes)
    {
        if (bytes <= 0)
        {
            return ValueTask.CompletedTask;
        }

        lock (Sync)
        {
            if (_closed || stream.State.Cause is not (Http2CloseCause.None or Http2CloseCause.EndStream))
            {
                return ValueTask.CompletedTask; // a reset gave the unconsumed bytes back already
            }

            stream.DataConsumed += bytes;
            ReleaseConnectionWindowLocked(bytes);
            ReleaseStreamWindowLocked(stream, bytes);
        }

        return _writer.FlushControlAsync();
    }
}
