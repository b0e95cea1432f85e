using System.Buffers;

namespace Switchyard.Http2.Hpack;

/// <summary>
/// Decodes HPACK header blocks (RFC 7541) into a sink, keeping the dynamic table in step with the peer's encoder.
/// Every malformed block throws <see cref="HpackDecodingException"/> (COMPRESSION_ERROR); a block whose decoded
/// list passes <c>maxHeaderListSize</c> is still decoded to the end, so the table stays in sync, but the sink
/// hears no more of it (an HPACK bomb costs table lookups, not copies).
/// </summary>
public sealed class HpackDecoder(int maxTableSize = 4096, int maxHeaderListSize = 65536, int maxStringLength = 65536)
{
    private readonly HpackDynamicTable _table = new(maxTableSize);
    private int _maxAllowedTableSize = maxTableSize;

    /// <summary>We advertised a new SETTINGS_HEADER_TABLE_SIZE (after it was acknowledged).</summary>
    public void SetMaxTableSize(int size)
    {
        _maxAllowedTableSize = size;
        if (_table.MaxSize > size)
        {
            _table.SetMaxSize(size);
        }
    }

    public HpackDecodeResult Decode(ReadOnlySequence<byte> block, IHpackHeaderSink sink)
    {
        if (block.IsSingleSegment)
        {
            return Decode(block.FirstSpan, sink);
        }

        byte[] copy = ArrayPool<byte>.Shared.Rent((int)block.Length);
        try
        {
            block.CopyTo(copy);
            return Decode(copy.AsSpan(0, (int)block.Length), sink);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public HpackDecodeResult Decode(ReadOnlySpan<byte> block, IHpackHeaderSink sink)
    {
        byte[] scratch = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            int pos = 0;
            long listSize = 0;
            bool tooLarge = false;
            bool sizeUpdateAllowed = true;
            while (pos < block.Length)
            {
                byte b = block[pos];
                ReadOnlySpan<byte> name;
                ReadOnlySpan<byte> value;
                HpackIndexing indexing;
                if ((b & 0x80) != 0)
                {
                    int index = ReadInteger(block, ref pos, 7);
                    (name, value) = Lookup(index);
                    indexing = HpackIndexing.Incremental;
                }
                else if ((b & 0xE0) == 0x20)
                {
                    if (!sizeUpdateAllowed)
                    {
                        throw new HpackDecodingException("dynamic table size update after a field");
                    }

                    int size = ReadInteger(block, ref pos, 5);
                    if (size > _maxAllowedTableSize)
                    {
                        throw new HpackDecodingException($"dynamic table size update to {size} above the allowed {_maxAllowedTableSize}");
                    }

                    _table.SetMaxSize(size);
                    continue;
                }
                else
                {
                    (int prefix, indexing) = (b & 0xC0) == 0x40 ? (6, HpackIndexing.Incremental)
                        : (b & 0xF0) == 0x10 ? (4, HpackIndexing.NeverIndexed)
                        : (4, HpackIndexing.WithoutIndexing);
                    int index = ReadInteger(block, ref pos, prefix);
                    int used = 0;
                    bool nameInScratch = false;
                    if (index == 0)
                    {
                        name = ReadString(block, ref pos, ref scratch, ref used, out nameInScratch);
                    }
                    else
                    {
                        name = Lookup(index).Name;
                    }

                    int nameLength = name.Length;
                    value = ReadString(block, ref pos, ref scratch, ref used, out _);
                    if (nameInScratch)
                    {
                        name = scratch.AsSpan(0, nameLength); // scratch may have grown while reading the value
                    }

                    if (indexing == HpackIndexing.Incremental)
                    {
                        _table.Add(name, value);
                    }
                }

                sizeUpdateAllowed = false;
                listSize += name.Length + value.Length + 32;
                if (listSize > maxHeaderListSize)
                {
                    tooLarge = true;
                }

                if (!tooLarge)
                {
                    sink.OnHeader(name, value, indexing);
                }
            }

            return tooLarge ? HpackDecodeResult.HeaderListTooLarge : HpackDecodeResult.Ok;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private (byte[] Name, byte[] Value) Lookup(int index)
    {
        if (index == 0)
        {
            throw new HpackDecodingException("index 0");
        }

        if (index <= HpackStaticTable.Count)
        {
            return HpackStaticTable.Entry(index);
        }

        int dynamic = index - HpackStaticTable.Count;
        if (dynamic > _table.Count)
        {
            throw new HpackDecodingException($"index {index} beyond the tables");
        }

        return _table[dynamic];
    }

    /// <summary>RFC 7541 5.1 integer with an N-bit prefix; rejects values beyond int and over-long encodings.</summary>
    internal static int ReadInteger(ReadOnlySpan<byte> block, scoped ref int pos, int prefixBits)
    {
        int max = (1 << prefixBits) - 1;
        int value = block[pos++] & max;
        if (value < max)
        {
            return value;
        }

        long result = value;
        int shift = 0;
        while (true)
        {
            if (pos >= block.Length)
            {
                throw new HpackDecodingException("truncated integer");
            }

            byte b = block[pos++];
            result += (long)(b & 0x7F) << shift;
            if (result > int.MaxValue)
            {
                throw new HpackDecodingException("integer too large");
            }

            if ((b & 0x80) == 0)
            {
                return (int)result;
            }

            shift += 7;
            if (shift > 28)
            {
                throw new HpackDecodingException("integer too long");
            }
        }
    }

    /// <summary>A string literal (5.2): a slice of the block, or Huffman-decoded into the scratch buffer after <paramref name="used"/>.</summary>
    private ReadOnlySpan<byte> ReadString(ReadOnlySpan<byte> block, scoped ref int pos, scoped ref byte[] scratch, scoped ref int used, out bool inScratch)
    {
        inScratch = false;
        if (pos >= block.Length)
        {
            throw new HpackDecodingException("truncated string");
        }

        bool huffman = (block[pos] & 0x80) != 0;
        int length = ReadInteger(block, ref pos, 7);
        if (length > block.Length - pos)
        {
            throw new HpackDecodingException("string longer than the block");
        }

        ReadOnlySpan<byte> raw = block.Slice(pos, length);
        pos += length;
        if (!huffman)
        {
            if (length > maxStringLength)
            {
                throw new HpackDecodingException("string longer than allowed");
            }

            return raw;
        }

        int most = Math.Min(maxStringLength, (int)Math.Min(int.MaxValue, ((long)length * 8 / 5) + 1));
        if (scratch.Length - used < most)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(used + most);
            scratch.AsSpan(0, used).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(scratch);
            scratch = bigger;
        }

        inScratch = true;
        int n = HpackHuffman.Decode(raw, scratch.AsSpan(used, most));
        ReadOnlySpan<byte> decoded = scratch.AsSpan(used, n);
        used += n;
        return decoded;
    }
}
