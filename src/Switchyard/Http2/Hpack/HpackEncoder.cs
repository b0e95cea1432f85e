using System.Buffers;

namespace Switchyard.Http2.Hpack;

/// <summary>
/// Encodes header blocks (RFC 7541) for one connection: full matches in the static or dynamic table become
/// indexed fields, everything else a literal (name indexed where possible) added to the dynamic table when it is
/// small enough to be worth it; never-indexed fields stay never-indexed and out of the table; strings are
/// Huffman-coded when that is shorter. Table size changes from the peer's SETTINGS are announced at the start of
/// the next block (the smallest size first when it shrank in between).
/// </summary>
public sealed class HpackEncoder(int maxTableSize = 4096)
{
    private readonly HpackDynamicTable _table = new(maxTableSize);
    private int _pendingMinimum = -1;
    private int _pendingFinal = -1;

    /// <summary>The peer's SETTINGS_HEADER_TABLE_SIZE: our table never grows above it (we keep at most 4096).</summary>
    public void SetPeerMaxTableSize(int size)
    {
        int chosen = Math.Min(size, 4096);
        _pendingMinimum = _pendingMinimum < 0 ? chosen : Math.Min(_pendingMinimum, chosen);
        _pendingFinal = chosen;
    }

    public void BeginHeaderBlock(IBufferWriter<byte> output)
    {
        if (_pendingFinal < 0)
        {
            return;
        }

        if (_pendingMinimum < _pendingFinal)
        {
            WriteInteger(output, 0x20, 5, _pendingMinimum);
        }

        WriteInteger(output, 0x20, 5, _pendingFinal);
        _table.SetMaxSize(_pendingFinal);
        _pendingMinimum = -1;
        _pendingFinal = -1;
    }

    public void EncodeHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing, IBufferWriter<byte> output)
    {
        (int staticFull, int staticName) = HpackStaticTable.Find(name, value);
        (int dynamicFull, int dynamicName) = indexing == HpackIndexing.NeverIndexed ? (0, 0) : _table.Find(name, value);
        if (indexing != HpackIndexing.NeverIndexed && (staticFull > 0 || dynamicFull > 0))
        {
            WriteInteger(output, 0x80, 7, staticFull > 0 ? staticFull : HpackStaticTable.Count + dynamicFull);
            return;
        }

        int nameIndex = staticName > 0 ? staticName : dynamicName > 0 ? HpackStaticTable.Count + dynamicName : 0;
        bool index = indexing == HpackIndexing.Incremental && name.Length + value.Length + 32 <= _table.MaxSize * 3 / 4;
        if (index)
        {
            WriteInteger(output, 0x40, 6, nameIndex);
        }
        else
        {
            WriteInteger(output, indexing == HpackIndexing.NeverIndexed ? (byte)0x10 : (byte)0x00, 4, nameIndex);
        }

        if (nameIndex == 0)
        {
            WriteString(output, name);
        }

        WriteString(output, value);
        if (index)
        {
            _table.Add(name, value);
        }
    }

    internal static void WriteInteger(IBufferWriter<byte> output, byte flags, int prefixBits, int value)
    {
        Span<byte> span = output.GetSpan(6);
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            span[0] = (byte)(flags | value);
            output.Advance(1);
            return;
        }

        span[0] = (byte)(flags | max);
        int n = 1;
        value -= max;
        while (value >= 0x80)
        {
            span[n++] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        output.Advance(n);
    }

    private static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        int huffman = HpackHuffman.EncodedLength(value);
        if (huffman < value.Length)
        {
            WriteInteger(output, 0x80, 7, huffman);
            Span<byte> span = output.GetSpan(huffman);
            HpackHuffman.Encode(value, span);
            output.Advance(huffman);
        }
        else
        {
            WriteInteger(output, 0x00, 7, value.Length);
            output.Write(value);
        }
    }
}
