using System.Buffers;

namespace Switchyard.Http2.Hpack;

/// <summary>
/// Encodes header blocks (RFC 7541) for one direction of one connection. Not thread-safe: one block at a time,
/// sent in the order encoded. Call <see cref="BeginHeaderBlock"/> before the first field of every block.
/// <para>
/// Policy, per field:
/// <list type="bullet">
/// <item><see cref="HpackIndexing.NeverIndexed"/>: always a never-indexed literal (6.2.3), with the name indexed
/// when a table has it; never an indexed field and never added to the table, so the next hop learns it is
/// sensitive too.</item>
/// <item><see cref="HpackIndexing.Incremental"/>: an indexed field (6.1) when the static or dynamic table holds the
/// exact field, else a literal with incremental indexing (6.2.1), name indexed where possible, added to the
/// dynamic table; a field taking more than 3/4 of the table would flush it for one entry, so it goes as a literal
/// without indexing instead.</item>
/// <item><see cref="HpackIndexing.WithoutIndexing"/>: an indexed field when a table holds the exact field (that
/// changes nothing), else a literal without indexing (6.2.2); the table is never added to.</item>
/// </list>
/// The static table wins ties (its indexes never move). Strings are Huffman-coded only when that is shorter.
/// </para>
/// </summary>
public sealed class HpackEncoder
{
    /// <summary>SETTINGS_HEADER_TABLE_SIZE before the peer says otherwise (RFC 9113 6.5.2).</summary>
    private const int InitialPeerTableSize = 4096;

    private readonly HpackDynamicTable _table;
    private readonly int _maxTableSize;
    private int _pendingSmallest = -1; // smallest table size chosen since the last block, -1 when none
    private int _pendingFinal = -1; // table size to announce at the start of the next block, -1 when none

    /// <param name="maxTableSize">
    /// The most dynamic table this encoder keeps, whatever the peer allows. The table starts at the protocol's 4096
    /// octets (or this, when smaller: the first block then announces it).
    /// </param>
    public HpackEncoder(int maxTableSize = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTableSize);
        _maxTableSize = maxTableSize;
        _table = new HpackDynamicTable(InitialPeerTableSize, lookups: true);
        if (maxTableSize < InitialPeerTableSize)
        {
            _pendingSmallest = _pendingFinal = maxTableSize;
        }
    }

    /// <summary>Strings are Huffman-coded when shorter (tests turn this off to reproduce RFC 7541 C.2, C.3, C.5).</summary>
    internal bool UseHuffman { get; set; } = true;

    /// <summary>The dynamic table as encoded so far (for tests and diagnostics).</summary>
    internal HpackDynamicTable DynamicTable => _table;

    /// <summary>
    /// The peer's SETTINGS_HEADER_TABLE_SIZE is now <paramref name="size"/>: the table is set to the smaller of it
    /// and this encoder's own maximum, announced at the start of the next block (RFC 7541 4.2, 6.3). When the size
    /// changed more than once in between, the smallest one is announced first, then the final one.
    /// </summary>
    public void SetPeerMaxTableSize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        int chosen = Math.Min(size, _maxTableSize);
        _pendingSmallest = _pendingSmallest < 0 ? chosen : Math.Min(_pendingSmallest, chosen);
        _pendingFinal = chosen;
    }

    /// <summary>Starts a header block: writes the pending dynamic table size updates, if any.</summary>
    public void BeginHeaderBlock(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_pendingFinal < 0)
        {
            return;
        }

        if (_pendingSmallest < _pendingFinal)
        {
            WriteSizeUpdate(_pendingSmallest, output);
            WriteSizeUpdate(_pendingFinal, output);
        }
        else if (_pendingFinal != _table.MaxSize)
        {
            WriteSizeUpdate(_pendingFinal, output);
        }

        _pendingSmallest = -1;
        _pendingFinal = -1;
    }

    /// <summary>Appends one field to the current block.</summary>
    public void EncodeHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        int staticIndex = HpackStaticTable.Find(name, value, out int nameIndex);
        if (indexing != HpackIndexing.NeverIndexed)
        {
            if (staticIndex != 0)
            {
                WriteIndexed(staticIndex, output);
                return;
            }

            int dynamicIndex = _table.Find(name, value, out int dynamicNameIndex);
            if (dynamicIndex != 0)
            {
                WriteIndexed(HpackStaticTable.Count + dynamicIndex, output);
                return;
            }

            if (nameIndex == 0 && dynamicNameIndex != 0)
            {
                nameIndex = HpackStaticTable.Count + dynamicNameIndex;
            }
        }
        else if (nameIndex == 0)
        {
            _table.Find(name, ReadOnlySpan<byte>.Empty, out int dynamicNameIndex);
            if (dynamicNameIndex != 0)
            {
                nameIndex = HpackStaticTable.Count + dynamicNameIndex;
            }
        }

        long entrySize = (long)name.Length + value.Length + HpackDynamicTable.EntryOverhead;
        bool add = indexing == HpackIndexing.Incremental && entrySize <= (long)_table.MaxSize * 3 / 4;
        (byte flags, int prefixBits) = add ? ((byte)0x40, 6)
            : indexing == HpackIndexing.NeverIndexed ? ((byte)0x10, 4)
            : ((byte)0x00, 4);
        WriteInteger(flags, prefixBits, nameIndex, output);
        if (nameIndex == 0)
        {
            WriteString(name, output);
        }

        WriteString(value, output);
        if (add)
        {
            _table.Add(name, value);
        }
    }

    private void WriteSizeUpdate(int size, IBufferWriter<byte> output)
    {
        WriteInteger(0x20, 5, size, output);
        _table.SetMaxSize(size);
    }

    private static void WriteIndexed(int index, IBufferWriter<byte> output) => WriteInteger(0x80, 7, index, output);

    private static void WriteInteger(byte flags, int prefixBits, int value, IBufferWriter<byte> output)
    {
        Span<byte> span = output.GetSpan(HpackInteger.MaxLength);
        output.Advance(HpackInteger.Write(span, flags, prefixBits, value));
    }

    /// <summary>A string literal (5.2): Huffman-coded when that is shorter, else as is.</summary>
    private void WriteString(ReadOnlySpan<byte> value, IBufferWriter<byte> output)
    {
        long huffmanLength = UseHuffman ? HpackHuffman.EncodedLength(value) : long.MaxValue;
        bool huffman = huffmanLength < value.Length;
        int length = huffman ? (int)huffmanLength : value.Length;
        Span<byte> span = output.GetSpan(HpackInteger.Length(7, length) + length);
        int n = HpackInteger.Write(span, huffman ? (byte)0x80 : (byte)0x00, 7, length);
        if (huffman)
        {
            HpackHuffman.Encode(value, span[n..]);
        }
        else
        {
            value.CopyTo(span[n..]);
        }

        output.Advance(n + length);
    }
}
