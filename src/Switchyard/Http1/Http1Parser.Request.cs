using System.Buffers;
using System.Text;

namespace Switchyard.Http1;

public static partial class Http1Parser
{
    /// <summary>
    /// Reads one request head (RFC 9112 §3 request-line, §5 field lines, §6 framing) into <paramref name="head"/>.
    /// On true, <paramref name="buffer"/> starts at the body (or the next request); on false nothing was consumed
    /// and <paramref name="head"/> is unspecified. Throws <see cref="Http1ParseException"/> (answer 400 and close).
    /// </summary>
    public static bool TryReadRequestHead(ref ReadOnlySequence<byte> buffer, Http1RequestHead head, Http1Limits? limits = null)
    {
        limits ??= Http1Limits.Default;
        if (!TryFindHead(buffer, limits.MaxHeadBytes, "request head too large", out ReadOnlySequence<byte> section, out SequencePosition end))
        {
            return false;
        }

        head.Reset();
        ReadOnlySpan<byte> bytes = head.Headers.Load(section);
        ReadOnlySpan<byte> requestLine = NextLine(bytes, 0, out int fieldsStart);
        ParseRequestLine(requestLine, head);
        ParseFieldLines(bytes, fieldsStart, head.Headers, limits.MaxHeaderCount, "too many header fields");
        ApplyRequestFraming(head);
        buffer = buffer.Slice(end);
        return true;
    }

    /// <summary>
    /// RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
    /// Exactly one SP between the parts: the lenient whitespace splitting of §3 ("MAY instead parse on whitespace-
    /// delimited word boundaries") is what lets two parsers see two different targets.
    /// </summary>
    private static void ParseRequestLine(ReadOnlySpan<byte> line, Http1RequestHead head)
    {
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 < 0)
        {
            Http1ParseException.Throw("malformed request line");
        }

        // RFC 9110 §9.1: method = token.
        ReadOnlySpan<byte> method = line[..sp1];
        if (method.IsEmpty || method.ContainsAnyExcept(Tchar))
        {
            Http1ParseException.Throw("invalid character in method");
        }

        ReadOnlySpan<byte> rest = line[(sp1 + 1)..];
        int sp2 = rest.IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            Http1ParseException.Throw("malformed request line");
        }

        ReadOnlySpan<byte> target = rest[..sp2];
        head.Version = ParseVersion(rest[(sp2 + 1)..], "malformed request line");

        // RFC 9112 §3.2: the request-target is URI syntax (RFC 3986): visible US-ASCII only. No whitespace, no
        // CTLs, no raw bytes above 0x7F.
        if (target.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E))
        {
            Http1ParseException.Throw("invalid character in request-target");
        }

        // RFC 9112 §3.2 and RFC 9110 §4.2.5: a fragment is not part of a request-target; a '#' is malformed.
        if (target.Contains((byte)'#'))
        {
            Http1ParseException.Throw("fragment in request-target");
        }

        head.Method = Http1Methods.Intern(method);
        string text = Encoding.ASCII.GetString(target);
        head.Target = text;
        ClassifyTarget(text, head);
    }

    /// <summary>RFC 9112 §3.2: the four forms of request-target and which methods may use which.</summary>
    private static void ClassifyTarget(string target, Http1RequestHead head)
    {
        if (head.IsConnect)
        {
            // RFC 9112 §3.2.3: "The authority-form of request-target is only used for CONNECT requests" and
            // CONNECT uses only it: uri-host ":" port.
            if (target[0] == '/' || target.Contains("://", StringComparison.Ordinal) || !target.Contains(':', StringComparison.Ordinal))
            {
                Http1ParseException.Throw("CONNECT needs an authority-form target");
            }

            head.TargetForm = RequestTargetForm.Authority;
            head.SetPath(0, 0);
            return;
        }

        if (target[0] == '/')
        {
            // RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ].
            head.TargetForm = RequestTargetForm.Origin;
            int query = target.IndexOf('?', StringComparison.Ordinal);
            head.SetPath(0, query < 0 ? target.Length : query);
            return;
        }

        if (target == "*")
        {
            // RFC 9112 §3.2.4: "The asterisk-form of request-target is only used for a server-wide OPTIONS request".
            if (head.Method != Http1Methods.Options)
            {
                Http1ParseException.Throw("asterisk-form target is only for OPTIONS");
            }

            head.TargetForm = RequestTargetForm.Asterisk;
            head.SetPath(0, 1);
            return;
        }

        // RFC 9112 §3.2.2: absolute-form = absolute-URI; scheme "://" authority path-abempty [ "?" query ].
        int schemeEnd = target.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0 || !char.IsAsciiLetter(target[0]))
        {
            Http1ParseException.Throw("invalid request-target");
        }

        head.TargetForm = RequestTargetForm.Absolute;
        int authorityStart = schemeEnd + 3;
        int pathStart = target.AsSpan(authorityStart).IndexOfAny('/', '?');
        int authorityLength = pathStart < 0 ? target.Length - authorityStart : pathStart;

        // RFC 9110 §4.2.1/§4.2.4: an http(s) URI has a non-empty host and no userinfo. The authority becomes the Host.
        ReadOnlySpan<char> authority = target.AsSpan(authorityStart, authorityLength);
        if (authority.IsEmpty || authority[0] == ':' || authority.Contains('@'))
        {
            Http1ParseException.Throw("invalid authority in request-target");
        }

        head.SetAuthority(authorityStart, authorityLength);
        if (pathStart < 0 || target[authorityStart + pathStart] == '?')
        {
            head.SetPath(0, 0); // PathSpan reports "/" for an empty path
            return;
        }

        pathStart += authorityStart;
        int queryStart = target.IndexOf('?', pathStart);
        head.SetPath(pathStart, (queryStart < 0 ? target.Length : queryStart) - pathStart);
    }

    /// <summary>RFC 9112 §6.1-§6.3 and §9.3 as they apply to a request.</summary>
    private static void ApplyRequestFraming(Http1RequestHead head)
    {
        FieldFacts facts = Analyze(head.Headers);
        bool http11 = head.Version == Http1Version.Http11;

        // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message
        // that lacks a Host header field and to any request message that contains more than one Host header field
        // line or a Host header field with an invalid field value."
        if (facts.HostCount > 1)
        {
            Http1ParseException.Throw("more than one Host header");
        }

        if (facts.HostCount == 0 && http11)
        {
            Http1ParseException.Throw("missing Host header");
        }

        head.SetHostIndex(facts.HostIndex);

        if (facts.HasTransferEncoding)
        {
            // RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message containing a Transfer-Encoding
            // header field MUST treat the message as if the framing is faulty, even if a Content-Length is present".
            if (!http11)
            {
                Http1ParseException.Throw("Transfer-Encoding in an HTTP/1.0 message");
            }

            // RFC 9112 §6.1: "A server MAY reject a request that contains both Content-Length and
            // Transfer-Encoding or process such a request in accordance with the Transfer-Encoding alone."
            // §6.3: "Such a message might indicate an attempt to perform request smuggling". We reject.
            if (facts.ContentLength >= 0)
            {
                Http1ParseException.Throw("both Transfer-Encoding and Content-Length");
            }

            // RFC 9112 §6.3: "If a Transfer-Encoding header field is present in a request and the chunked transfer
            // coding is not the final encoding, the message body length cannot be determined reliably; the server
            // MUST respond with the 400 (Bad Request) status code and then close the connection."
            if (!facts.ChunkedLast)
            {
                Http1ParseException.Throw("Transfer-Encoding does not end with chunked");
            }

            head.BodyKind = BodyKind.Chunked;
            head.HasOtherTransferCodings = facts.OtherCodings;
        }
        else if (facts.ContentLength >= 0)
        {
            head.BodyKind = BodyKind.ContentLength;
            head.ContentLength = facts.ContentLength;
        }
        else
        {
            // RFC 9112 §6.3: "If this is a request message and none of the above are true, then the message body
            // length is zero".
            head.BodyKind = BodyKind.None;
        }

        // RFC 9112 §9.3: persistence.
        head.KeepAlive = http11 ? !facts.Close : facts.KeepAliveOption && !facts.Close;

        // RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.0 request MUST ignore
        // that expectation."
        head.Expect100Continue = http11 && facts.Expect100;

        // RFC 9110 §7.8: "A sender of Upgrade MUST also send an "Upgrade" connection option in the Connection header
        // field" and "A server MUST ignore an Upgrade header field that is received in an HTTP/1.0 request."
        if (facts.UpgradeIndex >= 0)
        {
            head.UpgradeProtocol = Encoding.Latin1.GetString(head.Headers.Value(facts.UpgradeIndex));
            head.IsH2cUpgrade = facts.UpgradeH2c;
            head.IsUpgrade = http11 && facts.UpgradeOption && !facts.UpgradeH2c;
        }
    }
}
