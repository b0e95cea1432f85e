namespace Switchyard.Http1;

/// <summary>The HTTP/1 minor versions the codec speaks (RFC 9112 §2.3).</summary>
public enum Http1Version : byte
{
    Http10,
    Http11,
}

/// <summary>How the body of a message is delimited (RFC 9112 §6.3).</summary>
public enum BodyKind : byte
{
    /// <summary>No body: a request without Content-Length/Transfer-Encoding, a HEAD response, 1xx, 204, 304.</summary>
    None,

    /// <summary>Exactly <c>ContentLength</c> bytes follow the head (possibly 0).</summary>
    ContentLength,

    /// <summary>The body uses the chunked transfer coding (decode with <see cref="ChunkedDecoder"/>).</summary>
    Chunked,

    /// <summary>Responses only: the body ends when the server closes the connection.</summary>
    UntilClose,

    /// <summary>Responses only: a 2xx answer to CONNECT; the connection becomes a two-way tunnel.</summary>
    Tunnel,
}
