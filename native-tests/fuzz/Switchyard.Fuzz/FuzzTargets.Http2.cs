using System.Buffers;
using System.Text;
using Switchyard.Http2;
using Switchyard.Http2.Hpack;

namespace Switchyard.Fuzz;

internal static partial class FuzzTargets
{
    /// <summary>
    /// HTTP/2 frames (Http2FrameReader: preface, TryReadFrame and every payload reader): the answers to bad input are
    /// <see cref="Http2ConnectionException"/> (reading stops, as after GOAWAY) and <see cref="Http2StreamException"/>
    /// (reading goes on, as after RST_STREAM). Property: the same frames and errors whole and cut into segments.
    /// </summary>
    private static void Http2Frames(byte[] input)
    {
        string whole = ReadFrames(new ReadOnlySequence<byte>(input), Http2FrameReader.MinMaxFrameSize);
        string pieces = ReadFrames(Segmented(input, 1 + (input.Length % 13)), Http2FrameReader.MinMaxFrameSize);
        Agree(whole, pieces, "HTTP/2 frames, whole and in segments,");
        _ = ReadFrames(Segmented(input, 1 + (input.Length % 5)), Http2FrameReader.MaxMaxFrameSize);
    }

    /// <summary>
    /// HPACK (HpackDecoder): <see cref="HpackDecodingException"/> is the answer to a bad block. Properties: the same
    /// fields contiguous and in segments; a decoded list re-encoded by our encoder decodes to the same list; a second
    /// block on the same decoder (a full dynamic table) or after a lowered table size still ends in fields or the
    /// documented exception.
    /// </summary>
    private static void Hpack(byte[] input)
    {
        var decoder = new HpackDecoder(maxTableSize: 4096, maxHeaderListSize: 16 * 1024, maxStringLength: 8 * 1024);
        var fields = new FieldList();
        string whole = DecodeBlock(decoder, new ReadOnlySequence<byte>(input), fields);
        string pieces = DecodeBlock(new HpackDecoder(4096, 16 * 1024, 8 * 1024), Segmented(input, 1 + (input.Length % 11)), new FieldList());
        Agree(whole, pieces, "HPACK block, contiguous and in segments,");
        if (whole == "ok")
        {
            ReEncode(fields);
            _ = DecodeBlock(decoder, new ReadOnlySequence<byte>(input), new FieldList());
            decoder.SetMaxTableSize(input.Length % 300);
            _ = DecodeBlock(decoder, new ReadOnlySequence<byte>(input), new FieldList());
        }
    }

    private static string ReadFrames(ReadOnlySequence<byte> buffer, int maxFrameSize)
    {
        var transcript = new StringBuilder();
        if (Http2FrameReader.TryReadPreface(ref buffer, out bool valid) && valid)
        {
            transcript.Append("preface; ");
        }

        while (true)
        {
            Http2Frame frame;
            try
            {
                if (!Http2FrameReader.TryReadFrame(ref buffer, maxFrameSize, out frame))
                {
                    return transcript.Append($"rest {buffer.Length}").ToString();
                }
            }
            catch (Http2ConnectionException e)
            {
                return transcript.Append($"GOAWAY {e.Code}").ToString();
            }

            transcript.Append(frame.ToString()).Append(": ");
            try
            {
                DescribePayload(frame, transcript);
            }
            catch (Http2ConnectionException e)
            {
                return transcript.Append($"GOAWAY {e.Code}").ToString();
            }
            catch (Http2StreamException e)
            {
                if (e.StreamId != frame.StreamId)
                {
                    throw new FuzzOracleException($"RST_STREAM for stream {e.StreamId} from a frame on stream {frame.StreamId}");
                }

                transcript.Append($"RST_STREAM {e.Code}");
            }

            transcript.Append("; ");
        }
    }

    private static void DescribePayload(in Http2Frame frame, StringBuilder transcript)
    {
        long length = frame.Payload.Length;
        switch (frame.Type)
        {
            case Http2FrameType.Data:
                transcript.Append($"data {Fragment(Http2FrameReader.ReadData(frame), length)}");
                break;
            case Http2FrameType.Headers:
                HeadersPayload headers = Http2FrameReader.ReadHeaders(frame);
                transcript.Append($"headers {headers.HasPriority} {headers.StreamDependency} {headers.Exclusive} {headers.Weight} {Fragment(headers.Fragment, length)}");
                break;
            case Http2FrameType.Priority:
                transcript.Append($"priority {Http2FrameReader.ReadPriority(frame)}");
                break;
            case Http2FrameType.RstStream:
                transcript.Append($"rst {Http2FrameReader.ReadRstStream(frame)}");
                break;
            case Http2FrameType.Settings when frame.Flags.HasFlag(Http2FrameFlags.Ack):
                Http2FrameReader.ReadSettingsAck(frame);
                transcript.Append("settings ack");
                break;
            case Http2FrameType.Settings:
                var settings = new Http2SettingsReader(frame);
                transcript.Append($"settings {settings.Count}:");
                int read = 0;
                while (settings.TryRead(out Http2SettingId id, out uint value))
                {
                    transcript.Append($" {id}={value}");
                    read++;
                }

                if (read != settings.Count)
                {
                    throw new FuzzOracleException($"SETTINGS announced {settings.Count} entries, {read} read");
                }

                break;
            case Http2FrameType.PushPromise:
                PushPromisePayload promise = Http2FrameReader.ReadPushPromise(frame);
                transcript.Append($"push {promise.PromisedStreamId} {Fragment(promise.Fragment, length)}");
                break;
            case Http2FrameType.Ping:
                transcript.Append($"ping {Http2FrameReader.ReadPing(frame):x16}");
                break;
            case Http2FrameType.GoAway:
                GoAwayPayload goAway = Http2FrameReader.ReadGoAway(frame);
                transcript.Append($"goaway {goAway.LastStreamId} {goAway.ErrorCode} {Fragment(goAway.DebugData, length)}");
                break;
            case Http2FrameType.WindowUpdate:
                int increment = Http2FrameReader.ReadWindowUpdate(frame);
                if (increment is < 1 or > Http2FrameReader.MaxWindowSize)
                {
                    throw new FuzzOracleException($"WINDOW_UPDATE increment {increment} outside 1..2^31-1");
                }

                transcript.Append($"window {increment}");
                break;
            case Http2FrameType.Continuation:
                transcript.Append($"continuation {Fragment(Http2FrameReader.ReadContinuation(frame), length)}");
                break;
            default:
                transcript.Append("unknown type, ignored");
                break;
        }
    }

    private static string Fragment(in ReadOnlySequence<byte> fragment, long payloadLength)
    {
        if (fragment.Length > payloadLength)
        {
            throw new FuzzOracleException($"a fragment of {fragment.Length} octets out of a payload of {payloadLength}");
        }

        return Hex(fragment.ToArray());
    }

    private static string DecodeBlock(HpackDecoder decoder, in ReadOnlySequence<byte> block, FieldList fields)
    {
        try
        {
            HpackDecodeResult result = decoder.Decode(block, fields);
            return result == HpackDecodeResult.Ok ? "ok" : $"{result} after {fields}";
        }
        catch (HpackDecodingException)
        {
            return "rejected";
        }
        finally
        {
            fields.Sealed = true;
        }
    }

    /// <summary>Our encoder must carry any decoded list (any octets in names and values) to a fresh decoder intact.</summary>
    private static void ReEncode(FieldList fields)
    {
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginHeaderBlock(output);
        foreach ((byte[] name, byte[] value, HpackIndexing indexing) in fields.Fields)
        {
            encoder.EncodeHeader(name, value, indexing, output);
        }

        var back = new FieldList();
        try
        {
            if (new HpackDecoder(4096, int.MaxValue, int.MaxValue).Decode(output.WrittenSpan, back) != HpackDecodeResult.Ok)
            {
                throw new FuzzOracleException("re-encoded block too large for an unlimited decoder");
            }
        }
        catch (HpackDecodingException e)
        {
            throw new FuzzOracleException($"our encoder wrote a block our decoder refuses: {e.Message}");
        }

        if (back.ToString() != fields.ToString())
        {
            throw new FuzzOracleException($"re-encoded list differs:\n  sent:     {fields}\n  received: {back}");
        }
    }

    /// <summary>Collects decoded fields; never-indexed must stay never-indexed, the rest may change representation.</summary>
    private sealed class FieldList : IHpackHeaderSink
    {
        public List<(byte[] Name, byte[] Value, HpackIndexing Indexing)> Fields { get; } = [];

        public bool Sealed { get; set; }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing)
        {
            if (Sealed)
            {
                throw new FuzzOracleException("the sink was called after Decode returned");
            }

            Fields.Add((name.ToArray(), value.ToArray(), indexing));
        }

        public override string ToString() =>
            string.Join(' ', Fields.Select(f => $"[{Hex(f.Name)}:{Hex(f.Value)}{(f.Indexing == HpackIndexing.NeverIndexed ? " never" : string.Empty)}]"));
    }
}
