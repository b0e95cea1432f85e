using System.Text;

namespace Switchyard.Http1;

/// <summary>
/// The one hop-by-hop (connection-specific) field filter of the proxy, for every direction and HTTP version: what
/// never crosses the agent as it arrived. RFC 9110 §7.6.1: "Connection, Proxy-Connection, Keep-Alive, TE,
/// Transfer-Encoding, and Upgrade", plus HTTP2-Settings (RFC 7540 §3.2.1, part of an h2c upgrade), plus every field
/// a Connection field names. Each caller then decides its own exceptions (TE: trailers on an HTTP/2 request, a
/// Transfer-Encoding or Upgrade the HTTP/1 writer forwards on purpose).
/// </summary>
public static class HopByHop
{
    /// <summary>The field's role for the HTTP/1 head writer, which keeps some of them on purpose.</summary>
    internal enum Role : byte
    {
        EndToEnd,
        Host,
        ContentLength,
        TransferEncoding,
        Upgrade,
        Te,
        Other,
    }

    /// <summary>Whether a field name (any case) is hop-by-hop: never forwarded as it arrived.</summary>
    public static bool IsHopByHop(ReadOnlySpan<byte> name) => Classify(name) is Role.TransferEncoding or Role.Upgrade or Role.Te or Role.Other;

    /// <summary>RFC 9110 §7.6.1: "the intermediary MUST ... remove any header or trailer field listed in a connection option" of the Connection field.</summary>
    public static bool IsNamedByConnection(Http1Fields fields, ReadOnlySpan<byte> name)
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

    /// <summary>Whether a field is dropped when forwarding: hop-by-hop, or named by one of the Connection fields.</summary>
    public static bool IsDropped(Http1Fields fields, ReadOnlySpan<byte> name) => IsHopByHop(name) || IsNamedByConnection(fields, name);

    /// <summary>
    /// RFC 9110 §6.5.1: fields a trailer section must not carry, because they are needed before the content (message
    /// framing, routing, authentication, content format) or are connection-specific. "A recipient MUST NOT merge"
    /// them into the header section; the agent drops them (as nginx and Envoy do) instead of forwarding them.
    /// </summary>
    public static bool IsProhibitedInTrailer(ReadOnlySpan<byte> name) =>
        Classify(name) != Role.EndToEnd
        || Ascii.EqualsIgnoreCase(name, "trailer"u8)
        || Ascii.EqualsIgnoreCase(name, "authorization"u8)
        || Ascii.EqualsIgnoreCase(name, "proxy-authorization"u8)
        || Ascii.EqualsIgnoreCase(name, "www-authenticate"u8)
        || Ascii.EqualsIgnoreCase(name, "proxy-authenticate"u8)
        || Ascii.EqualsIgnoreCase(name, "content-type"u8)
        || Ascii.EqualsIgnoreCase(name, "content-encoding"u8)
        || Ascii.EqualsIgnoreCase(name, "content-range"u8)
        || Ascii.EqualsIgnoreCase(name, "expect"u8)
        || Ascii.EqualsIgnoreCase(name, "max-forwards"u8)
        || Ascii.EqualsIgnoreCase(name, "cache-control"u8)
        || Ascii.EqualsIgnoreCase(name, "set-cookie"u8)
        || Ascii.EqualsIgnoreCase(name, "cookie"u8);

    internal static Role Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when Ascii.EqualsIgnoreCase(name, "te"u8) => Role.Te,
        4 when Ascii.EqualsIgnoreCase(name, "host"u8) => Role.Host,
        7 when Ascii.EqualsIgnoreCase(name, "upgrade"u8) => Role.Upgrade,
        10 when Ascii.EqualsIgnoreCase(name, "connection"u8) || Ascii.EqualsIgnoreCase(name, "keep-alive"u8) => Role.Other,
        14 when Ascii.EqualsIgnoreCase(name, "content-length"u8) => Role.ContentLength,
        14 when Ascii.EqualsIgnoreCase(name, "http2-settings"u8) => Role.Other,
        16 when Ascii.EqualsIgnoreCase(name, "proxy-connection"u8) => Role.Other,
        17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8) => Role.TransferEncoding,
        _ => Role.EndToEnd,
    };
}
