namespace Switchyard.Http2.Hpack;

/// <summary>
/// Integers with an N-bit prefix (RFC 7541 5.1). Values are limited to <see cref="int"/>: a longer or larger
/// encoding is a decoding error ("integer encodings that exceed implementation limits", 5.1).
/// </summary>
internal static class HpackInteger
{
    /// <summary>The most bytes a value up to <see cref="int.MaxValue"/> takes: the prefix octet and five more.</summary>
    public const int MaxLength = 6;

    /// <summary>The most continuation octets accepted (5 x 7 bits covers 31 bits).</summary>
    private const int MaxContinuationBytes = 5;

    /// <summary>
    /// Writes <paramref name="value"/> with a <paramref name="prefixBits"/>-bit prefix (1..8); the other bits of the
    /// first octet are <paramref name="flags"/>. <paramref name="destination"/> needs up to <see cref="MaxLength"/>
    /// bytes. Returns the bytes written.
    /// </summary>
    public static int Write(Span<byte> destination, byte flags, int prefixBits, int value)
    {
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            destination[0] = (byte)(flags | value);
            return 1;
        }

        destination[0] = (byte)(flags | max);
        uint rest = (uint)(value - max);
        int n = 1;
        while (rest >= 0x80)
        {
            destination[n++] = (byte)(rest | 0x80);
            rest >>= 7;
        }

        destination[n++] = (byte)rest;
        return n;
    }

    /// <summary>Bytes <see cref="Write"/> takes for <paramref name="value"/>.</summary>
    public static int Length(int prefixBits, int value)
    {
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            return 1;
        }

        uint rest = (uint)(value - max);
        int n = 2;
        while (rest >= 0x80)
        {
            n++;
            rest >>= 7;
        }

        return n;
    }

    /// <summary>
    /// Reads an integer whose prefix is the low <paramref name="prefixBits"/> bits of <c>source[pos]</c> (the caller
    /// has checked that this byte exists) and advances <paramref name="pos"/> past it.
    /// </summary>
    /// <exception cref="HpackDecodingException">Truncated, longer than five continuation octets, or above <see cref="int.MaxValue"/>.</exception>
    public static int Read(ReadOnlySpan<byte> source, scoped ref int pos, int prefixBits)
    {
        int max = (1 << prefixBits) - 1;
        int value = source[pos++] & max;
        if (value < max)
        {
            return value;
        }

        long result = value;
        for (int i = 0; i < MaxContinuationBytes; i++)
        {
            if (pos >= source.Length)
            {
                throw new HpackDecodingException("truncated integer");
            }

            byte b = source[pos++];
            result += (long)(b & 0x7F) << (7 * i);
            if (result > int.MaxValue)
            {
                throw new HpackDecodingException("integer larger than 2^31-1");
            }

            if ((b & 0x80) == 0)
            {
                return (int)result;
            }
        }

        throw new HpackDecodingException($"integer longer than {MaxContinuationBytes} continuation octets");
    }
}
