namespace Switchyard.Http2.Hpack;

/// <summary>
/// The dynamic table (RFC 7541 2.3.2, 4): a FIFO of fields, newest first (dynamic index 1 = table index 62).
/// An entry's size is name + value + 32 octets; adding one evicts the oldest entries until it fits, and an entry
/// larger than the whole table empties it (4.4); lowering the maximum size evicts too (4.3).
/// <para>
/// Storage: the name and value of each entry lie next to each other in one byte ring, so a lookup hands out two
/// plain spans. An entry that does not fit before the end of the ring goes to its start instead (the tail end stays
/// unused until the entries before it are evicted); with a ring twice the maximum size this always succeeds, and
/// the ring grows (by copying the live entries to a new array) only until it gets there. Entry metadata sits in a
/// power-of-two array indexed by insertion number, so eviction and lookup are O(1).
/// </para>
/// <para>
/// With <c>lookups</c> on (the encoder's table), entries are also chained by a hash of the name, newest first, so
/// <see cref="Find"/> walks only the entries whose name hashes alike; a chain ends at the first evicted entry.
/// </para>
/// </summary>
internal sealed class HpackDynamicTable
{
    /// <summary>Per-entry overhead in the table size (4.1).</summary>
    public const int EntryOverhead = 32;

    private const int MinRingSize = 256;
    private const int MinEntrySlots = 16;

    private readonly bool _lookups;
    private byte[] _ring = [];
    private Entry[] _entries = [];
    private long[] _buckets = []; // newest insertion number per name-hash bucket (lookups only)

    private long _oldest; // insertion number of the oldest live entry
    private long _next; // insertion number of the next entry added

    private int _head; // where the next entry goes in the ring
    private bool _wrapped; // live bytes run from the oldest entry to _wrapEnd, then from 0 to _head
    private long _firstWrapped; // insertion number of the first entry placed at the start of the ring
    private int _dataLength; // name and value octets of the live entries

    public HpackDynamicTable(int maxSize, bool lookups)
    {
        MaxSize = maxSize;
        _lookups = lookups;
    }

    /// <summary>The maximum size (4.2) currently in effect.</summary>
    public int MaxSize { get; private set; }

    /// <summary>The sum of the entries' sizes (4.1).</summary>
    public int Size { get; private set; }

    public int Count => (int)(_next - _oldest);

    /// <summary>Octets the ring holds (for tests: at most twice the largest maximum size seen).</summary>
    internal int RingCapacity => _ring.Length;

    /// <summary>Name of the entry at <paramref name="index"/> (1 = newest, up to <see cref="Count"/>).</summary>
    public ReadOnlySpan<byte> Name(int index)
    {
        ref Entry entry = ref At(index);
        return _ring.AsSpan(entry.Offset, entry.NameLength);
    }

    /// <summary>Value of the entry at <paramref name="index"/> (1 = newest, up to <see cref="Count"/>).</summary>
    public ReadOnlySpan<byte> Value(int index)
    {
        ref Entry entry = ref At(index);
        return _ring.AsSpan(entry.Offset + entry.NameLength, entry.ValueLength);
    }

    public void SetMaxSize(int maxSize)
    {
        MaxSize = maxSize;
        while (Size > MaxSize)
        {
            EvictOldest();
        }

        if (Count == 0 && _ring.Length > 2L * Math.Max(MaxSize, MinRingSize))
        {
            _ring = []; // the table shrank a lot: let the old ring go
        }
    }

    /// <summary>
    /// Adds an entry, evicting as RFC 7541 4.4 says; false when the entry is larger than the table (which is then
    /// empty). <paramref name="name"/> may point into this table (a literal with an indexed name): it is copied
    /// before anything overwrites it.
    /// </summary>
    public bool Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        long size = (long)name.Length + value.Length + EntryOverhead;
        if (size > MaxSize)
        {
            while (Count > 0)
            {
                EvictOldest();
            }

            return false;
        }

        while (Size + size > MaxSize)
        {
            EvictOldest();
        }

        int length = name.Length + value.Length;
        if (Count == _entries.Length)
        {
            GrowEntries();
        }

        // Evicted entries keep their bytes until something is written over them, so a name inside the table is still
        // intact here; the copy below is a memmove, safe even where the name's old bytes overlap the new entry.
        int offset = Reserve(length);
        Span<byte> target = _ring.AsSpan(offset, length);
        name.CopyTo(target);
        value.CopyTo(target[name.Length..]);

        int hash = _lookups ? HashName(target[..name.Length]) : 0; // the copy: name's own bytes may be overwritten by now
        ref Entry entry = ref _entries[(int)(_next & (_entries.Length - 1))];
        entry = new Entry(offset, name.Length, value.Length, hash, -1);
        if (_lookups)
        {
            ref long bucket = ref _buckets[hash & (_buckets.Length - 1)];
            entry.NextInBucket = bucket;
            bucket = _next;
        }

        _next++;
        _dataLength += length;
        Size += (int)size;
        return true;
    }

    /// <summary>
    /// The index of the newest entry equal to (<paramref name="name"/>, <paramref name="value"/>), or 0, and the index
    /// of the newest entry named <paramref name="name"/>, or 0 (1 = newest). Only for a table made with lookups.
    /// </summary>
    public int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out int nameIndex)
    {
        nameIndex = 0;
        if (Count == 0)
        {
            return 0;
        }

        int hash = HashName(name);
        long number = _buckets[hash & (_buckets.Length - 1)];
        int mask = _entries.Length - 1;
        while (number >= _oldest)
        {
            ref Entry entry = ref _entries[(int)(number & mask)];
            if (entry.Hash == hash && name.SequenceEqual(_ring.AsSpan(entry.Offset, entry.NameLength)))
            {
                int index = (int)(_next - number);
                if (nameIndex == 0)
                {
                    nameIndex = index;
                }

                if (value.SequenceEqual(_ring.AsSpan(entry.Offset + entry.NameLength, entry.ValueLength)))
                {
                    return index;
                }
            }

            number = entry.NextInBucket;
        }

        return 0;
    }

    private ref Entry At(int index)
    {
        if ((uint)(index - 1) >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "no such dynamic table entry");
        }

        return ref _entries[(int)((_next - index) & (_entries.Length - 1))];
    }

    private static int HashName(ReadOnlySpan<byte> name)
    {
        var hash = default(HashCode); // randomly seeded per process: chains cannot be steered from outside
        hash.AddBytes(name);
        return hash.ToHashCode();
    }

    private void EvictOldest()
    {
        ref Entry entry = ref _entries[(int)(_oldest & (_entries.Length - 1))];
        int length = entry.NameLength + entry.ValueLength;
        Size -= length + EntryOverhead;
        _dataLength -= length;
        _oldest++;
        if (_oldest == _next)
        {
            _head = 0;
            _wrapped = false;
        }
        else if (_wrapped && _oldest >= _firstWrapped)
        {
            _wrapped = false; // every entry before the wrap is gone
        }
    }

    /// <summary>Finds room for <paramref name="length"/> contiguous octets after evicting; returns its offset.</summary>
    private int Reserve(int length)
    {
        if (Count == 0)
        {
            _head = 0;
            _wrapped = false;
        }

        int start = _head;
        if (!_wrapped)
        {
            if (_ring.Length - _head >= length)
            {
                _head += length;
                return start;
            }

            // Not enough room before the end of the ring: the start of the ring, up to the oldest entry, if it is big enough.
            int oldest = Count == 0 ? 0 : _entries[(int)(_oldest & (_entries.Length - 1))].Offset;
            if (Count > 0 && oldest >= length)
            {
                _wrapped = true;
                _firstWrapped = _next;
                _head = length;
                return 0;
            }
        }
        else if (_entries[(int)(_oldest & (_entries.Length - 1))].Offset - _head >= length)
        {
            _head += length;
            return start;
        }

        Compact(length);
        start = _head;
        _head += length;
        return start;
    }

    /// <summary>
    /// Copies the live entries, oldest first, to the start of a new ring with room for <paramref name="length"/> more
    /// octets: twice as large as before, up to twice the maximum size (from where this no longer happens). A name
    /// that <see cref="Add"/> got from the old ring stays valid: the old array is not reused.
    /// </summary>
    private void Compact(int length)
    {
        long grown = Math.Min(2L * MaxSize, Math.Max(2L * _ring.Length, MinRingSize));
        long wanted = Math.Max(grown, (long)_dataLength + length);
        byte[] ring = new byte[(int)Math.Min(wanted, Array.MaxLength)];
        int mask = _entries.Length - 1;
        int offset = 0;
        for (long number = _oldest; number < _next; number++)
        {
            ref Entry entry = ref _entries[(int)(number & mask)];
            int entryLength = entry.NameLength + entry.ValueLength;
            _ring.AsSpan(entry.Offset, entryLength).CopyTo(ring.AsSpan(offset));
            entry.Offset = offset;
            offset += entryLength;
        }

        _ring = ring;
        _head = offset;
        _wrapped = false;
    }

    private void GrowEntries()
    {
        int slots = Math.Max(MinEntrySlots, _entries.Length * 2);
        var entries = new Entry[slots];
        int oldMask = _entries.Length - 1;
        for (long number = _oldest; number < _next; number++)
        {
            entries[(int)(number & (slots - 1))] = _entries[(int)(number & oldMask)];
        }

        _entries = entries;
        if (!_lookups)
        {
            return;
        }

        // Rebuild the chains for the new bucket count, oldest first so that each chain runs newest first.
        _buckets = new long[slots];
        Array.Fill(_buckets, -1L);
        for (long number = _oldest; number < _next; number++)
        {
            ref Entry entry = ref _entries[(int)(number & (slots - 1))];
            ref long bucket = ref _buckets[entry.Hash & (slots - 1)];
            entry.NextInBucket = bucket;
            bucket = number;
        }
    }

    private struct Entry(int offset, int nameLength, int valueLength, int hash, long nextInBucket)
    {
        public int Offset = offset;
        public int NameLength = nameLength;
        public int ValueLength = valueLength;
        public int Hash = hash;

        /// <summary>Insertion number of the next older entry in the same bucket (stale once below the oldest live one).</summary>
        public long NextInBucket = nextInBucket;
    }
}
