using System.Buffers;
using System.Text;
using Switchyard.Http2.Hpack;

namespace Switchyard.Http2;

/// <summary>
/// One decoded header block (request, response, informational or trailers): field names and values as bytes in
/// one pooled arena, in the order received, each with its HPACK indexing so a never-indexed field is re-encoded
/// never-indexed. Names are lower case on the wire (RFC 9113 8.2.1); pseudo-header fields come first.
/// </summary>
internal sealed class Http2HeaderList : IHpackHeaderSink, IDisposable
{
    private readonly record struct Entry(int NameStart, int NameLength, int ValueStart, int ValueLength, HpackIndexing Indexing);

    private byte[] _bytes = ArrayPool<byte>.Shared.Rent(512);
    private int _length;
    private Entry[] _entries = new Entry[16];

    public int Count { get; private set; }

    /// <summary>The block arrived with END_STREAM (no body follows, or these were trailers).</summary>
    public bool EndStream { get; set; }

    /// <summary>Sum of name + value + 32 per field (RFC 9113 6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE).</summary>
    public int Size { get; private set; }

    public ReadOnlySpan<byte> Name(int i) => _bytes.AsSpan(_entries[i].NameStart, _entries[i].NameLength);

    public ReadOnlySpan<byte> Value(int i) => _bytes.AsSpan(_entries[i].ValueStart, _entries[i].ValueLength);

    public HpackIndexing Indexing(int i) => _entries[i].Indexing;

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing) => Add(name, value, indexing);

    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing = HpackIndexing.Incremental)
    {
        int need = _length + name.Length + value.Length;
        if (need > _bytes.Length)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(need, _bytes.Length * 2));
            _bytes.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = bigger;
        }

        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, _entries.Length * 2);
        }

        name.CopyTo(_bytes.AsSpan(_length));
        value.CopyTo(_bytes.AsSpan(_length + name.Length));
        _entries[Count++] = new Entry(_length, name.Length, _length + name.Length, value.Length, indexing);
        _length += name.Length + value.Length;
        Size += name.Length + value.Length + 32;
    }

    public void Add(string name, string value, HpackIndexing indexing = HpackIndexing.Incremental)
    {
        Span<byte> n = stackalloc byte[Encoding.Latin1.GetByteCount(name)];
        Encoding.Latin1.GetBytes(name, n);
        byte[]? rented = null;
        Span<byte> v = value.Length <= 256 ? stackalloc byte[value.Length] : (rented = ArrayPool<byte>.Shared.Rent(value.Length)).AsSpan(0, value.Length);
        Encoding.Latin1.GetBytes(value, v);
        Add(n, v, indexing);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The index of the first field with this (lower-case) name, or -1.</summary>
    public int IndexOf(ReadOnlySpan<byte> name, int start = 0)
    {
        for (int i = start; i < Count; i++)
        {
            if (Name(i).SequenceEqual(name))
            {
                return i;
            }
        }

        return -1;
    }

    public bool TryGet(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        int i = IndexOf(name);
        value = i >= 0 ? Value(i) : default;
        return i >= 0;
    }

    public string? GetString(ReadOnlySpan<byte> name) => TryGet(name, out ReadOnlySpan<byte> v) ? Encoding.Latin1.GetString(v) : null;

    public void Clear()
    {
        Count = 0;
        _length = 0;
        Size = 0;
        EndStream = false;
    }

    public void Dispose()
    {
        Clear();
        byte[] bytes = _bytes;
        _bytes = [];
        if (bytes.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
