using System.Buffers;
using System.Text;

namespace Switchyard.Http1;

/// <summary>
/// Writes request and response heads as the proxy forwards them (RFC 9110 §7.6.1): the start-line as received
/// (version written as HTTP/1.1), every end-to-end field in order and byte for byte, no hop-by-hop field, and the
/// body framing the proxy chose. Nothing is added (no X-Forwarded-*: the agent is transparent).
/// Dropped: Connection and every field it names, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding and
/// Content-Length (re-framed), Upgrade (unless an upgrade is being forwarded) and HTTP2-Settings; an h2c
/// upgrade is never forwarded. Host is never dropped, even when Connection names it.
/// </summary>
public static class Http1HeadWriter
{
    /// <summary>Forwards a request head with the framing it arrived with.</summary>
    public static void WriteRequestHead(IBufferWriter<byte> output, Http1RequestHead head, bool forwardUpgrade = false, bool connectionClose = false, string? defaultHost = null) =>
        WriteRequestHead(output, head, head.BodyKind, head.ContentLength, forwardUpgrade, connectionClose, defaultHost);

    /// <summary>Forwards a request head with the given framing (<see cref="BodyKind.None"/>, ContentLength or Chunked).</summary>
    /// <param name="forwardUpgrade">Keep <c>Upgrade</c> and send <c>Connection: upgrade</c> (a WebSocket upgrade being
    /// routed as a whole). Ignored for h2c.</param>
    /// <param name="connectionClose">Send <c>Connection: close</c>.</param>
    /// <param name="defaultHost">The Host to send when the request has none (an HTTP/1.0 request goes on as HTTP/1.1,
    /// which must carry Host: RFC 9112 §3.2).</param>
    /// <remarks>
    /// An absolute-form target goes on in origin-form with its authority as the Host, replacing the Host the request
    /// carried (RFC 9112 §3.2.2: "the recipient MUST ignore the received Host header field (if any) and instead use
    /// the host information of the request-target").
    /// </remarks>
    public static void WriteRequestHead(IBufferWriter<byte> output, Http1RequestHead head, BodyKind framing, long contentLength, bool forwardUpgrade = false, bool connectionClose = false,
        string? defaultHost = null)
    {
        WriteAscii(output, head.Method);
        output.Write(" "u8);
        WriteAscii(output, head.OriginFormTarget);
        output.Write(" HTTP/1.1\r\n"u8);
        bool absolute = head.TargetForm == RequestTargetForm.Absolute;
        if (absolute)
        {
            output.Write("Host: "u8);
            WriteAscii(output, head.Authority);
            output.Write("\r\n"u8);
        }
        else if (!head.HasHost && defaultHost is not null)
        {
            output.Write("Host: "u8);
            WriteAscii(output, defaultHost);
            output.Write("\r\n"u8);
        }

        bool upgrade = forwardUpgrade && head.IsUpgrade && !head.IsH2cUpgrade;
        WriteFields(output, head, framing, contentLength, upgrade, connectionClose, keepContentLength: false, dropHost: absolute);
    }

    /// <summary>Forwards a response head with the framing it arrived with.</summary>
    public static void WriteResponseHead(IBufferWriter<byte> output, Http1ResponseHead head, bool forwardUpgrade = false, bool connectionClose = false) =>
        WriteResponseHead(output, head, head.BodyKind, head.ContentLength, forwardUpgrade, connectionClose);

    /// <summary>
    /// Forwards a response head with the given framing. With <see cref="BodyKind.None"/> a Content-Length the
    /// response carried is kept (it describes the representation of a HEAD or 304 answer, not a body);
    /// <see cref="BodyKind.UntilClose"/> writes <c>Connection: close</c>.
    /// </summary>
    /// <param name="keepAlive">Announce <c>Connection: keep-alive</c> (to an HTTP/1.0 caller, whose connection persists only then: RFC 9112 §9.3).</param>
    public static void WriteResponseHead(IBufferWriter<byte> output, Http1ResponseHead head, BodyKind framing, long contentLength, bool forwardUpgrade = false, bool connectionClose = false,
        bool keepAlive = false)
    {
        WriteStatusLine(output, head.StatusCode, head.ReasonPhrase);
        bool upgrade = forwardUpgrade && head.IsSwitchingProtocols;
        bool close = connectionClose || framing == BodyKind.UntilClose;
        WriteFields(output, head, framing, contentLength, upgrade, close, keepContentLength: framing == BodyKind.None, keepAlive: keepAlive && !close);
    }

    /// <summary>name ": " value CRLF.</summary>
    public static void WriteField(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int length = name.Length + value.Length + 4;
        Span<byte> span = output.GetSpan(length);
        name.CopyTo(span);
        span[name.Length] = (byte)':';
        span[name.Length + 1] = (byte)' ';
        value.CopyTo(span[(name.Length + 2)..]);
        span[length - 2] = (byte)'\r';
        span[length - 1] = (byte)'\n';
        output.Advance(length);
    }

    private static void WriteFields(IBufferWriter<byte> output, Http1MessageHead head, BodyKind framing, long contentLength, bool upgrade, bool connectionClose, bool keepContentLength,
        bool dropHost = false, bool keepAlive = false)
    {
        Http1Fields fields = head.Headers;
        bool keepTransferEncoding = framing == BodyKind.Chunked && head.BodyKind == BodyKind.Chunked && head.HasOtherTransferCodings;
        bool hasConnection = fields.IndexOf("connection"u8, 0) >= 0;
        for (int i = 0; i < fields.Count; i++)
        {
            ReadOnlySpan<byte> name = fields.Name(i);
            bool keep = HopByHop.Classify(name) switch
            {
                HopByHop.Role.EndToEnd => !hasConnection || !HopByHop.IsNamedByConnection(fields, name),
                HopByHop.Role.Host => !dropHost,
                HopByHop.Role.ContentLength => keepContentLength,
                HopByHop.Role.TransferEncoding => keepTransferEncoding,
                HopByHop.Role.Upgrade => upgrade,
                _ => false,
            };

            if (keep)
            {
                WriteField(output, name, fields.Value(i));
            }
        }

        if (!(framing == BodyKind.Chunked && keepTransferEncoding))
        {
            WriteFraming(output, framing, contentLength);
        }

        WriteEnd(output, connectionClose, upgrade, keepAlive);
    }

    /// <summary>The framing field the proxy chose: <c>Content-Length: n</c>, <c>Transfer-Encoding: chunked</c>, or none.</summary>
    public static void WriteFraming(IBufferWriter<byte> output, BodyKind framing, long contentLength)
    {
        switch (framing)
        {
            case BodyKind.ContentLength:
                Span<byte> span = output.GetSpan(16 + 20 + 2);
                "Content-Length: "u8.CopyTo(span);
                contentLength.TryFormat(span[16..], out int digits, default, provider: null);
                span[16 + digits] = (byte)'\r';
                span[17 + digits] = (byte)'\n';
                output.Advance(18 + digits);
                break;
            case BodyKind.Chunked:
                output.Write("Transfer-Encoding: chunked\r\n"u8);
                break;
        }
    }

    /// <summary>Ends a head: <c>Connection: close</c> or <c>Connection: upgrade</c> when asked, then the blank line.</summary>
    public static void WriteEnd(IBufferWriter<byte> output, bool connectionClose, bool upgrade = false, bool keepAlive = false)
    {
        if (connectionClose)
        {
            output.Write("Connection: close\r\n"u8);
        }
        else if (upgrade)
        {
            output.Write("Connection: upgrade\r\n"u8);
        }
        else if (keepAlive)
        {
            output.Write("Connection: keep-alive\r\n"u8);
        }

        output.Write("\r\n"u8);
    }

    /// <summary><c>METHOD TARGET HTTP/1.1</c> CRLF.</summary>
    public static void WriteRequestLine(IBufferWriter<byte> output, ReadOnlySpan<byte> method, ReadOnlySpan<byte> target)
    {
        output.Write(method);
        output.Write(" "u8);
        output.Write(target);
        output.Write(" HTTP/1.1\r\n"u8);
    }

    /// <summary><c>HTTP/1.1 NNN reason</c> CRLF (a status outside 100..999 is a caller's bug).</summary>
    public static void WriteStatusLine(IBufferWriter<byte> output, int status, ReadOnlySpan<byte> reason)
    {
        Span<byte> line = output.GetSpan(13);
        "HTTP/1.1 "u8.CopyTo(line);
        line[9] = (byte)('0' + (status / 100 % 10));
        line[10] = (byte)('0' + (status / 10 % 10));
        line[11] = (byte)('0' + (status % 10));
        line[12] = (byte)' ';
        output.Advance(13);
        output.Write(reason);
        output.Write("\r\n"u8);
    }

    /// <summary>The usual reason phrase of a status the agent writes itself (an HTTP/2 answer has none); "Status" for others.</summary>
    public static ReadOnlySpan<byte> ReasonPhrase(int status) => status switch
    {
        100 => "Continue"u8,
        103 => "Early Hints"u8,
        200 => "OK"u8,
        201 => "Created"u8,
        204 => "No Content"u8,
        301 => "Moved Permanently"u8,
        302 => "Found"u8,
        304 => "Not Modified"u8,
        400 => "Bad Request"u8,
        401 => "Unauthorized"u8,
        403 => "Forbidden"u8,
        404 => "Not Found"u8,
        405 => "Method Not Allowed"u8,
        500 => "Internal Server Error"u8,
        502 => "Bad Gateway"u8,
        503 => "Service Unavailable"u8,
        _ => "Status"u8,
    };

    private static void WriteAscii(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        Span<byte> span = output.GetSpan(text.Length);
        int written = Encoding.ASCII.GetBytes(text, span);
        output.Advance(written);
    }
}
