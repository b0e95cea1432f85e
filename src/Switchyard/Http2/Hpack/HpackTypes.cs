namespace Switchyard.Http2.Hpack;

/// <summary>How a field is represented in a header block (RFC 7541 6.1 - 6.2.3).</summary>
public enum HpackIndexing : byte
{
    /// <summary>
    /// Literal with incremental indexing (6.2.1): the field is added to the dynamic table. The decoder also reports
    /// fields that arrived as an index into the static or dynamic table (6.1) this way.
    /// </summary>
    Incremental,

    /// <summary>Literal without indexing (6.2.2): the dynamic table is left alone.</summary>
    WithoutIndexing,

    /// <summary>
    /// Literal never indexed (6.2.3): a sensitive value (credentials, cookies) that every hop must re-encode as a
    /// never-indexed literal and must never put into a dynamic table.
    /// </summary>
    NeverIndexed,
}

/// <summary>What <see cref="HpackDecoder.Decode(System.ReadOnlySpan{byte}, IHpackHeaderSink)"/> made of a block.</summary>
public enum HpackDecodeResult : byte
{
    /// <summary>Every field went to the sink.</summary>
    Ok,

    /// <summary>
    /// The decoded header list passed the decoder's limit. The whole block was still decoded (the dynamic table is in
    /// step with the peer's encoder) but the sink stopped hearing fields at the first one past the limit; answer the
    /// request or stream with an error (RFC 9113 10.5.1: 431, or RST_STREAM), the connection itself is fine.
    /// </summary>
    HeaderListTooLarge,
}

/// <summary>Receives the fields of a header block in order.</summary>
public interface IHpackHeaderSink
{
    /// <summary>
    /// One decoded field. <paramref name="name"/> and <paramref name="value"/> point into the decoder's buffers and
    /// are valid only during the call: copy what must outlive it. Names are passed exactly as received; HTTP/2 rules
    /// (lower-case names, pseudo-header order, forbidden connection-specific fields, RFC 9113 8.2 / 8.3) are the
    /// caller's to check.
    /// </summary>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing);
}

/// <summary>
/// A header block that cannot be decoded (RFC 7541 is violated or a decoder limit is exceeded). The decoder's
/// dynamic table is then out of step with the peer: end the connection with a COMPRESSION_ERROR (RFC 9113 4.3).
/// </summary>
public sealed class HpackDecodingException : Exception
{
    public HpackDecodingException()
        : base("malformed HPACK header block")
    {
    }

    public HpackDecodingException(string message)
        : base(message)
    {
    }

    public HpackDecodingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
