using System.Buffers;
using System.Text;
using Switchyard.Http1;

namespace Switchyard.Fuzz;

internal static partial class FuzzTargets
{
    /// <summary>
    /// HTTP/1 request head (Http1Parser.TryReadRequestHead): <see cref="Http1ParseException"/> is the answer to bad input.
    /// Properties: the same bytes give the same head (or the same refusal) whole and arriving in pieces; false
    /// consumes nothing; an accepted HTTP/1.1 head, re-written as the proxy forwards it, parses back with the same
    /// method, target and framing.
    /// </summary>
    private static void Http1Request(byte[] input)
    {
        string whole = ReadRequest(new ReadOnlySequence<byte>(input), Http1Limits.Default, rewrite: true);
        string pieces = FeedRequest(input, Step(input), Http1Limits.Default);
        Agree(whole, pieces, "request head, whole and in pieces,");
        _ = ReadRequest(Segmented(input, 1 + (input.Length % 5)), Tight, rewrite: false);
    }

    /// <summary>HTTP/1 response head (Http1Parser.TryReadResponseHead) for a GET, a HEAD and a CONNECT; same properties as requests.</summary>
    private static void Http1Response(byte[] input)
    {
        foreach (string method in Fixed.ResponseMethods)
        {
            string whole = ReadResponse(new ReadOnlySequence<byte>(input), method, Http1Limits.Default, rewrite: true);
            string pieces = FeedResponse(input, Step(input), method, Http1Limits.Default);
            Agree(whole, pieces, $"response head to {method}, whole and in pieces,");
        }

        _ = ReadResponse(Segmented(input, 1 + (input.Length % 5)), Http1Methods.Get, Tight, rewrite: false);
    }

    /// <summary>
    /// Chunked body (ChunkedDecoder): <see cref="Http1ParseException"/> is the answer to bad framing. Properties: the
    /// same body, trailers and end whole and in pieces; every call makes progress; BodyBytes counts what was handed out.
    /// </summary>
    private static void Chunked(byte[] input)
    {
        string whole = DecodeChunked(input, input.Length, Http1Limits.Default);
        string pieces = DecodeChunked(input, Step(input), Http1Limits.Default);
        Agree(whole, pieces, "chunked body, whole and in pieces,");
        _ = DecodeChunked(input, 1 + (input.Length % 3), Tight);
    }

    private static string ReadRequest(ReadOnlySequence<byte> input, Http1Limits limits, bool rewrite)
    {
        using var head = new Http1RequestHead();
        ReadOnlySequence<byte> buffer = input;
        try
        {
            if (!Http1Parser.TryReadRequestHead(ref buffer, head, limits))
            {
                NothingConsumed(input, buffer);
                return "incomplete";
            }
        }
        catch (Http1ParseException)
        {
            return "rejected";
        }

        string described = Describe(head, input.Length - buffer.Length);
        if (rewrite && head.Version == Http1Version.Http11)
        {
            // An HTTP/1.0 head is forwarded as HTTP/1.1 too; one without Host is the known gap of issue 12 item 5.
            RewriteRequest(head);
        }

        return described;
    }

    /// <summary>Grows the buffer by <paramref name="step"/> bytes at a time, as a pipe does, until the head is read or refused.</summary>
    private static string FeedRequest(byte[] input, int step, Http1Limits limits)
    {
        for (int available = Math.Min(step, input.Length); ; available = Math.Min(available + step, input.Length))
        {
            string outcome = ReadRequest(Segmented(input.AsMemory(0, available), step), limits, rewrite: false);
            if (outcome != "incomplete" || available == input.Length)
            {
                return outcome;
            }
        }
    }

    private static string ReadResponse(ReadOnlySequence<byte> input, string method, Http1Limits limits, bool rewrite)
    {
        using var head = new Http1ResponseHead();
        ReadOnlySequence<byte> buffer = input;
        try
        {
            if (!Http1Parser.TryReadResponseHead(ref buffer, head, method, limits))
            {
                NothingConsumed(input, buffer);
                return "incomplete";
            }
        }
        catch (Http1ParseException)
        {
            return "rejected";
        }

        string described = Describe(head, input.Length - buffer.Length);
        if (rewrite)
        {
            RewriteResponse(head, method);
        }

        return described;
    }

    private static string FeedResponse(byte[] input, int step, string method, Http1Limits limits)
    {
        for (int available = Math.Min(step, input.Length); ; available = Math.Min(available + step, input.Length))
        {
            string outcome = ReadResponse(Segmented(input.AsMemory(0, available), step), method, limits, rewrite: false);
            if (outcome != "incomplete" || available == input.Length)
            {
                return outcome;
            }
        }
    }

    private static void NothingConsumed(in ReadOnlySequence<byte> input, in ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length != input.Length)
        {
            throw new FuzzOracleException($"TryRead returned false but consumed {input.Length - buffer.Length} bytes");
        }
    }

    /// <summary>The proxy must never forward a request head it would refuse itself, nor change its framing.</summary>
    private static void RewriteRequest(Http1RequestHead head)
    {
        var output = new ArrayBufferWriter<byte>();
        Http1HeadWriter.WriteRequestHead(output, head);
        using var again = new Http1RequestHead();
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        try
        {
            if (!Http1Parser.TryReadRequestHead(ref buffer, again, Roomy) || !buffer.IsEmpty)
            {
                throw new FuzzOracleException($"re-written request head is incomplete or has extra bytes: {Encoding.Latin1.GetString(output.WrittenSpan)}");
            }
        }
        catch (Http1ParseException e)
        {
            throw new FuzzOracleException($"re-written request head refused ({e.Message}): {Encoding.Latin1.GetString(output.WrittenSpan)}");
        }

        if (again.Method != head.Method || again.Target != head.Target || again.BodyKind != head.BodyKind ||
            (head.BodyKind == BodyKind.ContentLength && again.ContentLength != head.ContentLength))
        {
            throw new FuzzOracleException($"re-written request head reads differently: {Describe(head, 0)} became {Describe(again, 0)}");
        }
    }

    /// <summary>The proxy must never forward a response head it would refuse itself, nor change its framing.</summary>
    private static void RewriteResponse(Http1ResponseHead head, string method)
    {
        var output = new ArrayBufferWriter<byte>();
        Http1HeadWriter.WriteResponseHead(output, head);
        using var again = new Http1ResponseHead();
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        try
        {
            if (!Http1Parser.TryReadResponseHead(ref buffer, again, method, Roomy) || !buffer.IsEmpty)
            {
                throw new FuzzOracleException($"re-written response head is incomplete or has extra bytes: {Encoding.Latin1.GetString(output.WrittenSpan)}");
            }
        }
        catch (Http1ParseException e)
        {
            throw new FuzzOracleException($"re-written response head to {method} refused ({e.Message}): {Encoding.Latin1.GetString(output.WrittenSpan)}");
        }

        if (again.StatusCode != head.StatusCode || again.BodyKind != head.BodyKind ||
            (head.BodyKind == BodyKind.ContentLength && again.ContentLength != head.ContentLength))
        {
            throw new FuzzOracleException($"re-written response head to {method} reads differently: {Describe(head, 0)} became {Describe(again, 0)}");
        }
    }

    private static string Describe(Http1RequestHead head, long consumed) =>
        $"consumed={consumed} {head.Method} {head.Target} form={head.TargetForm} path={head.Path} host={(head.HasHost ? Hex(head.Host) : "-")} " +
        $"expect100={head.Expect100Continue} h2c={head.IsH2cUpgrade} " + DescribeMessage(head);

    private static string Describe(Http1ResponseHead head, long consumed) =>
        $"consumed={consumed} {head.StatusCode} reason={Hex(head.ReasonPhrase)} interim={head.IsInterim} " + DescribeMessage(head);

    private static string DescribeMessage(Http1MessageHead head)
    {
        var text = new StringBuilder();
        text.Append($"{head.Version} body={head.BodyKind}/{head.ContentLength} keepAlive={head.KeepAlive} otherCodings={head.HasOtherTransferCodings} upgrade={head.IsUpgrade}/{head.UpgradeProtocol}");
        for (int i = 0; i < head.Count; i++)
        {
            text.Append($" [{Hex(head.Name(i))}:{Hex(head.Value(i))}]");
        }

        return text.ToString();
    }

    /// <summary>Decodes a chunked body fed <paramref name="step"/> bytes at a time; describes the body, the trailers and the end.</summary>
    private static string DecodeChunked(byte[] input, int step, Http1Limits limits)
    {
        using var decoder = new ChunkedDecoder(limits);
        decoder.Reset();
        var body = new ArrayBufferWriter<byte>();
        int consumed = 0;
        int available = Math.Min(Math.Max(step, 1), input.Length);
        for (int calls = 0; ; calls++)
        {
            if (calls > (4 * input.Length) + 16)
            {
                throw new FuzzOracleException($"no progress after {calls} calls ({consumed} of {input.Length} bytes consumed)");
            }

            ReadOnlySequence<byte> buffer = Segmented(input.AsMemory(consumed, available - consumed), Math.Max(step, 1));
            long before = buffer.Length;
            ChunkedReadStatus status;
            ReadOnlySequence<byte> data;
            try
            {
                status = decoder.Read(ref buffer, out data);
            }
            catch (Http1ParseException)
            {
                return $"rejected after {Hex(body.WrittenSpan)}";
            }

            consumed += (int)(before - buffer.Length);
            if (decoder.BodyBytes != body.WrittenCount + (status == ChunkedReadStatus.Data ? data.Length : 0))
            {
                throw new FuzzOracleException($"BodyBytes {decoder.BodyBytes} but {body.WrittenCount + data.Length} bytes handed out");
            }

            switch (status)
            {
                case ChunkedReadStatus.Data:
                    if (data.IsEmpty)
                    {
                        throw new FuzzOracleException("Data without bytes");
                    }

                    foreach (ReadOnlyMemory<byte> segment in data)
                    {
                        body.Write(segment.Span);
                    }

                    break;
                case ChunkedReadStatus.Completed:
                    var trailers = new StringBuilder();
                    for (int i = 0; i < decoder.Trailers.Count; i++)
                    {
                        trailers.Append($" [{Hex(decoder.Trailers.Name(i))}:{Hex(decoder.Trailers.Value(i))}]");
                    }

                    return $"completed {Hex(body.WrittenSpan)} trailers{trailers} rest={input.Length - consumed}";
                default:
                    if (available == input.Length)
                    {
                        return $"incomplete after {Hex(body.WrittenSpan)}";
                    }

                    available = Math.Min(available + Math.Max(step, 1), input.Length);
                    break;
            }
        }
    }
}
