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
    public static void WriteRequestHead(IBufferWriter<byte> output, Http1RequestHead head, bool forwardUpgrade = false, bool connectionClose = false) =>
        WriteRequestHead(output, head, head.BodyKind, head.ContentLength, forwardUpgrade, connectionClose);

    /// <summary>Forwards a request head with the given framing (<see cref="BodyKind.None"/>, ContentLength or Chunked).</summary>
    /// <param name="forwardUpgrade">Keep <c>Upgrade</c> and send <c>Connection: upgrade</c> (a WebSocket upgrade being
    /// routed as a whole). Ignored for h2c.</param>
    /// <param name="connectionClose">Send <c>Connection: close</c>.</param>
    public static void WriteRequestHead(IBufferWriter<byte> output, Http1RequestHead head, BodyKind framing, long contentLength, bool forwardUpgrade = false, bool connectionClose = false)
    {
        WriteAscii(output, head.Method);
        output.Write(" "u8);
        WriteAscii(output, head.Target);
        output.Write(" HTTP/1.1\r\n"u8);
        bool upgrade = forwardUpgrade && head.IsUpgrade && !head.IsH2cUpgrade;
        WriteFields(output, head, framing, contentLength, upgrade, connectionClose, keepContentLength: false);
    }

    /// <summary>Forwards a response head with the framing it arrived with.</summary>
    public static void WriteResponseHead(IBufferWriter<byte> output, Http1ResponseHead head, bool forwardUpgrade = false, bool connectionClose = false) =>
        WriteResponseHead(output, head, head.BodyKind, head.ContentLength, forwardUpgrade, connectionClose);

    /// <summary>
    /// Forwards a response head with the given framing. With <see cref="BodyKind.None"/> a Content-Length the
    /// response carried is kept (it describes the representation of a HEAD or 304 answer, not a body);
    /// <see cref="BodyKind.UntilClose"/> writes <c>Connection: close</c>.
    /// </summary>
    public static void WriteResponseHead(IBufferWriter<byte> output, Http1ResponseHead head, BodyKind framing, long contentLength, bool forwardUpgrade = false, bool connectionClose = false)
    {
        Span<byte> status = output.GetSpan(13);
        "HTTP/1.1 "u8.CopyTo(status);
        status[9] = (byte)('0' + (head.StatusCode / 100));
        status[10] = (byte)('0' + (head.StatusCode / 10 % 10));
        status[11] = (byte)('0' + (head.StatusCode % 10));
        status[12] = (byte)' ';
        output.Advance(13);
        output.Write(head.ReasonPhrase);
        output.Write("\r\n"u8);
        bool upgrade = forwardUpgrade && head.IsSwitchingProtocols;
        WriteFields(output, head, framing, contentLength, upgrade, connectionClose || framing == BodyKind.UntilClose, keepContentLength: framing == BodyKind.None);
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

    private static void WriteFields(IBufferWriter<byte> output, Http1MessageHead head, BodyKind framing, long contentLength, bool upgrade, bool connectionClose, bool keepContentLength)
    {
        Http1Fields fields = head.Headers;
        bool keepTransferEncoding = framing == BodyKind.Chunked && head.BodyKind == BodyKind.Chunked && head.HasOtherTransferCodings;
        bool hasConnection = fields.IndexOf("connection"u8, 0) >= 0;
        for (int i = 0; i < fields.Count; i++)
        {
            ReadOnlySpan<byte> name = fields.Name(i);
            FieldRole role = Classify(name);
            bool keep = role switch
            {
                FieldRole.EndToEnd => !hasConnection || !IsNamedByConnection(fields, name),
                FieldRole.Host => true,
                FieldRole.ContentLength => keepContentLength,
                FieldRole.TransferEncoding => keepTransferEncoding,
                FieldRole.Upgrade => upgrade,
                _ => false,
            };

            if (keep)
            {
                WriteField(output, name, fields.Value(i));
            }
        }

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
            case BodyKind.Chunked when !keepTransferEncoding:
                output.Write("Transfer-Encoding: chunked\r\n"u8);
                break;
        }

        if (connectionClose)
        {
            output.Write("Connection: close\r\n"u8);
        }
        else if (upgrade)
        {
            output.Write("Connection: upgrade\r\n"u8);
        }

        output.Write("\r\n"u8);
    }

    private enum FieldRole : byte
    {
        EndToEnd,
        Host,
        ContentLength,
        TransferEncoding,
        Upgrade,
        HopByHop,
    }

    /// <summary>RFC 9110 §7.6.1: "Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, and Upgrade".</summary>
    private static FieldRole Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when Ascii.EqualsIgnoreCase(name, "te"u8) => FieldRole.HopByHop,
        4 when Ascii.EqualsIgnoreCase(name, "host"u8) => FieldRole.Host,
        7 when Ascii.EqualsIgnoreCase(name, "upgrade"u8) => FieldRole.Upgrade,
        10 when Ascii.EqualsIgnoreCase(name, "connection"u8) || Ascii.EqualsIgnoreCase(name, "keep-alive"u8) => FieldRole.HopByHop,
        14 when Ascii.EqualsIgnoreCase(name, "content-length"u8) => FieldRole.ContentLength,
        14 when Ascii.EqualsIgnoreCase(name, "http2-settings"u8) => FieldRole.HopByHop,
        16 when Ascii.EqualsIgnoreCase(name, "proxy-connection"u8) => FieldRole.HopByHop,
        17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8) => FieldRole.TransferEncoding,
        _ => FieldRole.EndToEnd,
    };

    /// <summary>RFC 9110 §7.6.1: "the intermediary MUST ... remove any header or trailer field listed in a
    /// connection option" of the Connection field.</summary>
    private static bool IsNamedByConnection(Http1Fields fields, ReadOnlySpan<byte> name)
    {
        for (int c = fields.IndexOf("connection"u8, 0); c >= 0; c = fields.IndexOf("connection"u8, c + 1))
        {
            foreach (ReadOnlySpan<byte> option in new ListElements(fields.Value(c)))
            {
                if (Ascii.EqualsIgnoreCase(option, name))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static void WriteAscii(IBufferWriter<byte> output, string text)
    {
        Span<byte> span = output.GetSpan(text.Length);
        int written = Encoding.ASCII.GetBytes(text, span);
        output.Advance(written);
    }
}
