using System.Buffers;

namespace Switchyard.Http2.Hpack;

/// <summary>
/// Decodes HPACK header blocks (RFC 7541) for one direction of one connection, keeping the dynamic table in step
/// with the peer's encoder. Not thread-safe: blocks are decoded one at a time, in the order they arrived.
/// <para>
/// Every malformed block throws <see cref="HpackDecodingException"/>; the table is then out of step, so the
/// connection must end with COMPRESSION_ERROR. A block whose decoded list passes <c>maxHeaderListSize</c> is still
/// decoded to its end (the table stays in step) but the sink hears no more of it, and the result says so: an HPACK
/// bomb (one large entry indexed over and over) costs a table lookup per reference, never a copy.
/// </para>
/// <para>
/// Allocation: nothing per field. Huffman-coded strings are decoded into one pooled buffer per block; a
/// multi-segment block is first copied into a pooled buffer; the dynamic table grows its ring up to twice its
/// maximum size.
/// </para>
/// <para>
/// Field names are handed on as received. HTTP/2 requires them to be lower case and orders pseudo-header fields
/// first (RFC 9113 8.2, 8.3); checking that is the caller's job, as is checking values for CR, LF and NUL.
/// </para>
/// </summary>
public sealed class HpackDecoder
{
    private readonly HpackDynamicTable _table;
    private readonly int _maxHeaderListSize;
    private readonly int _maxStringLength;
    private int _maxTableSize;
    private bool _sizeUpdateRequired;

    /// <param name="maxTableSize">
    /// The SETTINGS_HEADER_TABLE_SIZE in effect: the initial size of the dynamic table and the most a dynamic table
    /// size update may ask for. The protocol's initial value is 4096; when advertising less, construct with 4096 and
    /// call <see cref="SetMaxTableSize"/> once the peer has acknowledged the SETTINGS.
    /// </param>
    /// <param name="maxHeaderListSize">Most name + value + 32 octets per field (RFC 7541 4.1) a block may decode to before <see cref="HpackDecodeResult.HeaderListTooLarge"/>.</param>
    /// <param name="maxStringLength">Longest name or value accepted, after Huffman decoding; a longer one is a decoding error.</param>
    public HpackDecoder(int maxTableSize = 4096, int maxHeaderListSize = 65536, int maxStringLength = 65536)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTableSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeaderListSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxStringLength);
        _table = new HpackDynamicTable(maxTableSize, lookups: false);
        _maxTableSize = maxTableSize;
        _maxHeaderListSize = maxHeaderListSize;
        _maxStringLength = maxStringLength;
    }

    /// <summary>The dynamic table as decoded so far (for tests and diagnostics).</summary>
    internal HpackDynamicTable DynamicTable => _table;

    /// <summary>
    /// Our SETTINGS_HEADER_TABLE_SIZE changed and the peer acknowledged it: dynamic table size updates may now ask
    /// for at most <paramref name="size"/>. When that is below the size the peer's encoder last chose, the peer must
    /// shrink its table, so the next header block has to begin with a dynamic table size update (RFC 7541 4.2);
    /// one that does not is a decoding error.
    /// </summary>
    public void SetMaxTableSize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        _maxTableSize = size;
        if (size < _table.MaxSize)
        {
            _sizeUpdateRequired = true;
        }
    }

    /// <summary>
    /// Decodes one complete header block (the fragments of HEADERS or PUSH_PROMISE and its CONTINUATION frames,
    /// joined) into <paramref name="sink"/>. A single-segment sequence is decoded in place.
    /// </summary>
    /// <exception cref="HpackDecodingException">The block is malformed (end the connection with COMPRESSION_ERROR).</exception>
    public HpackDecodeResult Decode(ReadOnlySequence<byte> block, IHpackHeaderSink sink)
    {
        if (block.IsSingleSegment)
        {
            return Decode(block.FirstSpan, sink);
        }

        if (block.Length > Array.MaxLength)
        {
            throw new HpackDecodingException("header block too large");
        }

        int length = (int)block.Length;
        byte[] joined = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            block.CopyTo(joined);
            return Decode(joined.AsSpan(0, length), sink);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    /// <summary>Decodes one complete header block into <paramref name="sink"/>.</summary>
    /// <exception cref="HpackDecodingException">The block is malformed (end the connection with COMPRESSION_ERROR).</exception>
    public HpackDecodeResult Decode(ReadOnlySpan<byte> block, IHpackHeaderSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        byte[]? scratch = null; // Huffman-decoded strings, rented at the first one
        try
        {
            int pos = 0;
            long listSize = 0;
            bool tooLarge = false;
            bool fieldSeen = false;
            while (pos < block.Length)
            {
                byte first = block[pos];
                if ((first & 0xE0) == 0x20)
                {
                    // Dynamic table size update (6.3): only before the first field (4.2).
                    if (fieldSeen)
                    {
                        throw new HpackDecodingException("dynamic table size update after the first field of the block");
                    }

                    int size = HpackInteger.Read(block, ref pos, 5);
                    if (size > _maxTableSize)
                    {
                        throw new HpackDecodingException($"dynamic table size update to {size}, above the allowed {_maxTableSize}");
                    }

                    _table.SetMaxSize(size);
                    _sizeUpdateRequired = false;
                    continue;
                }

                if (!fieldSeen)
                {
                    if (_sizeUpdateRequired)
                    {
                        throw new HpackDecodingException("the block does not begin with the dynamic table size update required after SETTINGS_HEADER_TABLE_SIZE was lowered");
                    }

                    fieldSeen = true;
                }

                ReadOnlySpan<byte> name;
                ReadOnlySpan<byte> value;
                HpackIndexing indexing;
                bool add = false;
                if (first >= 0x80)
                {
                    // Indexed field (6.1).
                    int index = HpackInteger.Read(block, ref pos, 7);
                    if (index == 0)
                    {
                        throw new HpackDecodingException("indexed field with index 0");
                    }

                    if (index <= HpackStaticTable.Count)
                    {
                        name = HpackStaticTable.Name(index);
                        value = HpackStaticTable.Value(index);
                    }
                    else
                    {
                        int dynamicIndex = CheckDynamicIndex(index);
                        name = _table.Name(dynamicIndex);
                        value = _table.Value(dynamicIndex);
                    }

                    indexing = HpackIndexing.Incremental;
                }
                else
                {
                    // Literal (6.2.1 with incremental indexing, 6.2.2 without indexing, 6.2.3 never indexed).
                    int prefixBits;
                    if (first >= 0x40)
                    {
                        (indexing, prefixBits, add) = (HpackIndexing.Incremental, 6, true);
                    }
                    else if (first >= 0x10)
                    {
                        (indexing, prefixBits) = (HpackIndexing.NeverIndexed, 4);
                    }
                    else
                    {
                        (indexing, prefixBits) = (HpackIndexing.WithoutIndexing, 4);
                    }

                    int nameIndex = HpackInteger.Read(block, ref pos, prefixBits);
                    int scratchUsed = 0;
                    if (nameIndex == 0)
                    {
                        name = ReadString(block, ref pos, ref scratch, ref scratchUsed);
                    }
                    else if (nameIndex <= HpackStaticTable.Count)
                    {
                        name = HpackStaticTable.Name(nameIndex);
                    }
                    else
                    {
                        name = _table.Name(CheckDynamicIndex(nameIndex));
                    }

                    value = ReadString(block, ref pos, ref scratch, ref scratchUsed);
                }

                listSize += name.Length + value.Length + HpackDynamicTable.EntryOverhead;
                if (!tooLarge)
                {
                    if (listSize > _maxHeaderListSize)
                    {
                        tooLarge = true;
                    }
                    else
                    {
                        sink.OnHeader(name, value, indexing);
                    }
                }

                if (add)
                {
                    // After the sink: the new entry may evict the one the name came from.
                    _table.Add(name, value);
                }
            }

            return tooLarge ? HpackDecodeResult.HeaderListTooLarge : HpackDecodeResult.Ok;
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    /// <summary>The dynamic index for table index <paramref name="index"/> (above the static table), checked.</summary>
    private int CheckDynamicIndex(int index)
    {
        int dynamicIndex = index - HpackStaticTable.Count;
        if (dynamicIndex > _table.Count)
        {
            throw new HpackDecodingException($"index {index} beyond the dynamic table ({_table.Count} entries)");
        }

        return dynamicIndex;
    }

    /// <summary>
    /// A string literal (5.2): a slice of the block, or, Huffman-coded, decoded into <paramref name="scratch"/> at
    /// <paramref name="scratchUsed"/>. The scratch buffer is rented once per block, large enough for every string of
    /// a field (a Huffman code is at least 5 bits, so n octets decode to at most 8n/5), so earlier spans stay valid.
    /// </summary>
    private ReadOnlySpan<byte> ReadString(ReadOnlySpan<byte> block, scoped ref int pos, scoped ref byte[]? scratch, scoped ref int scratchUsed)
    {
        if (pos >= block.Length)
        {
            throw new HpackDecodingException("truncated field: string literal missing");
        }

        bool huffman = (block[pos] & 0x80) != 0;
        int length = HpackInteger.Read(block, ref pos, 7);
        if (length > block.Length - pos)
        {
            throw new HpackDecodingException($"truncated string literal: {length} octets announced, {block.Length - pos} left in the block");
        }

        ReadOnlySpan<byte> raw = block.Slice(pos, length);
        pos += length;
        if (!huffman)
        {
            if (length > _maxStringLength)
            {
                throw new HpackDecodingException($"string literal of {length} octets, above the limit of {_maxStringLength}");
            }

            return raw;
        }

        scratch ??= ArrayPool<byte>.Shared.Rent((int)Math.Min(((long)block.Length * 8 / 5) + 1, 2L * _maxStringLength));
        int most = (int)Math.Min(_maxStringLength, (long)length * 8 / 5);
        Span<byte> destination = scratch.AsSpan(scratchUsed, most);
        int decoded = HpackHuffman.Decode(raw, destination); // fills `most` only when that is the limit
        scratchUsed += decoded;
        return destination[..decoded];
    }
}
