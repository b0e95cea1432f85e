using System.Net.Security;

namespace Switchyard.Transport;

/// <summary>What a connection agreed on by ALPN (RFC 7301), as far as the proxy cares.</summary>
public enum AlpnProtocol : byte
{
    /// <summary>No ALPN: plaintext, or a TLS peer that did not negotiate (an HTTP/1.1 peer, RFC 7301 §3.1).</summary>
    None,

    /// <summary><c>http/1.1</c>.</summary>
    Http11,

    /// <summary><c>h2</c>.</summary>
    Http2,

    /// <summary>Any other protocol id.</summary>
    Other,
}

/// <summary>Conversion from the runtime's ALPN value.</summary>
public static class AlpnProtocols
{
    public static AlpnProtocol From(SslApplicationProtocol protocol) =>
        protocol.Protocol.IsEmpty ? AlpnProtocol.None
        : protocol == SslApplicationProtocol.Http2 ? AlpnProtocol.Http2
        : protocol == SslApplicationProtocol.Http11 ? AlpnProtocol.Http11
        : AlpnProtocol.Other;
}
