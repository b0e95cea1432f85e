namespace Switchyard.Http1;

/// <summary>
/// The abuse limits of the HTTP/1 codec in one place (Envoy's <c>protocol_constraints</c> idea): every size a peer
/// controls is bounded here and checked before the codec waits for more bytes, so a peer can never make the proxy
/// buffer more than these amounts per message.
/// </summary>
public sealed record Http1Limits
{
    public static readonly Http1Limits Default = new();

    /// <summary>Request or status line plus header section, without the final empty line. RFC 9112 §2.3 leaves it to us.</summary>
    public int MaxHeadBytes { get; init; } = 64 * 1024;

    /// <summary>Header field lines per message.</summary>
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>A chunk-size line including its chunk extensions and CRLF (RFC 9112 §7.1.1: extensions may be limited).</summary>
    public int MaxChunkLineBytes { get; init; } = 4 * 1024;

    /// <summary>
    /// The largest single chunk accepted. Chunks are streamed, never buffered, so this only bounds the arithmetic
    /// (RFC 9112 §7.1: "Recipients MUST anticipate potentially large hexadecimal numerals and prevent parsing errors
    /// due to integer conversion overflows or precision loss due to integer representation").
    /// </summary>
    public long MaxChunkSize { get; init; } = 1L << 40;

    /// <summary>The trailer section of a chunked body, without its final empty line.</summary>
    public int MaxTrailerBytes { get; init; } = 16 * 1024;

    /// <summary>Trailer field lines per message.</summary>
    public int MaxTrailerCount { get; init; } = 100;
}
