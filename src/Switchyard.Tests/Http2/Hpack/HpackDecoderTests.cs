using System.Buffers;
using Bogus;
using Switchyard.Http2.Hpack;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Http2.Hpack.HpackBytes;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>
/// <see cref="HpackDecoder"/> beyond the RFC examples: every representation and how it is reported, bad indexes,
/// dynamic table size updates (placement, limits, the update owed after SETTINGS_HEADER_TABLE_SIZE went down),
/// string limits, the header list limit and the HPACK bomb, multi-segment blocks and allocation.
/// </summary>
public sealed class HpackDecoderTests
{
    private static HpackDecodingException Malformed(HpackDecoder decoder, string hex) =>
        Assert.Throws<HpackDecodingException>(() => decoder.Decode(Hex(hex), new RecordingSink()));

    /// <summary>A raw (not Huffman-coded) string literal, in hex.</summary>
    private static string Literal(string text)
    {
        byte[] length = new byte[HpackInteger.MaxLength];
        int n = HpackInteger.Write(length, 0x00, 7, text.Length);
        return ToHex(length.AsSpan(0, n)) + ToHex(Bytes(text));
    }

    [Fact]
    public void ReportsEachRepresentationWithItsIndexing()
    {
        var decoder = new HpackDecoder();
        List<Field> fields = Decode(decoder, Hex(
            "82" // indexed, static
            + "40" + Literal("x-a") + Literal("1") // literal with incremental indexing, new name
            + "be" // indexed, dynamic
            + "04" + Literal("/p") // without indexing, static name
            + "0f2f" + Literal("2") // without indexing, dynamic name 62 (15 + 47)
            + "00" + Literal("x-b") + Literal("3") // without indexing, new name
            + "17" + Literal("secret") // never indexed, static name 7 (:scheme)
            + "1f2f" + Literal("4") // never indexed, dynamic name 62
            + "10" + Literal("x-c") + Literal("5") // never indexed, new name
            + "7e" + Literal("6"))); // incremental, dynamic name 62
        Assert.Equal(
            [
                new(":method", "GET"), new("x-a", "1"), new("x-a", "1"),
                new(":path", "/p", HpackIndexing.WithoutIndexing), new("x-a", "2", HpackIndexing.WithoutIndexing), new("x-b", "3", HpackIndexing.WithoutIndexing),
                new(":scheme", "secret", HpackIndexing.NeverIndexed), new("x-a", "4", HpackIndexing.NeverIndexed), new("x-c", "5", HpackIndexing.NeverIndexed),
                new("x-a", "6"),
            ],
            fields);
        Assert.Equal([("x-a", "6"), ("x-a", "1")], Entries(decoder.DynamicTable)); // only the incremental literals went in
    }

    [Fact]
    public void EveryStaticEntryDecodes()
    {
        var decoder = new HpackDecoder();
        var block = new List<byte>();
        for (int index = 1; index <= 61; index++)
        {
            block.Add((byte)(0x80 | index));
        }

        List<Field> fields = Decode(decoder, [.. block]);
        Assert.Equal(61, fields.Count);
        Assert.Equal(new Field(":authority", ""), fields[0]);
        Assert.Equal(new Field(":method", "POST"), fields[2]);
        Assert.Equal(new Field("accept-encoding", "gzip, deflate"), fields[15]);
        Assert.Equal(new Field("www-authenticate", ""), fields[60]);
        Assert.Empty(Entries(decoder.DynamicTable));
    }

    [Theory]
    [InlineData("80", "indexed field 0")]
    [InlineData("be", "indexed 62, empty table")]
    [InlineData("ff808080807f", "indexed far beyond the tables")]
    [InlineData("ffffffff07", "indexed 2^24 + 126")]
    [InlineData("7e0161", "incremental literal with dynamic name 62, empty table")]
    [InlineData("0f2f0161", "literal without indexing, name 62, empty table")]
    [InlineData("1f2f0161", "never-indexed literal, name 62, empty table")]
    public void RejectsBadIndexes(string hex, string because)
    {
        Malformed(new HpackDecoder(), hex);
        _ = because;
    }

    [Fact]
    public void IndexesTheLastDynamicEntryButNotOneBeyond()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, Hex("40" + Literal("x-1") + Literal("a") + "40" + Literal("x-2") + Literal("b")));
        Assert.Equal([new("x-2", "b"), new("x-1", "a")], Decode(decoder, Hex("bebf")));
        Malformed(decoder, "c0");
        Assert.Equal(2, decoder.DynamicTable.Count);
    }

    [Fact]
    public void TableSizeUpdatesAtTheStartOfABlockAreApplied()
    {
        HpackDecoder decoder = HpackRfcExamples.DecoderBefore(HpackRfcExamples.C3, 3); // 164 octets in three entries

        // Several updates before the first field: 0 (empties the table), then 4096.
        Decode(decoder, Hex("20" + "3fe11f" + "82"));
        Assert.Equal(0, decoder.DynamicTable.Count);
        Assert.Equal(4096, decoder.DynamicTable.MaxSize);

        // An update below the current size evicts the oldest entries.
        HpackDecoder refill = HpackRfcExamples.DecoderBefore(HpackRfcExamples.C3, 3);
        Decode(refill, Hex("3f5b")); // 31 + 91 = 122: room for the two newest entries (54 + 53)
        Assert.Equal([("custom-key", "custom-value"), ("cache-control", "no-cache")], Entries(refill.DynamicTable));
        Assert.Equal(107, refill.DynamicTable.Size);
        Assert.Equal(122, refill.DynamicTable.MaxSize);
    }

    [Fact]
    public void ATableSizeUpdateAfterAFieldIsAnError()
    {
        HpackDecodingException e = Malformed(new HpackDecoder(), "82" + "20");
        Assert.Contains("after the first field", e.Message, StringComparison.Ordinal);
        Malformed(new HpackDecoder(), "20" + "82" + "3fe11f");
    }

    [Fact]
    public void ATableSizeUpdateAboveTheAdvertisedMaximumIsAnError()
    {
        Decode(new HpackDecoder(), Hex("3fe11f")); // 4096: exactly the maximum
        HpackDecodingException e = Malformed(new HpackDecoder(), "3fe21f"); // 4097
        Assert.Contains("4097", e.Message, StringComparison.Ordinal);
        Malformed(new HpackDecoder(maxTableSize: 100), "3f46"); // 101
        Decode(new HpackDecoder(maxTableSize: 100), Hex("3f45")); // 100
        Malformed(new HpackDecoder(maxTableSize: 0), "21");
    }

    [Fact]
    public void AfterTheAdvertisedSizeWentDownTheNextBlockMustStartWithAnUpdate()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, HpackRfcExamples.C3.Blocks[0].Bytes);
        decoder.SetMaxTableSize(1024);
        HpackDecodingException e = Malformed(decoder, "82");
        Assert.Contains("size update", e.Message, StringComparison.Ordinal);

        decoder = new HpackDecoder();
        decoder.SetMaxTableSize(1024);
        Malformed(decoder, "3fe21f82"); // 4097: above even the old maximum
        Malformed(decoder, "3fe20782"); // 1025: above the new maximum
        Assert.Empty(Decode(decoder, [])); // an empty block decodes nothing: the update is still owed
        Malformed(decoder, "82");
        Assert.Equal([new(":method", "GET")], Decode(decoder, Hex("3fe107" + "82"))); // 1024
    }

    [Fact]
    public void AnUpdateToTheNewMaximumOrBelowSatisfiesTheOwedUpdate()
    {
        var decoder = new HpackDecoder();
        decoder.SetMaxTableSize(1024);
        Assert.Equal([new(":method", "GET")], Decode(decoder, Hex("3fe107" + "82"))); // 31 + 0x61 + 7 * 128 = 1024
        Assert.Equal(1024, decoder.DynamicTable.MaxSize);
        Assert.Equal([new(":method", "GET")], Decode(decoder, Hex("82"))); // owed once only

        decoder.SetMaxTableSize(100);
        Decode(decoder, Hex("20")); // a block of updates only settles it too
        Decode(decoder, Hex("82"));
    }

    [Fact]
    public void RaisingTheAdvertisedSizeOwesNothingAndAllowsLargerUpdates()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, HpackRfcExamples.C3.Blocks[0].Bytes);
        decoder.SetMaxTableSize(8192);
        Assert.Equal([new(":authority", "www.example.com")], Decode(decoder, Hex("be")));
        Assert.Equal(4096, decoder.DynamicTable.MaxSize); // until the peer says otherwise
        Decode(decoder, Hex("3fe13f")); // 8192
        Assert.Equal(8192, decoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void LoweringTheAdvertisedSizeBelowWhatThePeerAlreadyUsesOwesNothing()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, Hex("3f45")); // the peer's encoder chose 100 on its own
        decoder.SetMaxTableSize(1024);
        Decode(decoder, Hex("82"));
    }

    [Fact]
    public void ANewEntryMayNameTheEntryItEvicts()
    {
        // RFC 7541 4.4: the referenced name must survive the eviction of its entry.
        var decoder = new HpackDecoder(maxTableSize: 80);
        Decode(decoder, Hex("40" + Literal("custom-name") + Literal("a"))); // 11 + 1 + 32 = 44
        Assert.Equal([new("custom-name", "bb")], Decode(decoder, Hex("7e" + Literal("bb")))); // 45: 44 + 45 > 80
        Assert.Equal([("custom-name", "bb")], Entries(decoder.DynamicTable));
        Assert.Equal(45, decoder.DynamicTable.Size);
    }

    [Fact]
    public void AnEntryLargerThanTheTableEmptiesItButIsStillDelivered()
    {
        var decoder = new HpackDecoder(maxTableSize: 256);
        Decode(decoder, HpackRfcExamples.C5.Blocks[0].Bytes);
        string big = new('v', 300);
        Assert.Equal([new("x-big", big)], Decode(decoder, Hex("40" + Literal("x-big") + Literal(big))));
        Assert.Empty(Entries(decoder.DynamicTable));
        Assert.Equal(0, decoder.DynamicTable.Size);
        Malformed(decoder, "be");
    }

    [Fact]
    public void TruncatedStringsAreErrors()
    {
        Malformed(new HpackDecoder(), "40"); // name missing
        Malformed(new HpackDecoder(), "40" + "03" + "7861"); // name shorter than announced
        Malformed(new HpackDecoder(), "40" + Literal("x-a")); // value missing
        Malformed(new HpackDecoder(), "04" + "05" + "2f"); // value shorter than announced
        Malformed(new HpackDecoder(), "04" + "7f"); // value length truncated
        Malformed(new HpackDecoder(), "04" + "7fffffffff07"); // value length of 2^31 + 126
        Malformed(new HpackDecoder(), "04" + "7f80ffffff07" + "00"); // about 2^31: far beyond the block
    }

    [Fact]
    public void RawStringsUpToTheLimitAreAccepted()
    {
        var decoder = new HpackDecoder(maxStringLength: 10);
        Assert.Equal([new("x-0123456", "0123456789", HpackIndexing.WithoutIndexing)], Decode(decoder, Hex("00" + Literal("x-0123456") + Literal("0123456789"))));
        HpackDecodingException e = Malformed(decoder, "00" + Literal("x-a") + Literal("0123456789a"));
        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
        Malformed(decoder, "00" + Literal("x-0123456789") + Literal("a")); // names too
    }

    [Fact]
    public void HuffmanStringsAreLimitedAfterDecoding()
    {
        // "www.example.com": 12 octets on the wire, 15 decoded.
        string field = "04" + "8c" + "f1e3c2e5f23a6ba0ab90f4ff";
        Assert.Equal([new(":path", "www.example.com", HpackIndexing.WithoutIndexing)], Decode(new HpackDecoder(maxStringLength: 15), Hex(field)));
        HpackDecodingException e = Malformed(new HpackDecoder(maxStringLength: 14), field);
        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
        Malformed(new HpackDecoder(maxStringLength: 0), field);
        Decode(new HpackDecoder(maxStringLength: 0), Hex("04" + "80")); // an empty Huffman string is fine
    }

    [Fact]
    public void MalformedHuffmanInAFieldIsAnError()
    {
        Malformed(new HpackDecoder(), "04" + "84" + "ffffffff"); // EOS
        Malformed(new HpackDecoder(), "04" + "81" + "ff"); // 8 bits of padding
        Malformed(new HpackDecoder(), "04" + "81" + "18"); // zero padding
        Malformed(new HpackDecoder(), "40" + "81" + "ff" + "00"); // in a name
    }

    [Fact]
    public void AListUpToTheLimitIsOkAndOneOctetMoreIsTooLarge()
    {
        // Each ":method: GET" counts 7 + 3 + 32 = 42.
        var sink = new RecordingSink();
        Assert.Equal(HpackDecodeResult.Ok, new HpackDecoder(maxHeaderListSize: 84).Decode(Hex("8282"), sink));
        Assert.Equal(2, sink.Fields.Count);

        sink = new RecordingSink();
        Assert.Equal(HpackDecodeResult.HeaderListTooLarge, new HpackDecoder(maxHeaderListSize: 83).Decode(Hex("8282"), sink));
        Assert.Single(sink.Fields);

        sink = new RecordingSink();
        Assert.Equal(HpackDecodeResult.HeaderListTooLarge, new HpackDecoder(maxHeaderListSize: 0).Decode(Hex("82"), sink));
        Assert.Empty(sink.Fields);
    }

    [Fact]
    public void AnHpackBombIsDecodedWithoutDeliveringAndTheNextBlockStillDecodes()
    {
        // One 4038-octet entry, then 10,000 one-octet references to it: 40 MB of header list from 14 KB.
        string value = new('b', 4000);
        byte[] bomb = Hex("40" + Literal("x-bomb") + Literal(value) + string.Concat(Enumerable.Repeat("be", 10_000)));
        var decoder = new HpackDecoder(maxHeaderListSize: 65_536);
        var sink = new CountingSink();
        Assert.Equal(HpackDecodeResult.HeaderListTooLarge, decoder.Decode(bomb, sink));
        Assert.Equal(65_536 / (6 + 4000 + 32), sink.Count); // the fields before the limit, then nothing
        Assert.Equal([("x-bomb", value)], Entries(decoder.DynamicTable));

        // The table stayed in step: the next block can use it (and fits).
        Assert.Equal([new(":method", "GET"), new("x-bomb", value)], Decode(decoder, Hex("82be")));
    }

    [Fact]
    public void FieldsPastTheLimitStillGoIntoTheTable()
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 100);
        var sink = new RecordingSink();
        byte[] block = Hex("8282" + "40" + Literal("x-late") + Literal("v") + "04" + Literal("/x"));
        Assert.Equal(HpackDecodeResult.HeaderListTooLarge, decoder.Decode(block, sink));
        Assert.Equal([new(":method", "GET"), new(":method", "GET")], sink.Fields);
        Assert.Equal([("x-late", "v")], Entries(decoder.DynamicTable));
        Assert.Equal([new("x-late", "v")], Decode(decoder, Hex("be")));
    }

    [Fact]
    public void TooLargeIsPerBlock()
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 50);
        Assert.Equal(HpackDecodeResult.HeaderListTooLarge, decoder.Decode(Hex("8282"), new RecordingSink()));
        Assert.Equal([new(":method", "GET")], Decode(decoder, Hex("82")));
    }

    [Fact]
    public void AnEmptyBlockDecodesToNothing()
    {
        Assert.Empty(Decode(new HpackDecoder(), []));
        Assert.Empty(Decode(new HpackDecoder(), ReadOnlySequence<byte>.Empty));
    }

    [Fact]
    public void ARandomBlockInRandomSegmentsDecodesAsAWhole()
    {
        var random = new Randomizer(11);
        for (int round = 0; round < 50; round++)
        {
            var encoder = new HpackEncoder();
            var fields = new List<Field>();
            int count = random.Int(1, 40);
            for (int i = 0; i < count; i++)
            {
                fields.Add(new Field("x-" + random.AlphaNumeric(random.Int(1, 10)), Text(random.Bytes(random.Int(0, 100))), random.Enum<HpackIndexing>()));
            }

            byte[] block = Encode(encoder, fields);
            var chunks = new List<byte[]>();
            for (int at = 0; at < block.Length;)
            {
                int size = Math.Min(random.Int(0, 30), block.Length - at);
                chunks.Add(block[at..(at + size)]);
                at += size;
            }

            var whole = new HpackDecoder();
            var cut = new HpackDecoder();
            Assert.Equal(Decode(whole, block), Decode(cut, Segments.Of([.. chunks])));
            AssertSameTable(whole.DynamicTable, cut.DynamicTable);
        }
    }

    [Fact]
    public void RandomBytesOnlyEverThrowTheDecodingException()
    {
        var random = new Randomizer(12);
        for (int i = 0; i < 20_000; i++)
        {
            var decoder = new HpackDecoder(maxTableSize: random.Int(0, 4096), maxHeaderListSize: random.Int(0, 10_000), maxStringLength: random.Int(0, 1000));
            try
            {
                decoder.Decode(random.Bytes(random.Int(0, 64)), new CountingSink());
            }
            catch (HpackDecodingException)
            {
                // malformed
            }

            Assert.True(decoder.DynamicTable.Size <= decoder.DynamicTable.MaxSize);
        }
    }

    [Fact]
    public void ASinkMaySeeSpansIntoTheTableTheBlockAndTheHuffmanBuffer()
    {
        // Indexed dynamic field, raw literal and Huffman literal in one block: each delivered intact even though
        // the spans point into three different places.
        var decoder = new HpackDecoder();
        Decode(decoder, HpackRfcExamples.C4.Blocks[0].Bytes);
        List<Field> fields = Decode(decoder, Hex("be" + "00" + Literal("x-raw") + Literal("raw") + HpackRfcExamples.C4.Blocks[2].FieldHex[4]));
        Assert.Equal([new(":authority", "www.example.com"), new("x-raw", "raw", HpackIndexing.WithoutIndexing), new("custom-key", "custom-value")], fields);
    }

    [Fact]
    public void DecodingDoesNotAllocatePerField()
    {
        var decoder = new HpackDecoder();
        var sink = new CountingSink();
        byte[][] blocks = [.. HpackRfcExamples.C4.Blocks.Select(b => b.Bytes)];
        byte[] rest = Hex("be" + string.Concat(HpackRfcExamples.C4.Blocks[2].FieldHex[..4]));
        foreach (byte[] block in blocks)
        {
            decoder.Decode(block, sink);
        }

        for (int i = 0; i < 500; i++)
        {
            // Warm up: the table fills (its ring grows to twice the maximum size, then stays), the pool has buffers.
            decoder.Decode(blocks[2], sink);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 2000; i++)
        {
            decoder.Decode(blocks[2], sink); // one Huffman literal with incremental indexing each time
            decoder.Decode(rest, sink);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 20,000 fields");
    }
}
