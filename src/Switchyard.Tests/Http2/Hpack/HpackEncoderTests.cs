using System.Buffers;
using Switchyard.Http2.Hpack;
using static Switchyard.Tests.Http2.Hpack.HpackBytes;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>
/// <see cref="HpackEncoder"/>'s choices: indexed fields for exact matches, name indexes, what goes into the table
/// (never a never-indexed field, nothing from without-indexing fields, nothing over 3/4 of the table), Huffman only
/// when shorter, and the dynamic table size updates it announces.
/// </summary>
public sealed class HpackEncoderTests
{
    private static string EncodeHex(HpackEncoder encoder, params Field[] fields) => ToHex(Encode(encoder, fields));

    [Fact]
    public void ExactStaticMatchesAreIndexedWhateverTheIndexingButNeverIndexed()
    {
        var encoder = new HpackEncoder();
        Assert.Equal("82", EncodeHex(encoder, new Field(":method", "GET")));
        Assert.Equal("82", EncodeHex(encoder, new Field(":method", "GET", HpackIndexing.WithoutIndexing)));
        Assert.Equal("88", EncodeHex(encoder, new Field(":status", "200")));
        Assert.Equal("90", EncodeHex(encoder, new Field("accept-encoding", "gzip, deflate")));
        Assert.Equal("bd", EncodeHex(encoder, new Field("www-authenticate", "")));
        Assert.Equal("12" + "03474554", EncodeHex(encoder, new Field(":method", "GET", HpackIndexing.NeverIndexed))); // "GET": 21 bits, no shorter coded
        Assert.Equal(0, encoder.DynamicTable.Count);
    }

    [Fact]
    public void TheLowestStaticNameIndexIsUsed()
    {
        var encoder = new HpackEncoder { UseHuffman = false };
        Assert.Equal("48" + "03333037", EncodeHex(encoder, new Field(":status", "307"))); // :status is 8..14
        Assert.Equal("44" + "022f61", EncodeHex(encoder, new Field(":path", "/a")));
        Assert.Equal("0f04" + "0161", EncodeHex(encoder, new Field("accept", "a", HpackIndexing.WithoutIndexing))); // 19 = 15 + 4
    }

    [Fact]
    public void IncrementalFieldsGoIntoTheTableAndAreIndexedNextTime()
    {
        var encoder = new HpackEncoder { UseHuffman = false };
        Assert.Equal("40" + "03782d61" + "0131", EncodeHex(encoder, new Field("x-a", "1")));
        Assert.Equal("be", EncodeHex(encoder, new Field("x-a", "1")));
        Assert.Equal("7e" + "0132", EncodeHex(encoder, new Field("x-a", "2"))); // the name from the table (62)
        Assert.Equal("be" + "bf", EncodeHex(encoder, new Field("x-a", "2"), new Field("x-a", "1")));
        Assert.Equal([("x-a", "2"), ("x-a", "1")], Entries(encoder.DynamicTable));
    }

    [Fact]
    public void StaticNamesBeatDynamicNames()
    {
        var encoder = new HpackEncoder { UseHuffman = false };
        EncodeHex(encoder, new Field("date", "one"));
        Assert.Equal("61" + "0374776f", EncodeHex(encoder, new Field("date", "two"))); // 33, not 62
    }

    [Fact]
    public void NeverIndexedFieldsStayOutOfTheTableAndKeepTheirRepresentation()
    {
        var encoder = new HpackEncoder { UseHuffman = false };
        Assert.Equal("1f08" + "06736563726574", EncodeHex(encoder, new Field("authorization", "secret", HpackIndexing.NeverIndexed))); // 23 = 15 + 8

        // Even when the table holds the exact field: a never-indexed literal, with the name from the table.
        EncodeHex(encoder, new Field("x-token", "t"));
        Assert.Equal("1f2f" + "0174", EncodeHex(encoder, new Field("x-token", "t", HpackIndexing.NeverIndexed)));
        Assert.Equal("10" + "07782d6f74686572" + "0174", EncodeHex(encoder, new Field("x-other", "t", HpackIndexing.NeverIndexed)));
        Assert.Equal([("x-token", "t")], Entries(encoder.DynamicTable));

        var decoder = new HpackDecoder();
        var fields = new[] { new Field("cookie", "a=b", HpackIndexing.NeverIndexed), new Field("x-token", "t", HpackIndexing.NeverIndexed) };
        Assert.Equal(fields, Decode(decoder, Encode(new HpackEncoder(), fields)));
        Assert.Empty(Entries(decoder.DynamicTable));
    }

    [Fact]
    public void WithoutIndexingFieldsNeverTouchTheTable()
    {
        var encoder = new HpackEncoder { UseHuffman = false };
        Assert.Equal("00" + "03782d61" + "0131", EncodeHex(encoder, new Field("x-a", "1", HpackIndexing.WithoutIndexing)));
        Assert.Equal("00" + "03782d61" + "0131", EncodeHex(encoder, new Field("x-a", "1", HpackIndexing.WithoutIndexing)));
        Assert.Equal(0, encoder.DynamicTable.Count);

        // A table entry is still used for it: an exact match is indexed, a name match gives the name.
        EncodeHex(encoder, new Field("x-a", "1"));
        Assert.Equal("be", EncodeHex(encoder, new Field("x-a", "1", HpackIndexing.WithoutIndexing)));
        Assert.Equal("0f2f" + "0132", EncodeHex(encoder, new Field("x-a", "2", HpackIndexing.WithoutIndexing)));
        Assert.Equal(1, encoder.DynamicTable.Count);
    }

    [Fact]
    public void FieldsOverThreeQuartersOfTheTableAreNotIndexed()
    {
        var encoder = new HpackEncoder(256) { UseHuffman = false };
        Encode(encoder, []); // announces 256
        string fits = new('a', 192 - 32 - 3); // 3 + 157 + 32 = 192 = 3/4 of 256
        string tooBig = new('a', 193 - 32 - 3);
        byte[] first = Encode(encoder, [new Field("x-a", fits)]);
        Assert.Equal(0x40, first[0]);
        Assert.Equal(192, encoder.DynamicTable.Size);

        byte[] second = Encode(encoder, [new Field("x-b", tooBig)]);
        Assert.Equal(0x00, second[0]); // literal without indexing
        Assert.Equal([("x-a", fits)], Entries(encoder.DynamicTable));
    }

    [Fact]
    public void HuffmanOnlyWhenShorter()
    {
        var encoder = new HpackEncoder();
        Assert.Equal("04" + "8c" + "f1e3c2e5f23a6ba0ab90f4ff", EncodeHex(encoder, new Field(":path", "www.example.com", HpackIndexing.WithoutIndexing)));
        Assert.Equal("04" + "03333037", EncodeHex(encoder, new Field(":path", "307", HpackIndexing.WithoutIndexing))); // a tie: raw
        Assert.Equal("04" + "02" + "0001", EncodeHex(encoder, new Field(":path", "\u0000\u0001", HpackIndexing.WithoutIndexing))); // 13 + 23 bits: raw
        Assert.Equal("04" + "00", EncodeHex(encoder, new Field(":path", "", HpackIndexing.WithoutIndexing)));
    }

    [Fact]
    public void LongStringsGetMultiOctetLengths()
    {
        var encoder = new HpackEncoder();
        string value = string.Concat(Enumerable.Repeat("\u00ff", 200)); // 26 bits each: raw
        byte[] encoded = Encode(encoder, [new Field(":path", value, HpackIndexing.WithoutIndexing)]);
        Assert.Equal("04" + "7f49", ToHex(encoded.AsSpan(0, 3))); // 127 + 73
        Assert.Equal(3 + 200, encoded.Length);
        Assert.Equal([new Field(":path", value, HpackIndexing.WithoutIndexing)], Decode(new HpackDecoder(), encoded));
    }

    [Fact]
    public void NothingIsAnnouncedUntilTheSizeChanges()
    {
        var encoder = new HpackEncoder();
        Assert.Equal("82", EncodeHex(encoder, new Field(":method", "GET")));
        encoder.SetPeerMaxTableSize(4096);
        Assert.Equal("82", EncodeHex(encoder, new Field(":method", "GET"))); // same size: nothing to say
        encoder.SetPeerMaxTableSize(65_536);
        Assert.Equal("82", EncodeHex(encoder, new Field(":method", "GET"))); // more allowed, but this encoder keeps 4096
        Assert.Equal(4096, encoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void AShrinkIsAnnouncedAtTheStartOfTheNextBlock()
    {
        var encoder = new HpackEncoder();
        Encode(encoder, HpackRfcExamples.C3.Blocks[0].Fields);
        encoder.SetPeerMaxTableSize(0);
        Assert.Equal(1, encoder.DynamicTable.Count); // not before the block that announces it
        Assert.Equal("20" + "82", EncodeHex(encoder, new Field(":method", "GET")));
        Assert.Equal(0, encoder.DynamicTable.Count);
        Assert.Equal(0, encoder.DynamicTable.MaxSize);

        // With no table, incremental fields go as literals without indexing.
        encoder.UseHuffman = false;
        Assert.Equal("00" + "03782d61" + "0131", EncodeHex(encoder, new Field("x-a", "1")));
    }

    [Fact]
    public void AShrinkThenAGrowthAnnouncesTheSmallestThenTheFinalSize()
    {
        var encoder = new HpackEncoder();
        Encode(encoder, HpackRfcExamples.C3.Blocks[0].Fields);
        encoder.SetPeerMaxTableSize(100);
        encoder.SetPeerMaxTableSize(50);
        encoder.SetPeerMaxTableSize(4096);
        Assert.Equal("3f13" + "3fe11f" + "82", EncodeHex(encoder, new Field(":method", "GET"))); // 50, then 4096
        Assert.Equal(0, encoder.DynamicTable.Count); // 50 evicted the 57-octet entry
        Assert.Equal(4096, encoder.DynamicTable.MaxSize);

        // Back to where it was: still both, so that a peer's decoder that shrank its table hears of it.
        encoder.SetPeerMaxTableSize(0);
        encoder.SetPeerMaxTableSize(4096);
        Assert.Equal("20" + "3fe11f", EncodeHex(encoder));
        Assert.Equal(string.Empty, EncodeHex(encoder)); // once
    }

    [Fact]
    public void ASmallerOwnMaximumIsAnnouncedInTheFirstBlock()
    {
        var encoder = new HpackEncoder(1024);
        Assert.Equal("3fe107" + "82", EncodeHex(encoder, new Field(":method", "GET")));
        Assert.Equal("82", EncodeHex(encoder, new Field(":method", "GET")));
        encoder.SetPeerMaxTableSize(2048);
        Assert.Equal(string.Empty, EncodeHex(encoder)); // min(2048, 1024) is what it has
        encoder.SetPeerMaxTableSize(512);
        Assert.Equal("3fe103", EncodeHex(encoder));
    }

    [Fact]
    public void TheDecoderFollowsEveryAnnouncement()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder(maxTableSize: 4096);
        int[] sizes = [1000, 0, 4096, 300, 200, 4096, 57, 4096];
        foreach (int size in sizes)
        {
            encoder.SetPeerMaxTableSize(size);
            decoder.SetMaxTableSize(size);
            Field[] fields = [.. HpackRfcExamples.C3.Blocks[0].Fields, new Field("x-size", size.ToString(System.Globalization.CultureInfo.InvariantCulture))];
            List<Field> decoded = Decode(decoder, Encode(encoder, fields));

            // Names and values; the indexing depends on whether the table was large enough to index.
            Assert.Equal(fields.Select(f => (f.Name, f.Value)), decoded.Select(f => (f.Name, f.Value)));
            AssertSameTable(encoder.DynamicTable, decoder.DynamicTable);
        }
    }

    [Fact]
    public void WritesThroughSmallBufferWriterSegments()
    {
        // An IBufferWriter handing out the minimum each time still gets whole integers and strings.
        var output = new TinyBufferWriter();
        var encoder = new HpackEncoder();
        encoder.SetPeerMaxTableSize(1000);
        encoder.BeginHeaderBlock(output);
        Field[] fields = [new(":authority", "www.example.com"), new("x-long", new string('q', 1000), HpackIndexing.WithoutIndexing), new("cookie", "c", HpackIndexing.NeverIndexed)];
        foreach (Field field in fields)
        {
            encoder.EncodeHeader(Bytes(field.Name), Bytes(field.Value), field.Indexing, output);
        }

        Assert.Equal(fields, Decode(new HpackDecoder(), output.ToArray()));
    }

    [Fact]
    public void EncodingDoesNotAllocatePerField()
    {
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        byte[][] names = [.. Enumerable.Range(0, 20).Select(i => Bytes("x-header-" + i))];
        byte[][] values = [.. Enumerable.Range(0, 20).Select(i => Bytes("value number " + i))];
        byte[][] rotating = [.. Enumerable.Range(0, 100).Select(i => Bytes("a value that changes every block, this is number " + i))];
        int round = 0;
        void EncodeAll()
        {
            output.ResetWrittenCount();
            encoder.BeginHeaderBlock(output);
            encoder.EncodeHeader(":method"u8, "GET"u8, HpackIndexing.Incremental, output);
            encoder.EncodeHeader(":path"u8, "/some/path?q=1"u8, HpackIndexing.WithoutIndexing, output);
            encoder.EncodeHeader("authorization"u8, "Bearer abc"u8, HpackIndexing.NeverIndexed, output);
            for (int i = 0; i < names.Length; i++)
            {
                encoder.EncodeHeader(names[i], values[i], HpackIndexing.Incremental, output);
            }

            // A new entry per block: 100 of them do not fit in 4096 octets, so the table keeps evicting.
            encoder.EncodeHeader("x-rotating"u8, rotating[round++ % rotating.Length], HpackIndexing.Incremental, output);
        }

        for (int i = 0; i < 300; i++)
        {
            EncodeAll(); // warm up: the table's ring, entries and hash buckets reach their size
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            EncodeAll();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 24,000 fields");
    }

    [Fact]
    public void RejectsNegativeSizes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HpackEncoder(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HpackEncoder().SetPeerMaxTableSize(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HpackDecoder(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HpackDecoder().SetMaxTableSize(-1));
    }

    /// <summary>Hands out exactly the size hint (or 1), like a writer over small pooled segments.</summary>
    private sealed class TinyBufferWriter : IBufferWriter<byte>
    {
        private readonly List<byte> _written = [];
        private byte[] _current = [];

        public void Advance(int count) => _written.AddRange(_current.AsSpan(0, count));

        public Memory<byte> GetMemory(int sizeHint = 0) => _current = new byte[Math.Max(1, sizeHint)];

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public byte[] ToArray() => [.. _written];
    }
}
