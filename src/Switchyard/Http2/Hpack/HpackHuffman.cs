namespace Switchyard.Http2.Hpack;

/// <summary>
/// The static Huffman code of RFC 7541 Appendix B (5.2). Encoding shifts codes into a 64-bit accumulator and pads
/// the last octet with the high bits of EOS (all ones). Decoding runs a finite-state machine four bits at a time:
/// the states are the 256 inner nodes of the code tree, and each (state, nibble) step says where it lands, whether
/// it completed a symbol (at most one: every code is at least five bits long) and whether it completed EOS, which
/// must not appear in a string. A string may end only in a state reached from the last symbol by at most seven 1
/// bits: a longer or non-1 padding is an error.
/// </summary>
internal static class HpackHuffman
{
    private const int SymbolCount = 257; // 256 octets and EOS
    private const int Eos = 256;

    // Step entry layout: bits 0-7 next state, bits 8-15 emitted symbol, flags above.
    private const uint EmitsSymbol = 1u << 16;
    private const uint HitsEos = 1u << 17;

    /// <summary>Code of each symbol, right-aligned (RFC 7541 Appendix B, "code as hex").</summary>
    /// <remarks>An array, not a <c>ReadOnlySpan&lt;uint&gt;</c> property: unoptimized builds allocate such a span on every access.</remarks>
    private static readonly uint[] Codes =
    [
        0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, // 0-7
        0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, // 8-15
        0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, // 16-23
        0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, // 24-31
        0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, // ' ' ! " # $ % & '
        0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18, // ( ) * + , - . /
        0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, // 0-7
        0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc, // 8 9 : ; < = > ?
        0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, // @ A-G
        0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, // H-O
        0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, // P-W
        0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22, // X Y Z [ \ ] ^ _
        0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, // ` a-g
        0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7, // h-o
        0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, // p-w
        0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc, // x y z { | } ~ DEL
        0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, // 128-135
        0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf, // 136-143
        0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, // 144-151
        0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, // 152-159
        0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, // 160-167
        0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, // 168-175
        0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, // 176-183
        0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, // 184-191
        0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec, // 192-199
        0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed, // 200-207
        0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, // 208-215
        0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, // 216-223
        0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, // 224-231
        0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4, // 232-239
        0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea, // 240-247
        0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee, // 248-255
        0x3fffffff, // EOS
    ];

    /// <summary>Length in bits of each code.</summary>
    private static ReadOnlySpan<byte> Lengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32-47
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48-63
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64-79
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80-95
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96-111
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112-127
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
        30, // EOS
    ];

    /// <summary>(state, nibble) steps, 256 x 16.</summary>
    private static readonly uint[] Steps = BuildSteps(out AcceptingStates);

    /// <summary>States in which a string may end: the root, or up to seven 1 bits below it.</summary>
    private static readonly bool[] AcceptingStates;

    /// <summary>The code of <paramref name="symbol"/> (0..256) and its length, for tests.</summary>
    internal static (uint Code, int Length) Code(int symbol) => (Codes[symbol], Lengths[symbol]);

    /// <summary>Length in octets of <paramref name="source"/> Huffman-coded, padding included.</summary>
    public static long EncodedLength(ReadOnlySpan<byte> source)
    {
        ReadOnlySpan<byte> lengths = Lengths;
        long bits = 0;
        foreach (byte b in source)
        {
            bits += lengths[b];
        }

        return (bits + 7) >> 3;
    }

    /// <summary>Codes <paramref name="source"/> into <paramref name="destination"/> (at least <see cref="EncodedLength"/> octets); returns the octets written.</summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        uint[] codes = Codes;
        ReadOnlySpan<byte> lengths = Lengths;
        ulong pending = 0; // only the low `bits` bits matter
        int bits = 0;
        int written = 0;
        foreach (byte b in source)
        {
            int length = lengths[b];
            pending = (pending << length) | codes[b];
            bits += length;
            while (bits >= 8)
            {
                bits -= 8;
                destination[written++] = (byte)(pending >> bits);
            }
        }

        if (bits > 0)
        {
            // The remaining 1..7 bits, then the most significant bits of EOS (all ones).
            destination[written++] = (byte)((pending << (8 - bits)) | (0xFFu >> bits));
        }

        return written;
    }

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/>; returns the octets written.
    /// </summary>
    /// <exception cref="HpackDecodingException">EOS in the string, padding longer than seven bits or not all ones, or more octets than <paramref name="destination"/> holds.</exception>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        uint[] steps = Steps;
        int state = 0;
        int written = 0;
        foreach (byte b in source)
        {
            uint step = steps[(state << 4) | (b >> 4)];
            if ((step & (EmitsSymbol | HitsEos)) != 0)
            {
                Emit(step, destination, ref written);
            }

            state = (int)(step & 0xFF);
            step = steps[(state << 4) | (b & 0x0F)];
            if ((step & (EmitsSymbol | HitsEos)) != 0)
            {
                Emit(step, destination, ref written);
            }

            state = (int)(step & 0xFF);
        }

        if (!AcceptingStates[state])
        {
            throw new HpackDecodingException("invalid Huffman padding (longer than 7 bits or not all ones)");
        }

        return written;
    }

    private static void Emit(uint step, Span<byte> destination, ref int written)
    {
        if ((step & HitsEos) != 0)
        {
            throw new HpackDecodingException("EOS symbol in a Huffman-coded string");
        }

        if (written == destination.Length)
        {
            throw new HpackDecodingException($"Huffman-coded string longer than the limit of {destination.Length} octets");
        }

        destination[written++] = (byte)(step >> 8);
    }

    private static uint[] BuildSteps(out bool[] accepting)
    {
        // The code tree: inner node n has children at tree[2n] (bit 0) and tree[2n + 1] (bit 1); a child >= 0 is an
        // inner node, a child < 0 is the leaf of symbol ~child. 257 leaves make 256 inner nodes; node 0 is the root.
        int[] tree = new int[2 * (SymbolCount - 1)];
        Array.Fill(tree, int.MinValue);
        int nodes = 1;
        for (int symbol = 0; symbol < SymbolCount; symbol++)
        {
            uint code = Codes[symbol];
            int length = Lengths[symbol];
            int node = 0;
            for (int bit = length - 1; bit > 0; bit--)
            {
                int slot = (2 * node) + (int)((code >> bit) & 1);
                if (tree[slot] == int.MinValue)
                {
                    tree[slot] = nodes++;
                }

                node = tree[slot];
            }

            tree[(2 * node) + (int)(code & 1)] = ~symbol;
        }

        if (nodes != SymbolCount - 1 || Array.IndexOf(tree, int.MinValue) >= 0)
        {
            throw new InvalidOperationException("the Huffman code table is not a complete prefix code");
        }

        // Accepting states: the nodes reached from the root by 0..7 one bits.
        accepting = new bool[SymbolCount - 1];
        int ones = 0;
        for (int depth = 0; depth <= 7; depth++)
        {
            accepting[ones] = true;
            ones = tree[(2 * ones) + 1];
        }

        uint[] steps = new uint[(SymbolCount - 1) * 16];
        for (int state = 0; state < SymbolCount - 1; state++)
        {
            for (int nibble = 0; nibble < 16; nibble++)
            {
                int node = state;
                uint flags = 0;
                uint symbol = 0;
                for (int bit = 3; bit >= 0; bit--)
                {
                    int child = tree[(2 * node) + ((nibble >> bit) & 1)];
                    if (child >= 0)
                    {
                        node = child;
                        continue;
                    }

                    node = 0;
                    if (~child == Eos)
                    {
                        flags |= HitsEos;
                    }
                    else
                    {
                        flags |= EmitsSymbol;
                        symbol = (uint)~child;
                    }
                }

                steps[(state << 4) | nibble] = (uint)node | (symbol << 8) | flags;
            }
        }

        return steps;
    }
}
