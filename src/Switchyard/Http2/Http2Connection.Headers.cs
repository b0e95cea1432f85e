using System.Buffers;
using Switchyard.Http2.Hpack;

namespace Switchyard.Http2;

/// <summary>
/// Header blocks (RFC 9113 §4.3, §6.2, §6.10): HEADERS and CONTINUATION assembled into one block, decoded, then the
/// stream it opens (server role) or belongs to, and the §8.1 message rules it must meet. Read loop only.
/// </summary>
internal sealed partial class Http2Connection
{
    /// <summary>A header block being assembled from HEADERS and CONTINUATION frames (§4.3: one block, one stream).</summary>
    private readonly record struct HeaderBlock(int StreamId, bool EndStream, bool DependsOnItself);

    private readonly ArrayBufferWriter<byte> _headerBlockBytes = new(1024);

    /// <summary>The block waiting for CONTINUATION frames (StreamId 0: none).</summary>
    private HeaderBlock _headerBlock;

    /// <summary>§6.2 HEADERS: the first fragment of a header block.</summary>
    private void OnHeaders(in Http2Frame frame)
    {
        int streamId = frame.Header.StreamId;
        HeadersPayload payload = Http2FrameReader.ReadHeaders(frame);
        _headerBlockBytes.ResetWrittenCount();
        foreach (ReadOnlyMemory<byte> segment in payload.Fragment)
        {
            _headerBlockBytes.Write(segment.Span);
        }

        bool endHeaders = (frame.Header.Flags & Http2FrameFlags.EndHeaders) != 0;
        if (payload.Fragment.IsEmpty && !endHeaders)
        {
            Abuse(_guard?.OnEmptyFrame());
        }

        Abuse(_guard?.OnHeaderBlockFragment((int)payload.Fragment.Length, isContinuation: false));

        // §5.3.1: "A stream cannot depend on itself. An endpoint MUST treat this as a stream error (Section 5.4.2) of
        // type PROTOCOL_ERROR." The block is still decoded (HPACK state is shared by the connection).
        var block = new HeaderBlock(streamId, (frame.Header.Flags & Http2FrameFlags.EndStream) != 0, payload.HasPriority && payload.StreamDependency == streamId);
        if (endHeaders)
        {
            OnHeaderBlock(block);
        }
        else
        {
            _headerBlock = block;
            Volatile.Write(ref _headerBlockSince, Clock.GetTimestamp());
        }
    }

    /// <summary>§6.10 CONTINUATION: the next fragment of the block in progress.</summary>
    private void OnContinuation(in Http2Frame frame)
    {
        if (_headerBlock.StreamId == 0)
        {
            // §6.10: "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or CONTINUATION frame without
            // the END_HEADERS flag set. A recipient that observes violation of this rule MUST respond with a
            // connection error (Section 5.4.1) of type PROTOCOL_ERROR."
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "CONTINUATION without a header block");
        }

        bool endHeaders = (frame.Header.Flags & Http2FrameFlags.EndHeaders) != 0;
        if (frame.Payload.IsEmpty && !endHeaders)
        {
            Abuse(_guard?.OnEmptyFrame());
        }

        Abuse(_guard?.OnHeaderBlockFragment((int)frame.Payload.Length, isContinuation: true));
        foreach (ReadOnlyMemory<byte> segment in frame.Payload)
        {
            _headerBlockBytes.Write(segment.Span);
        }

        if (endHeaders)
        {
            HeaderBlock block = _headerBlock;
            _headerBlock = default;
            Volatile.Write(ref _headerBlockSince, 0);
            OnHeaderBlock(block);
        }
    }

    /// <summary>A complete header block: decode (always, to keep HPACK in sync), then open a stream or deliver it.</summary>
    private void OnHeaderBlock(HeaderBlock block)
    {
        var headers = new Http2HeaderList();
        HpackDecodeResult decoded;
        try
        {
            decoded = _decoder.Decode(_headerBlockBytes.WrittenSpan, headers);
        }
        catch (HpackDecodingException e)
        {
            headers.Dispose();

            // §4.3: "A decoding error in a field block MUST be treated as a connection error of type COMPRESSION_ERROR."
            throw new Http2ConnectionException(Http2ErrorCode.CompressionError, $"HPACK: {e.Message}");
        }

        headers.EndStream = block.EndStream;
        Http2Stream? stream = OpenOrFindForHeaders(block);
        if (stream is null)
        {
            headers.Dispose(); // refused, reset or ignored: decoded for HPACK's sake only
            return;
        }

        bool opened = _isServer && stream.State.State == Http2StreamState.Idle; // created by this block
        string? malformed;
        Http2ErrorCode code = Http2ErrorCode.ProtocolError;
        if (decoded == HpackDecodeResult.HeaderListTooLarge)
        {
            Abuse(_guard?.OnHeaderListTooLarge());

            // §10.5.1: a header list over SETTINGS_MAX_HEADER_LIST_SIZE; a request never processed is refused.
            malformed = "header list too large";
            code = opened ? Http2ErrorCode.RefusedStream : Http2ErrorCode.ProtocolError;
        }
        else if (block.DependsOnItself)
        {
            malformed = "the stream depends on itself";
        }
        else
        {
            lock (Sync)
            {
                if (!opened && stream.State.CheckReceive() is { } stateError)
                {
                    code = stateError;
                    malformed = stream.State.State == Http2StreamState.HalfClosedRemote ? "HEADERS after END_STREAM" : "HEADERS on a closed stream";
                }
                else if ((malformed = CheckHeaderBlockLocked(stream, headers, block.EndStream)) is null)
                {
                    if (opened)
                    {
                        stream.State.Open(receivedByUs: true, block.EndStream);
                        stream.ExchangeHeld = _onStream is not null;
                        stream.SlotHolds += stream.ExchangeHeld ? 1 : 0;
                    }
                    else if (stream.State.Receive(block.EndStream))
                    {
                        ForgetClosedLocked(stream);
                    }
                }
            }
        }

        if (malformed is not null)
        {
            headers.Dispose();
            StreamErrorFromPeer(stream, code, malformed);
            return;
        }

        if (opened)
        {
            if (_onStream is null)
            {
                headers.Dispose();
            }
            else
            {
                _onStream(stream, headers);
            }
        }
        else
        {
            stream.OnHeaderBlock(headers);
        }

        if (block.EndStream)
        {
            stream.OnRemoteEnd();
        }
    }

    /// <summary>
    /// The stream a header block belongs to: an open one, or a new one the peer opens (server role, §5.1.1). Null
    /// when the block must be dropped: a late block on a stream we reset, or a stream refused.
    /// </summary>
    private Http2Stream? OpenOrFindForHeaders(HeaderBlock block)
    {
        int streamId = block.StreamId;
        Http2AbuseVerdict? verdict = null;
        lock (Sync)
        {
            if (_streams.TryGetValue(streamId, out Http2Stream? stream))
            {
                return stream;
            }

            if (!_isServer)
            {
                // §8.4: a server cannot open streams toward us without push (disabled); an odd id of ours that we
                // forgot (reset or given up) may still get its response in flight: dropped.
                if ((streamId & 1) == 0 || streamId >= _nextStreamId)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"HEADERS on stream {streamId}, which the destination cannot open");
                }

                return null;
            }

            if ((streamId & 1) == 0)
            {
                // §5.1.1: "Streams initiated by a client MUST use odd-numbered stream identifiers".
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"HEADERS on stream {streamId}, an even stream id from the client");
            }

            if (streamId <= _highestPeerStreamId)
            {
                LateHeadersLocked(streamId);
                return null;
            }

            _highestPeerStreamId = streamId;
            if (_goAwaySent || _closed)
            {
                // §6.8: streams above the last id of our GOAWAY are not processed; REFUSED_STREAM says so.
                RefuseLocked(streamId);
                verdict = _guard?.OnStreamRefused();
            }
            else if (_activeStreams >= _limits.MaxConcurrentStreams)
            {
                // §5.1.2: "An endpoint that receives a HEADERS frame that causes its advertised concurrent stream
                // limit to be exceeded MUST treat this as a stream error (Section 5.4.2) of type PROTOCOL_ERROR or
                // REFUSED_STREAM." REFUSED_STREAM tells the client it may retry. Counted toward the reset budget.
                RefuseLocked(streamId);
                verdict = _guard?.OnStreamOpening(_activeStreams, _limits.MaxConcurrentStreams);
                verdict = verdict is { IsStreamError: true } ? null : verdict;
            }
            else
            {
                stream = new Http2Stream(this, streamId, _peerInitialWindow, _limits.InitialStreamWindow) { SlotHolds = 1, LastActivity = Clock.GetTimestamp() };
                _streams.Add(streamId, stream);
                _activeStreams++;
                return stream;
            }
        }

        Abuse(verdict);
        return null;
    }

    /// <summary>RFC 9113 §8.1 message rules for a header block on its stream; null when well formed.</summary>
    private string? CheckHeaderBlockLocked(Http2Stream stream, Http2HeaderList headers, bool endStream)
    {
        string? malformed;
        if (_isServer && stream.State.State == Http2StreamState.Idle)
        {
            malformed = Http2Validation.CheckRequest(headers);
            if (malformed is null)
            {
                stream.ExpectedDataLength = ContentLength(headers);
                malformed = stream.ExpectedDataLength == -2 ? "bad content-length" : null;
            }
        }
        else if (!_isServer && stream.Phase == Http2InboundPhase.Head)
        {
            malformed = Http2Validation.CheckResponse(headers, out int status);

            // §8.1: "An endpoint that receives a HEADERS frame without the END_STREAM flag set after receiving the
            // HEADERS frame that opens a request or after receiving a final (non-informational) status code MUST
            // treat the corresponding request or response as malformed"; a 1xx cannot end the stream.
            if (malformed is null && status is >= 100 and < 200)
            {
                return endStream ? "1xx with END_STREAM" : null; // informational: the head is still to come
            }

            if (malformed is null)
            {
                stream.Phase = Http2InboundPhase.Body;
                long length = ContentLength(headers);

                // §8.1.1: "A response that is defined to have no content, as described in Section 6.4.1 of [HTTP],
                // MAY have a non-zero content-length header field, even though no content is included in DATA
                // frames." — the answer to HEAD, a 204 and a 304.
                stream.ExpectedDataLength = length == -2 ? -2 : stream.RequestIsHead || status is 204 or 304 ? 0 : length;
                malformed = length == -2 ? "bad content-length" : null;
            }
        }
        else
        {
            // Trailers: §8.1 "the trailer section ... MUST carry END_STREAM".
            malformed = !endStream ? "trailers without END_STREAM" : Http2Validation.CheckTrailers(headers);
        }

        if (malformed is null && endStream && stream.ExpectedDataLength >= 0 && stream.DataReceived != stream.ExpectedDataLength)
        {
            malformed = "DATA does not match content-length";
        }

        return malformed;
    }

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
}
