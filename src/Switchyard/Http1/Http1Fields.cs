using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace Switchyard.Http1;

/// <summary>
/// The field lines of one message (header or trailer section), kept as offsets into a single pooled copy of the
/// section's bytes: parsing allocates no string per field. One instance lives as long as its connection and is
/// <see cref="Reset"/> between messages; <see cref="Dispose"/> returns the buffer to the pool.
/// Values are the field line values with surrounding whitespace removed (RFC 9112 §5: OWS is not part of the value).
/// </summary>
public sealed class Http1Fields : IDisposable
{
    private const int InitialBytes = 1024;
    private const int InitialFields = 16;

    private byte[] _bytes = [];
    private int _length;
    private FieldRange[] _ranges = new FieldRange[InitialFields];
    private int _count;

    /// <summary>Number of field lines, in the order they arrived.</summary>
    public int Count => _count;

    /// <summary>The copied section bytes the ranges point into.</summary>
    internal ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, _length);

    /// <summary>The field name as sent (case preserved).</summary>
    public ReadOnlySpan<byte> Name(int index)
    {
        FieldRange r = RangeAt(index);
        return _bytes.AsSpan(r.NameStart, r.NameLength);
    }

    /// <summary>The field line value without leading and trailing whitespace.</summary>
    public ReadOnlySpan<byte> Value(int index)
    {
        FieldRange r = RangeAt(index);
        return _bytes.AsSpan(r.ValueStart, r.ValueLength);
    }

    /// <summary>The first field line whose name equals <paramref name="name"/> ignoring ASCII case.</summary>
    public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        int i = IndexOf(name, 0);
        value = i >= 0 ? Value(i) : default;
        return i >= 0;
    }

    /// <summary>The first index at or after <paramref name="start"/> whose name matches ignoring case, or -1.</summary>
    public int IndexOf(ReadOnlySpan<byte> name, int start)
    {
        for (int i = start; (uint)i < (uint)_count; i++)
        {
            FieldRange r = _ranges[i];
            if (r.NameLength == name.Length && Ascii.EqualsIgnoreCase(_bytes.AsSpan(r.NameStart, r.NameLength), name))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Every field line value with this name (case-insensitive), one string per line, in order. Allocating
    /// convenience for routing; bytes above 0x7F (obs-text) map to the same code points (Latin-1).
    /// </summary>
    public IEnumerable<string> Values(string name)
    {
        for (int i = 0; i < _count; i++)
        {
            FieldRange r = _ranges[i];
            if (r.NameLength == name.Length && Ascii.EqualsIgnoreCase(_bytes.AsSpan(r.NameStart, r.NameLength), name))
            {
                yield return Encoding.Latin1.GetString(_bytes, r.ValueStart, r.ValueLength);
            }
        }
    }

    /// <summary>Forgets the fields; the buffers stay for the next message.</summary>
    public void Reset()
    {
        _count = 0;
        _length = 0;
    }

    public void Dispose()
    {
        Reset();
        byte[] bytes = _bytes;
        _bytes = [];
        if (bytes.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Copies a section into the (pooled) buffer and forgets previous fields; returns the copy to parse.</summary>
    internal ReadOnlySpan<byte> Load(in ReadOnlySequence<byte> section)
    {
        _count = 0;
        int length = checked((int)section.Length);
        if (_bytes.Length < length)
        {
            Grow(length);
        }

        section.CopyTo(_bytes);
        _length = length;
        return _bytes.AsSpan(0, length);
    }

    internal void Add(int nameStart, int nameLength, int valueStart, int valueLength)
    {
        if (_count == _ranges.Length)
        {
            GrowRanges();
        }

        _ranges[_count++] = new FieldRange(nameStart, nameLength, valueStart, valueLength);
    }

    /// <summary>Forgets every field line whose name <paramref name="drop"/> matches; the others keep their order.</summary>
    internal int RemoveWhere(Func<ReadOnlySpan<byte>, bool> drop)
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            FieldRange r = _ranges[i];
            if (!drop(_bytes.AsSpan(r.NameStart, r.NameLength)))
            {
                _ranges[kept++] = r;
            }
        }

        int removed = _count - kept;
        _count = kept;
        return removed;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private FieldRange RangeAt(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            ThrowIndex();
        }

        return _ranges[index];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int length)
    {
        byte[] old = _bytes;
        _bytes = ArrayPool<byte>.Shared.Rent(Math.Max(length, InitialBytes));
        if (old.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(old);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GrowRanges() => Array.Resize(ref _ranges, _ranges.Length * 2);

    private static void ThrowIndex() => throw new ArgumentOutOfRangeException("index");

    private readonly record struct FieldRange(int NameStart, int NameLength, int ValueStart, int ValueLength);
}
