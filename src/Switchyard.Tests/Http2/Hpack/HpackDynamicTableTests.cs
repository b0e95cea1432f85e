using Bogus;
using Switchyard.Http2.Hpack;
using static Switchyard.Tests.Http2.Hpack.HpackBytes;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>
/// <see cref="HpackDynamicTable"/> against a plain list that follows RFC 7541 4 literally, through seeded random
/// adds (names taken from the table itself included), size changes and lookups: the byte ring, its wrapping and
/// compaction, and the hash chains must never show.
/// </summary>
public sealed class HpackDynamicTableTests
{
    /// <summary>The reference: newest first, evict from the end.</summary>
    private sealed class Model(int maxSize)
    {
        public List<(string Name, string Value)> Entries { get; } = [];

        public int MaxSize { get; private set; } = maxSize;

        public int Size => Entries.Sum(e => e.Name.Length + e.Value.Length + 32);

        public void SetMaxSize(int maxSize)
        {
            MaxSize = maxSize;
            Evict(0);
        }

        public bool Add(string name, string value)
        {
            int size = name.Length + value.Length + 32;
            if (size > MaxSize)
            {
                Entries.Clear();
                return false;
            }

            Evict(size);
            Entries.Insert(0, (name, value));
            return true;
        }

        public int Find(string name, string value, out int nameIndex)
        {
            nameIndex = Entries.FindIndex(e => e.Name == name) + 1;
            return Entries.FindIndex(e => e.Name == name && e.Value == value) + 1;
        }

        private void Evict(int room)
        {
            while (Entries.Count > 0 && Size + room > MaxSize)
            {
                Entries.RemoveAt(Entries.Count - 1);
            }
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    public void BehavesLikeTheRfcModel(int seed, bool lookups)
    {
        var random = new Randomizer(seed);
        int maxSize = random.ArrayElement([0, 64, 256, 1000, 4096]);
        var table = new HpackDynamicTable(maxSize, lookups);
        var model = new Model(maxSize);
        string[] names = [.. Enumerable.Range(0, 12).Select(i => "name-" + i), "", "x"];
        for (int step = 0; step < 20_000; step++)
        {
            int op = random.Int(0, 99);
            if (op < 3)
            {
                int size = random.ArrayElement([0, 40, 100, 256, 500, 1000, 4096, 8000]);
                table.SetMaxSize(size);
                model.SetMaxSize(size);
            }
            else if (op < 80)
            {
                string value = new((char)random.Int('a', 'z'), random.WeightedRandom([random.Int(0, 8), random.Int(0, 100), random.Int(100, 2000)], [0.5f, 0.4f, 0.1f]));
                bool added;
                if (table.Count > 0 && random.Int(0, 3) == 0)
                {
                    // A literal with an indexed name: the name handed over points into the ring.
                    int index = random.Int(1, table.Count);
                    string name = Text(table.Name(index));
                    added = table.Add(table.Name(index), Bytes(value));
                    Assert.Equal(model.Add(name, value), added);
                }
                else
                {
                    string name = random.ArrayElement(names);
                    added = table.Add(Bytes(name), Bytes(value));
                    Assert.Equal(model.Add(name, value), added);
                }
            }
            else if (lookups && model.Entries.Count > 0)
            {
                (string name, string value) = random.Bool() ? random.ListItem(model.Entries) : (random.ArrayElement(names), "nope");
                int full = table.Find(Bytes(name), Bytes(value), out int nameIndex);
                Assert.Equal(model.Find(name, value, out int expectedNameIndex), full);
                Assert.Equal(expectedNameIndex, nameIndex);
            }

            Assert.Equal(model.Entries.Count, table.Count);
            Assert.Equal(model.Size, table.Size);
            Assert.Equal(model.MaxSize, table.MaxSize);
            if (step % 97 == 0)
            {
                Assert.Equal(model.Entries, Entries(table));
            }
        }

        Assert.Equal(model.Entries, Entries(table));
    }

    [Fact]
    public void FindsTheNewestMatchesWhenNamesCollideInABucket()
    {
        var table = new HpackDynamicTable(4096, lookups: true);
        for (int i = 0; i < 100; i++)
        {
            table.Add(Bytes("n" + (i % 7)), Bytes("v" + i));
        }

        // Newest first: "n0" was last added at i = 98, so it is at dynamic index 100 - 98 = 2.
        Assert.Equal(0, table.Find(Bytes("n0"), Bytes("nope"), out int nameIndex));
        Assert.Equal(2, nameIndex);
        Assert.Equal(100 - 91, table.Find(Bytes("n0"), Bytes("v91"), out nameIndex));
        Assert.Equal(2, nameIndex);
        Assert.Equal(1, table.Find(Bytes("n1"), Bytes("v99"), out nameIndex));
        Assert.Equal(1, nameIndex);
        Assert.Equal(0, table.Find(Bytes("n9"), Bytes("v1"), out nameIndex));
        Assert.Equal(0, nameIndex);
    }

    [Fact]
    public void TheRingStopsGrowingAtTwiceTheMaximumSize()
    {
        // Deterministic (seeded): once warmed up, adding and evicting allocates nothing, and the ring never holds
        // more than twice the maximum size.
        var random = new Randomizer(9);
        var table = new HpackDynamicTable(4096, lookups: true);
        byte[][] names = [.. Enumerable.Range(0, 50).Select(i => Bytes("x-" + i))];
        byte[][] values = [.. Enumerable.Range(0, 64).Select(i => random.Bytes(random.Int(0, 3000)))];
        void AddAll()
        {
            for (int i = 0; i < 10_000; i++)
            {
                table.Add(names[i % names.Length], values[i % values.Length]);
                Assert.True(table.RingCapacity <= 2 * 4096);
            }
        }

        AddAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        AddAll();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"{allocated} bytes allocated");
    }
}
