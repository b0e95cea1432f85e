using System.Text;

namespace Switchyard.Http2.Hpack;

/// <summary>How a field was (or is to be) represented: RFC 7541 6.2.1 / 6.2.2 / 6.2.3.</summary>
public enum HpackIndexing : byte
{
    Incremental,
    WithoutIndexing,
    NeverIndexed,
}

public enum HpackDecodeResult : byte
{
    Ok,

    /// <summary>The decoded list passed the limit: decoding went on (table kept in sync) but the sink stopped receiving.</summary>
    HeaderListTooLarge,
}

/// <summary>Receives decoded fields in order; the spans are valid only during the call.</summary>
public interface IHpackHeaderSink
{
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing);
}

/// <summary>A header block that cannot be decoded: the connection ends with COMPRESSION_ERROR.</summary>
public sealed class HpackDecodingException(string message) : Exception(message);

/// <summary>The static table (RFC 7541 Appendix A), 1-based.</summary>
internal static class HpackStaticTable
{
    public const int Count = 61;

    private static readonly (byte[] Name, byte[] Value)[] Entries = Build(
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""), ("etag", ""),
        ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""), ("if-modified-since", ""),
        ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""),
        ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""),
        ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""), ("set-cookie", ""),
        ("strict-transport-security", ""), ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""),
        ("www-authenticate", ""),
    ]);

    private static (byte[], byte[])[] Build((string Name, string Value)[] entries) =>
        Array.ConvertAll(entries, e => (Encoding.ASCII.GetBytes(e.Name), Encoding.ASCII.GetBytes(e.Value)));

    public static (byte[] Name, byte[] Value) Entry(int index) => Entries[index - 1];

    public static ReadOnlySpan<byte> Name(int index) => Entries[index - 1].Name;

    public static ReadOnlySpan<byte> Value(int index) => Entries[index - 1].Value;

    /// <summary>Index of the exact (name, value) entry, and of the first entry with the name (0 when none).</summary>
    public static (int Full, int NameOnly) Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int nameOnly = 0;
        for (int i = 0; i < Entries.Length; i++)
        {
            if (Entries[i].Name.AsSpan().SequenceEqual(name))
            {
                if (nameOnly == 0)
                {
                    nameOnly = i + 1;
                }

                if (Entries[i].Value.AsSpan().SequenceEqual(value))
                {
                    return (i + 1, nameOnly);
                }
            }
        }

        return (0, nameOnly);
    }
}

/// <summary>
/// The dynamic table (RFC 7541 2.3.2, 4): newest entry first (dynamic index 1), size = name + value + 32 per
/// entry, oldest entries evicted to fit; an entry larger than the whole table empties it.
/// </summary>
internal sealed class HpackDynamicTable(int maxSize)
{
    private (byte[] Name, byte[] Value)[] _ring = new (byte[], byte[])[16];
    private int _head; // slot of the newest entry
    private int _count;

    public int MaxSize { get; private set; } = maxSize;

    public int Size { get; private set; }

    public int Count => _count;

    /// <summary>1-based: 1 is the newest entry.</summary>
    public (byte[] Name, byte[] Value) this[int index] => _ring[(_head + index - 1) % _ring.Length];

    public void SetMaxSize(int maxSize)
    {
        MaxSize = maxSize;
        Evict(0);
    }

    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int size = name.Length + value.Length + 32;
        if (size > MaxSize)
        {
            _count = 0;
            Size = 0;
            return;
        }

        Evict(size);
        if (_count == _ring.Length)
        {
            var bigger = new (byte[], byte[])[_ring.Length * 2];
            for (int i = 0; i < _count; i++)
            {
                bigger[i + 1] = _ring[(_head + i) % _ring.Length];
            }

            _ring = bigger;
            _head = 1;
        }

        _head = (_head - 1 + _ring.Length) % _ring.Length;
        _ring[_head] = (name.ToArray(), value.ToArray());
        _count++;
        Size += size;
    }

    /// <summary>Dynamic index (1-based) of the exact entry and of the first with the name; 0 when none.</summary>
    public (int Full, int NameOnly) Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int nameOnly = 0;
        for (int i = 1; i <= _count; i++)
        {
            (byte[] n, byte[] v) = this[i];
            if (n.AsSpan().SequenceEqual(name))
            {
                if (nameOnly == 0)
                {
                    nameOnly = i;
                }

                if (v.AsSpan().SequenceEqual(value))
                {
                    return (i, nameOnly);
                }
            }
        }

        return (0, nameOnly);
    }

    private void Evict(int room)
    {
        while (_count > 0 && Size + room > MaxSize)
        {
            (byte[] n, byte[] v) = this[_count];
            Size -= n.Length + v.Length + 32;
            _ring[(_head + _count - 1) % _ring.Length] = default;
            _count--;
        }
    }
}
