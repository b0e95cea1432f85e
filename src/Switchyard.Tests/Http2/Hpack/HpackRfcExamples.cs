using Switchyard.Http2.Hpack;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>
/// One header block of RFC 7541 Appendix C: its bytes field by field (as in the RFC's "decoding process"), the
/// whole hex dump as printed (to catch transcription slips), the decoded list, and the dynamic table afterwards.
/// </summary>
public sealed record RfcBlock(string Section, string[] FieldHex, string Dump, Field[] Fields, (string Name, string Value)[] Table, int TableSize)
{
    public byte[] Bytes => HpackBytes.Hex(string.Concat(FieldHex));

    /// <summary>Offsets at which a field ends (0 and the block length included).</summary>
    public IReadOnlyList<int> Boundaries
    {
        get
        {
            var boundaries = new List<int> { 0 };
            int at = 0;
            foreach (string hex in FieldHex)
            {
                at += HpackBytes.Hex(hex).Length;
                boundaries.Add(at);
            }

            return boundaries;
        }
    }

    public override string ToString() => Section;
}

/// <summary>A sequence of blocks on one connection, decoded with a table of <paramref name="TableSize"/>.</summary>
public sealed record RfcExample(string Section, int TableSize, bool Huffman, RfcBlock[] Blocks)
{
    public override string ToString() => Section;
}

/// <summary>RFC 7541 Appendix C.2 - C.6, transcribed from the RFC.</summary>
internal static class HpackRfcExamples
{
    private const string Date21 = "Mon, 21 Oct 2013 20:13:21 GMT";
    private const string Date22 = "Mon, 21 Oct 2013 20:13:22 GMT";
    private const string Location = "https://www.example.com";
    private const string Cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

    public static readonly RfcExample C21 = new("C.2.1", 4096, false,
    [
        new("C.2.1", ["400a637573746f6d2d6b65790d637573746f6d2d686561646572"],
            "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
            [new("custom-key", "custom-header")],
            [("custom-key", "custom-header")], 55),
    ]);

    public static readonly RfcExample C22 = new("C.2.2", 4096, false,
    [
        new("C.2.2", ["040c2f73616d706c652f70617468"],
            "040c 2f73 616d 706c 652f 7061 7468",
            [new(":path", "/sample/path", HpackIndexing.WithoutIndexing)],
            [], 0),
    ]);

    public static readonly RfcExample C23 = new("C.2.3", 4096, false,
    [
        new("C.2.3", ["100870617373776f726406736563726574"],
            "1008 7061 7373 776f 7264 0673 6563 7265 74",
            [new("password", "secret", HpackIndexing.NeverIndexed)],
            [], 0),
    ]);

    public static readonly RfcExample C24 = new("C.2.4", 4096, false,
    [
        new("C.2.4", ["82"], "82", [new(":method", "GET")], [], 0),
    ]);

    private static readonly Field[] Request1 = [new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new(":authority", "www.example.com")];
    private static readonly Field[] Request2 = [.. Request1, new("cache-control", "no-cache")];
    private static readonly Field[] Request3 = [new(":method", "GET"), new(":scheme", "https"), new(":path", "/index.html"), new(":authority", "www.example.com"), new("custom-key", "custom-value")];

    private static readonly (string, string)[] RequestTable1 = [(":authority", "www.example.com")];
    private static readonly (string, string)[] RequestTable2 = [("cache-control", "no-cache"), (":authority", "www.example.com")];
    private static readonly (string, string)[] RequestTable3 = [("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")];

    public static readonly RfcExample C3 = new("C.3", 4096, false,
    [
        new("C.3.1", ["82", "86", "84", "410f7777772e6578616d706c652e636f6d"],
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            Request1, RequestTable1, 57),
        new("C.3.2", ["82", "86", "84", "be", "58086e6f2d6361636865"],
            "8286 84be 5808 6e6f 2d63 6163 6865",
            Request2, RequestTable2, 110),
        new("C.3.3", ["82", "87", "85", "bf", "400a637573746f6d2d6b65790c637573746f6d2d76616c7565"],
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
            Request3, RequestTable3, 164),
    ]);

    public static readonly RfcExample C4 = new("C.4", 4096, true,
    [
        new("C.4.1", ["82", "86", "84", "418cf1e3c2e5f23a6ba0ab90f4ff"],
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            Request1, RequestTable1, 57),
        new("C.4.2", ["82", "86", "84", "be", "5886a8eb10649cbf"],
            "8286 84be 5886 a8eb 1064 9cbf",
            Request2, RequestTable2, 110),
        new("C.4.3", ["82", "87", "85", "bf", "408825a849e95ba97d7f8925a849e95bb8e8b4bf"],
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            Request3, RequestTable3, 164),
    ]);

    private static readonly Field[] Response1 = [new(":status", "302"), new("cache-control", "private"), new("date", Date21), new("location", Location)];
    private static readonly Field[] Response2 = [new(":status", "307"), new("cache-control", "private"), new("date", Date21), new("location", Location)];
    private static readonly Field[] Response3 =
    [
        new(":status", "200"), new("cache-control", "private"), new("date", Date22), new("location", Location),
        new("content-encoding", "gzip"), new("set-cookie", Cookie),
    ];

    private static readonly (string, string)[] ResponseTable1 = [("location", Location), ("date", Date21), ("cache-control", "private"), (":status", "302")];
    private static readonly (string, string)[] ResponseTable2 = [(":status", "307"), ("location", Location), ("date", Date21), ("cache-control", "private")];
    private static readonly (string, string)[] ResponseTable3 = [("set-cookie", Cookie), ("content-encoding", "gzip"), ("date", Date22)];

    public static readonly RfcExample C5 = new("C.5", 256, false,
    [
        new("C.5.1",
            [
                "4803333032", "580770726976617465", "611d4d6f6e2c203231204f637420323031332032303a31333a323120474d54",
                "6e1768747470733a2f2f7777772e6578616d706c652e636f6d",
            ],
            """
            4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
            2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
            6c65 2e63 6f6d
            """,
            Response1, ResponseTable1, 222),
        new("C.5.2", ["4803333037", "c1", "c0", "bf"],
            "4803 3330 37c1 c0bf",
            Response2, ResponseTable2, 222),
        new("C.5.3",
            [
                "88", "c1", "611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54", "c0", "5a04677a6970",
                "7738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
            ],
            """
            88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
            54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
            5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
            3d31
            """,
            Response3, ResponseTable3, 215),
    ]);

    public static readonly RfcExample C6 = new("C.6", 256, true,
    [
        new("C.6.1",
            ["48826402", "5885aec3771a4b", "6196d07abe941054d444a8200595040b8166e082a62d1bff", "6e919d29ad171863c78f0b97c8e9ae82ae43d3"],
            """
            4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3
            """,
            Response1, ResponseTable1, 222),
        new("C.6.2", ["4883640eff", "c1", "c0", "bf"],
            "4883 640e ffc1 c0bf",
            Response2, ResponseTable2, 222),
        new("C.6.3",
            [
                "88", "c1", "6196d07abe941054d444a8200595040b8166e084a62d1bff", "c0", "5a839bd9ab",
                "77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
            ],
            """
            88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
            9587 3160 65c0 03ed 4ee5 b106 3d50 07
            """,
            Response3, ResponseTable3, 215),
    ]);

    public static readonly RfcExample[] All = [C21, C22, C23, C24, C3, C4, C5, C6];

    public static RfcExample Get(string section) => Array.Find(All, e => e.Section == section) ?? throw new ArgumentException(section);

    /// <summary>The examples by section (theory data are plain strings, so every case shows up on its own).</summary>
    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (RfcExample example in All)
        {
            data.Add(example.Section);
        }

        return data;
    }

    /// <summary>Every block: the example's section and the block's position in it.</summary>
    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (RfcExample example in All)
        {
            for (int i = 0; i < example.Blocks.Length; i++)
            {
                data.Add(example.Section, i);
            }
        }

        return data;
    }

    /// <summary>A decoder that has decoded the blocks of <paramref name="example"/> before block <paramref name="index"/>.</summary>
    public static HpackDecoder DecoderBefore(RfcExample example, int index)
    {
        var decoder = new HpackDecoder(example.TableSize);
        for (int i = 0; i < index; i++)
        {
            HpackBytes.Decode(decoder, example.Blocks[i].Bytes);
        }

        return decoder;
    }
}
