using System.Buffers;

namespace Switchyard.Http1;

/// <summary>What one <see cref="ChunkedDecoder.Read"/> call produced.</summary>
public enum ChunkedReadStatus : byte
{
    /// <summary>The buffer ends inside framing or is empty: read more, then call again.</summary>
    NeedMoreData,

    /// <summary><c>data</c> holds body bytes (a slice of the input); call again for more.</summary>
    Data,

    /// <summary>The last chunk and the trailer section were read; the buffer starts at the next message.</summary>
    Completed,
}

/// <summary>
/// Resumable decoder for the chunked transfer coding (RFC 9112 §7.1), one per connection, <see cref="Reset"/>
/// per message. Body bytes are handed out as slices of the input (no copy); framing lines (chunk-size, trailer
/// section) are consumed only when complete, and their size limits are checked before waiting for more.
/// <code>
/// chunked-body   = *chunk last-chunk trailer-section CRLF
/// chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// chunk-size     = 1*HEXDIG
/// last-chunk     = 1*("0") [ chunk-ext ] CRLF
/// chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// trailer-section = *( field-line CRLF )
/// </code>
/// </summary>
public sealed class ChunkedDecoder : IDisposable
{
    private readonly Http1Limits _limits;
    private State _state;
    private long _remaining;

    public ChunkedDecoder(Http1Limits? limits = null)
    {
        _limits = limits ?? Http1Limits.Default;
    }

    private enum State : byte
    {
        ChunkSizeLine,
        ChunkData,
        ChunkDataCrLf,
        TrailerSection,
        Completed,
    }

    /// <summary>The trailer fields of the message, valid once <see cref="IsCompleted"/>.</summary>
    public Http1Fields Trailers { get; } = new();

    public bool IsCompleted => _state == State.Completed;

    /// <summary>Body bytes handed out so far for this message.</summary>
    public long BodyBytes { get; private set; }

    public void Reset()
    {
        _state = State.ChunkSizeLine;
        _remaining = 0;
        BodyBytes = 0;
        Trailers.Reset();
    }

    public void Dispose() => Trailers.Dispose();

    /// <summary>
    /// Advances through <paramref name="buffer"/> (consumed bytes are sliced off) until it has body data to hand
    /// out, needs more input, or the body ended. Throws <see cref="Http1ParseException"/> on malformed framing.
    /// </summary>
    public ChunkedReadStatus Read(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> data)
    {
        data = default;
        while (true)
        {
            switch (_state)
            {
                case State.ChunkSizeLine:
                    if (!TryReadChunkSizeLine(ref buffer, out long size))
                    {
                        return ChunkedReadStatus.NeedMoreData;
                    }

                    _remaining = size;
                    _state = size == 0 ? State.TrailerSection : State.ChunkData;
                    break;

                case State.ChunkData:
                    if (buffer.IsEmpty)
                    {
                        return ChunkedReadStatus.NeedMoreData;
                    }

                    long take = Math.Min(_remaining, buffer.Length);
                    data = buffer.Slice(0, take);
                    buffer = buffer.Slice(take);
                    _remaining -= take;
                    BodyBytes += take;
                    if (_remaining == 0)
                    {
                        _state = State.ChunkDataCrLf;
                    }

                    return ChunkedReadStatus.Data;

                case State.ChunkDataCrLf:
                    if (!TryReadCrLf(ref buffer, "missing CRLF after chunk data"))
                    {
                        return ChunkedReadStatus.NeedMoreData;
                    }

                    _state = State.ChunkSizeLine;
                    break;

                case State.TrailerSection:
                    if (!TryReadTrailerSection(ref buffer))
                    {
                        return ChunkedReadStatus.NeedMoreData;
                    }

                    _state = State.Completed;
                    return ChunkedReadStatus.Completed;

                default:
                    return ChunkedReadStatus.Completed;
            }
        }
    }

    /// <summary>Exactly CRLF; anything else where one must be is an error (never a lenient bare LF).</summary>
    private static bool TryReadCrLf(ref ReadOnlySequence<byte> buffer, string reason)
    {
        if (buffer.Length < 2)
        {
            if (!buffer.IsEmpty && buffer.FirstSpan[0] != '\r')
            {
                Http1ParseException.Throw(reason);
            }

            return false;
        }

        Span<byte> two = stackalloc byte[2];
        buffer.Slice(0, 2).CopyTo(two);
        if (two[0] != '\r' || two[1] != '\n')
        {
            Http1ParseException.Throw(reason);
        }

        buffer = buffer.Slice(2);
        return true;
    }

    /// <summary>chunk-size [ chunk-ext ] CRLF, consumed only when complete.</summary>
    private bool TryReadChunkSizeLine(ref ReadOnlySequence<byte> buffer, out long size)
    {
        size = 0;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> lineWithCr, (byte)'\n', advancePastDelimiter: true))
        {
            // RFC 9112 §7.1.1: "A recipient ... SHOULD limit the total length of chunk extensions received from the
            // client" — checked before waiting for more.
            if (buffer.Length > _limits.MaxChunkLineBytes)
            {
                Http1ParseException.Throw("chunk size line too long");
            }

            return false;
        }

        if (lineWithCr.Length + 1 > _limits.MaxChunkLineBytes)
        {
            Http1ParseException.Throw("chunk size line too long");
        }

        byte[]? rented = null;
        int length = (int)lineWithCr.Length;
        Span<byte> copy = length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            ReadOnlySpan<byte> line = lineWithCr.IsSingleSegment ? lineWithCr.FirstSpan : CopyTo(lineWithCr, copy);
            size = ParseChunkSizeLine(line, _limits.MaxChunkSize);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        buffer = buffer.Slice(reader.Position);
        return true;
    }

    private static ReadOnlySpan<byte> CopyTo(in ReadOnlySequence<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return destination[..(int)source.Length];
    }

    /// <summary>Parses a chunk-size line given up to and including its CR (the LF was the delimiter).</summary>
    internal static long ParseChunkSizeLine(ReadOnlySpan<byte> line, long maxChunkSize)
    {
        if (line.IsEmpty || line[^1] != '\r')
        {
            Http1ParseException.Throw("bare LF in chunk size line");
        }

        line = line[..^1];
        int digits = line.IndexOfAnyExcept(HexDigits);
        if (digits < 0)
        {
            digits = line.Length;
        }

        if (digits == 0)
        {
            Http1ParseException.Throw("invalid chunk size");
        }

        long size = 0;
        foreach (byte c in line[..digits])
        {
            // RFC 9112 §7.1: "Recipients MUST anticipate potentially large hexadecimal numerals and prevent parsing
            // errors due to integer conversion overflows or precision loss due to integer representation."
            if (size > (maxChunkSize >> 4))
            {
                Http1ParseException.Throw("chunk size too large");
            }

            size = (size << 4) | (uint)HexValue(c);
        }

        if (size > maxChunkSize)
        {
            Http1ParseException.Throw("chunk size too large");
        }

        ReadOnlySpan<byte> extensions = line[digits..];
        if (!extensions.IsEmpty)
        {
            // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
            // "A recipient MUST ignore unrecognized chunk extensions": we skip them all, after checking they start
            // with ';' and carry no CR, LF or other control characters.
            ReadOnlySpan<byte> trimmed = extensions.TrimStart(" \t"u8);
            if (trimmed.IsEmpty || trimmed[0] != ';')
            {
                Http1ParseException.Throw("invalid chunk size");
            }

            if (trimmed.ContainsAny(Http1Parser.InvalidFieldValue))
            {
                Http1ParseException.Throw("control character in chunk extension");
            }
        }

        return size;
    }

    private static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789abcdefABCDEF"u8);

    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>trailer-section CRLF, consumed only when complete (RFC 9112 §7.1.2).</summary>
    private bool TryReadTrailerSection(ref ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < 2)
        {
            return false;
        }

        Span<byte> two = stackalloc byte[2];
        buffer.Slice(0, 2).CopyTo(two);
        if (two[0] == '\r' && two[1] == '\n')
        {
            buffer = buffer.Slice(2);
            return true;
        }

        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> section, "\r\n\r\n"u8, advancePastDelimiter: true))
        {
            if (buffer.Length - 3 > _limits.MaxTrailerBytes)
            {
                Http1ParseException.Throw("trailer section too large");
            }

            return false;
        }

        if (section.Length > _limits.MaxTrailerBytes)
        {
            Http1ParseException.Throw("trailer section too large");
        }

        ReadOnlySpan<byte> bytes = Trailers.Load(section);
        Http1Parser.ParseFieldLines(bytes, 0, Trailers, _limits.MaxTrailerCount, "too many trailer fields");
        Trailers.RemoveWhere(HopByHop.IsProhibitedInTrailer); // never forwarded, whichever way the body goes on
        buffer = buffer.Slice(reader.Position);
        return true;
    }
}
