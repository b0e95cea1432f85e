using System.Buffers;
using System.Text;

namespace Switchyard.Http1;

public static partial class Http1Parser
{
    /// <summary>
    /// Reads one response head (RFC 9112 §4 status-line, §5 field lines) into <paramref name="head"/> and decides
    /// its body framing (§6.3) from the request it answers. False without consuming when incomplete; throws
    /// <see cref="Http1ParseException"/> for a malformed or ambiguous head (the proxy answers 502 and closes).
    /// </summary>
    /// <param name="requestMethod">The method of the request this response answers (HEAD and CONNECT change the framing).</param>
    public static bool TryReadResponseHead(ref ReadOnlySequence<byte> buffer, Http1ResponseHead head, string requestMethod, Http1Limits? limits = null)
    {
        limits ??= Http1Limits.Default;
        if (!TryFindHead(buffer, limits.MaxHeadBytes, "response head too large", out ReadOnlySequence<byte> section, out SequencePosition end))
        {
            return false;
        }

        head.Reset();
        ReadOnlySpan<byte> bytes = head.Headers.Load(section);
        ReadOnlySpan<byte> statusLine = NextLine(bytes, 0, out int fieldsStart);
        ParseStatusLine(statusLine, head);
        ParseFieldLines(bytes, fieldsStart, head.Headers, limits.MaxHeaderCount, "too many header fields");
        ApplyResponseFraming(head, requestMethod);
        buffer = buffer.Slice(end);
        return true;
    }

    /// <summary>
    /// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
    /// status-code = 3DIGIT; reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ). A missing SP after the code (a
    /// common server bug) is tolerated: it cannot change the framing.
    /// </summary>
    private static void ParseStatusLine(ReadOnlySpan<byte> line, Http1ResponseHead head)
    {
        if (line.Length < 12 || line[8] != ' ')
        {
            Http1ParseException.Throw("malformed status line");
        }

        head.Version = ParseVersion(line[..8], "malformed status line");
        ReadOnlySpan<byte> code = line.Slice(9, 3);
        if (code.ContainsAnyExceptInRange((byte)'0', (byte)'9') || (line.Length > 12 && line[12] != ' '))
        {
            Http1ParseException.Throw("malformed status line");
        }

        int status = ((code[0] - '0') * 100) + ((code[1] - '0') * 10) + (code[2] - '0');

        // RFC 9110 §15: "Values outside the range 100..599 are invalid."
        if (status is < 100 or > 599)
        {
            Http1ParseException.Throw("invalid status code");
        }

        ReadOnlySpan<byte> reason = line.Length > 13 ? line[13..] : default;
        if (reason.ContainsAny(InvalidFieldValue))
        {
            Http1ParseException.Throw("control character in reason phrase");
        }

        head.StatusCode = status;
        head.SetReason(reason);
    }

    /// <summary>RFC 9112 §6.3 (message body length) and §9.3 (persistence) for a response.</summary>
    private static void ApplyResponseFraming(Http1ResponseHead head, string requestMethod)
    {
        FieldFacts facts = Analyze(head.Headers);
        bool http11 = head.Version == Http1Version.Http11;
        int status = head.StatusCode;

        if (facts.HasTransferEncoding && !http11)
        {
            // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
            Http1ParseException.Throw("Transfer-Encoding in an HTTP/1.0 message");
        }

        // RFC 9112 §6.3: "If a message is received with both a Transfer-Encoding and a Content-Length header field,
        // the Transfer-Encoding overrides the Content-Length. Such a message might indicate an attempt to perform
        // request smuggling (Section 11.2) or response splitting (Section 11.1) and ought to be handled as an error."
        if (facts.HasTransferEncoding && facts.ContentLength >= 0)
        {
            Http1ParseException.Throw("both Transfer-Encoding and Content-Length");
        }

        if (requestMethod == Http1Methods.Head || status is < 200 or 204 or 304)
        {
            // §6.3 (1): "Any response to a HEAD request and any response with a 1xx (Informational), 204 (No
            // Content), or 304 (Not Modified) status code is always terminated by the first empty line after the
            // header fields, regardless of the header fields present in the message, and thus cannot contain a
            // message body or trailer section." Content-Length there describes the representation, not a body.
            head.BodyKind = BodyKind.None;
        }
        else if (requestMethod == Http1Methods.Connect && status is >= 200 and < 300)
        {
            // §6.3 (2): "Any 2xx (Successful) response to a CONNECT request implies that the connection will become
            // a tunnel immediately after the empty line that concludes the header fields."
            head.BodyKind = BodyKind.Tunnel;
        }
        else if (facts.HasTransferEncoding)
        {
            // §6.3 (4): "If a Transfer-Encoding header field is present in a response and the chunked transfer
            // coding is not the final encoding, the message body length is determined by reading the connection
            // until it is closed by the server."
            head.BodyKind = facts.ChunkedLast ? BodyKind.Chunked : BodyKind.UntilClose;
            head.HasOtherTransferCodings = facts.OtherCodings;
        }
        else if (facts.ContentLength >= 0)
        {
            // §6.3 (6).
            head.BodyKind = BodyKind.ContentLength;
            head.ContentLength = facts.ContentLength;
        }
        else
        {
            // §6.3 (8): "Otherwise, this is a response message without a declared message body length, so the
            // message body length is determined by the number of octets received prior to the server closing the
            // connection."
            head.BodyKind = BodyKind.UntilClose;
        }

        bool persistent = http11 ? !facts.Close : facts.KeepAliveOption && !facts.Close;
        head.KeepAlive = persistent && head.BodyKind is not (BodyKind.UntilClose or BodyKind.Tunnel);

        if (facts.UpgradeIndex >= 0)
        {
            head.UpgradeProtocol = Encoding.Latin1.GetString(head.Headers.Value(facts.UpgradeIndex));
        }

        // RFC 9110 §15.2.2: 101 Switching Protocols; "The server MUST generate an Upgrade header field in the
        // response that indicates which protocol(s) are being switched to".
        head.IsUpgrade = status == 101;
    }
}
