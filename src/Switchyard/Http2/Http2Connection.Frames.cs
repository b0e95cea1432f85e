using System.Buffers;
using Switchyard.Http2.Hpack;

namespace Switchyard.Http2;

/// <summary>What each inbound frame does (RFC 9113 §6), read loop only.</summary>
internal sealed partial class Http2Connection
{
    /// <summary>§6.1 DATA.</summary>
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
        Http2ErrorCode? error = null;
        string? reason = null;
        lock (Sync)
        {
            // §6.9.1: "A sender MUST NOT send a flow-controlled frame with a length that exceeds the space available
            // in either of the flow-control windows advertised by the receiver." Past the connection's: connection error.
            if (!_receiveWindow.TryReceive(length))
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "DATA beyond the connection window");
            }

            if (!_streams.TryGetValue(streamId, out stream))
            {
                ReleaseConnectionWindowLocked(length); // nobody will forward these bytes
                if (IsIdle(streamId))
                {
                    // §5.1 idle: "Receiving any frame other than HEADERS or PRIORITY on a stream in this state MUST
                    // be treated as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "DATA on an idle stream");
                }

                LateFrameLocked(streamId, "DATA on a closed stream");
                return;
            }

            if (stream.State.RemoteEnded)
            {
                ReleaseConnectionWindowLocked(length);
                (error, reason) = (Http2ErrorCode.StreamClosed, "DATA after END_STREAM");
            }
            else if (!_isServer && stream.Phase == Http2InboundPhase.Head)
            {
                // §8.1: a response is a HEADERS block, then DATA: DATA first makes it malformed.
                ReleaseConnectionWindowLocked(length);
                (error, reason) = (Http2ErrorCode.ProtocolError, "DATA before the response head");
            }
            else if (!stream.ReceiveWindow.TryReceive(length))
            {
                ReleaseConnectionWindowLocked(length);
                (error, reason) = (Http2ErrorCode.FlowControlError, "DATA beyond the stream window");
            }
            else
            {
                // Padding is not forwarded: give its share of both windows back at once.
                int padding = length - (int)data.Length;
                if (padding > 0)
                {
                    ReleaseConnectionWindowLocked(padding);
                    ReleaseStreamWindowLocked(stream, padding);
                }

                stream.DataReceived += data.Length;

                // §8.1.1: "A request or response is also malformed if the value of a content-length header field
                // does not equal the sum of the DATA frame payload lengths that form the content".
                if (stream.ExpectedDataLength >= 0 && (stream.DataReceived > stream.ExpectedDataLength || (endStream && stream.DataReceived != stream.ExpectedDataLength)))
                {
                    (error, reason) = (Http2ErrorCode.ProtocolError, "DATA does not match content-length");
                }
                else if (stream.State.Receive(endStream))
                {
                    ForgetClosedLocked(stream);
                }
            }
        }

        if (error is { } code)
        {
            StreamErrorFromPeer(stream, code, reason!);
            return;
        }

        if (!data.IsEmpty)
        {
            stream.OnData(data);
        }

        if (endStream)
        {
            stream.OnRemoteEnd();
        }
    }

    /// <summary>§6.3 PRIORITY: deprecated and ignored (§5.3.2), but still checked and rate-limited.</summary>
    private void OnPriority(in Http2Frame frame)
    {
        Abuse(_guard?.OnPriority());
        try
        {
            Http2FrameReader.ReadPriority(frame);
        }
        catch (Http2StreamException e)
        {
            StreamErrorFromPeer(e.StreamId, e.Code, e.Message, allowedOnIdle: true);
        }
    }

    /// <summary>§6.4 RST_STREAM: the peer ends a stream at once.</summary>
    private void OnRstStream(in Http2Frame frame)
    {
        Http2ErrorCode code = Http2FrameReader.ReadRstStream(frame);
        int streamId = frame.Header.StreamId;
        Http2Stream? stream;
        lock (Sync)
        {
            if (IsIdle(streamId))
            {
                // §6.4: "If a RST_STREAM frame identifying an idle stream is received, the recipient MUST treat this
                // as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "RST_STREAM on an idle stream");
            }

            if (!_streams.TryGetValue(streamId, out stream) || !CloseStreamLocked(stream, Http2CloseCause.RemoteReset))
            {
                return;
            }
        }

        stream.OnReset(new Http2StreamResetException(code, $"the peer reset the stream ({code})", retryable: code == Http2ErrorCode.RefusedStream));
        if (_isServer)
        {
            Abuse(_guard?.OnPeerReset());
        }
    }

    /// <summary>§6.5 SETTINGS: the peer's parameters for what we send; acknowledged at once (§6.5.3).</summary>
    private void OnSettings(in Http2Frame frame)
    {
        if ((frame.Header.Flags & Http2FrameFlags.Ack) != 0)
        {
            Http2FrameReader.ReadSettingsAck(frame);
            return;
        }

        var reader = new Http2SettingsReader(frame);
        Abuse(_guard?.OnSettings(reader.Count));
        lock (Sync)
        {
            while (reader.TryRead(out Http2SettingId id, out uint value))
            {
                switch (id)
                {
                    case Http2SettingId.HeaderTableSize:
                        _writer.SetPeerHeaderTableSize((int)Math.Min(value, 64 * 1024));
                        break;
                    case Http2SettingId.MaxConcurrentStreams:
                        _peerMaxConcurrentStreams = (int)Math.Min(value, int.MaxValue);
                        break;
                    case Http2SettingId.InitialWindowSize:
                        // §6.9.2: "the receiver MUST adjust the size of all stream flow-control windows that it
                        // maintains by the difference between the new value and the old value"; "An endpoint MUST
                        // treat a change to SETTINGS_INITIAL_WINDOW_SIZE that causes any flow-control window to
                        // exceed the maximum size as a connection error of type FLOW_CONTROL_ERROR."
                        int delta = (int)value - _peerInitialWindow;
                        _peerInitialWindow = (int)value;
                        foreach (Http2Stream s in _streams.Values)
                        {
                            if (!s.SendWindow.TryGrow(delta))
                            {
                                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window");
                            }
                        }

                        break;
                    case Http2SettingId.MaxFrameSize:
                        _peerMaxFrameSize = (int)value;
                        break;
                    default:
                        break; // §6.5.2: "An endpoint that receives a SETTINGS frame with any unknown or unsupported identifier MUST ignore that setting."
                }
            }

            _writer.QueueSettingsAck();
            PulseWindowsLocked();
        }
    }

    /// <summary>§6.7 PING: answered with the same payload and ACK.</summary>
    private void OnPing(in Http2Frame frame)
    {
        ulong opaque = Http2FrameReader.ReadPing(frame);
        if ((frame.Header.Flags & Http2FrameFlags.Ack) != 0)
        {
            return;
        }

        Abuse(_guard?.OnPing());
        _writer.QueuePingAck(opaque);
    }

    /// <summary>
    /// §6.8 GOAWAY: no new streams; as a client, our streams above the last id were not processed and may be sent
    /// again elsewhere ("can be treated as though they had never been created at all").
    /// </summary>
    private void OnGoAway(in Http2Frame frame)
    {
        GoAwayPayload goAway = Http2FrameReader.ReadGoAway(frame);
        if (goAway.ErrorCode != Http2ErrorCode.NoError)
        {
            GoAwayReceived = DescribeGoAway(goAway);
        }

        List<Http2Stream> refused = [];
        lock (Sync)
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
                    CloseStreamLocked(s, Http2CloseCause.RemoteReset);
                }
            }

            SignalIdleIfDoneLocked();
        }

        foreach (Http2Stream s in refused)
        {
            s.OnReset(new Http2StreamResetException(Http2ErrorCode.RefusedStream, "the destination went away before processing the stream", retryable: true));
        }
    }

    /// <summary>"GOAWAY CODE" plus the debug data as printable ASCII (§6.8: opaque, "for diagnostic purposes only").</summary>
    private static string DescribeGoAway(in GoAwayPayload goAway)
    {
        const int MaxDebug = 200;
        int length = (int)Math.Min(goAway.DebugData.Length, MaxDebug);
        if (length == 0)
        {
            return $"GOAWAY {goAway.ErrorCode}";
        }

        Span<byte> debug = stackalloc byte[length];
        goAway.DebugData.Slice(0, length).CopyTo(debug);
        Span<char> text = stackalloc char[length];
        for (int i = 0; i < length; i++)
        {
            text[i] = debug[i] is >= 0x20 and < 0x7F ? (char)debug[i] : '?';
        }

        return $"GOAWAY {goAway.ErrorCode}: {text}";
    }

    /// <summary>§6.9 WINDOW_UPDATE: the peer opens one of our send windows.</summary>
    private void OnWindowUpdate(in Http2Frame frame)
    {
        int increment;
        try
        {
            increment = Http2FrameReader.ReadWindowUpdate(frame);
        }
        catch (Http2StreamException e)
        {
            // §6.9: "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a flow-control window increment
            // of 0 as a stream error (Section 5.4.2) of type PROTOCOL_ERROR".
            StreamErrorFromPeer(e.StreamId, e.Code, e.Message);
            return;
        }

        int streamId = frame.Header.StreamId;
        Http2Stream? overflowed = null;
        lock (Sync)
        {
            if (streamId == 0)
            {
                if (!_sendWindow.TryGrow(increment))
                {
                    throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "WINDOW_UPDATE overflows the connection window");
                }
            }
            else if (_streams.TryGetValue(streamId, out Http2Stream? stream))
            {
                if (!stream.SendWindow.TryGrow(increment))
                {
                    overflowed = stream;
                }
            }
            else if (IsIdle(streamId))
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "WINDOW_UPDATE on an idle stream");
            }

            // else a closed stream: §6.9 "WINDOW_UPDATE can be sent by a peer that has sent a frame with the
            // END_STREAM flag set", so it is ignored.
            PulseWindowsLocked();
        }

        if (overflowed is not null)
        {
            StreamErrorFromPeer(overflowed, Http2ErrorCode.FlowControlError, "WINDOW_UPDATE overflows the stream window");
        }
    }

    /// <summary>Whether a stream id is still idle (§5.1): above every stream either side opened of that parity.</summary>
    private bool IsIdle(int streamId) =>
        (streamId & 1) == (_isServer ? 1 : 0) ? streamId > _highestPeerStreamId : streamId >= _nextStreamId;
}
