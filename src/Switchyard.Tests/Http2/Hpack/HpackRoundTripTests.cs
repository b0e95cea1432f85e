using System.Buffers;
using Bogus;
using Switchyard.Http2.Hpack;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Http2.Hpack.HpackBytes;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>
/// Encoder to decoder over many blocks on one connection, with seeded random header lists (realistic and binary),
/// random indexing and random changes of SETTINGS_HEADER_TABLE_SIZE in between: every list arrives intact, in order,
/// never-indexed fields arrive never-indexed and never enter a table, and both tables stay identical.
/// </summary>
public sealed class HpackRoundTripTests
{
    private const string SecretMarker = "secret\u0001";

    private static readonly string[] Names =
    [
        ":authority", ":method", ":path", ":scheme", ":status", "accept", "accept-encoding", "authorization", "cache-control",
        "content-length", "content-type", "cookie", "date", "etag", "location", "server", "set-cookie", "user-agent", "via",
        "x-request-id", "x-forwarded-for", "grpc-status", "grpc-message", "te", "x-custom",
    ];

    private static Field RandomField(Faker faker)
    {
        Randomizer random = faker.Random;
        string name = random.Int(0, 9) switch
        {
            0 => "x-" + random.AlphaNumeric(random.Int(1, 20)).ToLowerInvariant(),
            1 => Text(random.Bytes(random.Int(0, 12))), // HPACK carries any octets; HTTP/2 rules are not its business
            _ => random.ArrayElement(Names),
        };
        string value = random.Int(0, 9) switch
        {
            0 => string.Empty,
            1 => Text(random.Bytes(random.Int(1, 300))),
            2 => faker.Internet.UserAgent(),
            3 => faker.Internet.UrlWithPath(),
            4 => random.ArrayElement(["GET", "POST", "200", "404", "https", "/", "gzip, deflate", "no-cache"]),
            5 => new string('z', random.Int(1000, 5000)), // larger than 3/4 of a small table, sometimes of any
            _ => random.AlphaNumeric(random.Int(1, 40)),
        };
        HpackIndexing indexing = random.WeightedRandom(
            [HpackIndexing.Incremental, HpackIndexing.WithoutIndexing, HpackIndexing.NeverIndexed],
            [0.7f, 0.15f, 0.15f]);
        if (indexing == HpackIndexing.NeverIndexed)
        {
            value = SecretMarker + value;
        }

        return new Field(name, value, indexing);
    }

    private static void AssertSameList(List<Field> sent, List<Field> received)
    {
        Assert.Equal(sent.Count, received.Count);
        for (int i = 0; i < sent.Count; i++)
        {
            Assert.Equal(sent[i].Name, received[i].Name);
            Assert.Equal(sent[i].Value, received[i].Value);
            if (sent[i].Indexing == HpackIndexing.NeverIndexed)
            {
                Assert.Equal(HpackIndexing.NeverIndexed, received[i].Indexing);
            }
            else
            {
                // An indexed field reads as incremental; a field too large to index goes without indexing.
                Assert.NotEqual(HpackIndexing.NeverIndexed, received[i].Indexing);
            }
        }
    }

    private static void AssertNoSecretIn(HpackDynamicTable table)
    {
        foreach ((string _, string value) in Entries(table))
        {
            Assert.False(value.StartsWith(SecretMarker, StringComparison.Ordinal), "a never-indexed value entered the dynamic table");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void RandomListsOverManyBlocksWithTableSizeChanges(int seed)
    {
        var faker = new Faker { Random = new Randomizer(seed) };
        Randomizer random = faker.Random;
        int cap = random.ArrayElement([4096, 4096, 1024, 16_384, 256]);
        var encoder = new HpackEncoder(maxTableSize: cap);
        var decoder = new HpackDecoder(maxTableSize: 4096, maxHeaderListSize: int.MaxValue);
        int advertised = 4096;
        var history = new List<Field>();
        for (int block = 0; block < 300; block++)
        {
            if (random.Int(0, 9) == 0)
            {
                // One or more SETTINGS changes between two blocks; the decoder's side learns of it at the ACK.
                int changes = random.Int(1, 3);
                for (int i = 0; i < changes; i++)
                {
                    advertised = random.ArrayElement([0, 31, 32, 64, 100, 256, 1000, 4096, 8192, 65_536]);
                    encoder.SetPeerMaxTableSize(advertised);
                    decoder.SetMaxTableSize(advertised);
                }
            }

            var fields = new List<Field>();
            int count = random.Int(0, 30);
            for (int i = 0; i < count; i++)
            {
                // Repeats (exact matches, table hits) as often as new fields.
                fields.Add(history.Count > 0 && random.Bool() ? random.ListItem(history) : RandomField(faker));
            }

            history.AddRange(fields);
            if (history.Count > 200)
            {
                history.RemoveRange(0, history.Count - 200);
            }

            byte[] encoded = Encode(encoder, fields);
            List<Field> received = random.Bool()
                ? Decode(decoder, encoded)
                : Decode(decoder, Segments.Split(encoded, random.Int(1, Math.Max(1, encoded.Length))));
            AssertSameList(fields, received);
            AssertSameTable(encoder.DynamicTable, decoder.DynamicTable);
            AssertNoSecretIn(encoder.DynamicTable);
            Assert.Equal(Math.Min(advertised, cap), decoder.DynamicTable.MaxSize);
        }
    }

    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    public void RepeatedRequestsCompressWell(int seed)
    {
        // A browser-like connection: the same dozen fields with a changing path. After the first request each
        // repeated field is one octet.
        var faker = new Faker { Random = new Randomizer(seed) };
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        Field[] common =
        [
            new(":method", "GET"), new(":scheme", "https"), new(":authority", faker.Internet.DomainName()),
            new("user-agent", faker.Internet.UserAgent()), new("accept", "text/html,application/xhtml+xml"),
            new("accept-encoding", "gzip, deflate"), new("accept-language", "en-US,en;q=0.9"),
            new("cookie", "session=" + faker.Random.AlphaNumeric(32), HpackIndexing.NeverIndexed),
        ];
        int firstSize = 0;
        for (int request = 0; request < 50; request++)
        {
            List<Field> fields = [.. common, new(":path", "/" + faker.Random.AlphaNumeric(10), HpackIndexing.WithoutIndexing)];
            byte[] encoded = Encode(encoder, fields);
            Assert.Equal(fields, Decode(decoder, encoded));
            if (request == 0)
            {
                firstSize = encoded.Length;
            }
            else
            {
                Assert.True(encoded.Length < firstSize / 2, $"request {request}: {encoded.Length} octets vs {firstSize} for the first");
            }
        }
    }

    [Fact]
    public void TheEncoderTableSurvivesHeavyChurn()
    {
        // Many entries of varied sizes through a small table: the ring wraps, compacts and evicts constantly.
        var random = new Randomizer(21);
        var encoder = new HpackEncoder(maxTableSize: 512);
        var decoder = new HpackDecoder();
        for (int block = 0; block < 2000; block++)
        {
            var fields = new List<Field>();
            for (int i = 0; i < 5; i++)
            {
                fields.Add(new Field("n" + random.Int(0, 30), new string((char)random.Int('a', 'z'), random.Int(0, 200))));
            }

            Assert.Equal(fields, Decode(decoder, Encode(encoder, fields)));
            AssertSameTable(encoder.DynamicTable, decoder.DynamicTable);
        }
    }

    [Fact]
    public void ARealisticResponseRoundTripsThroughAPipeLikeSequence()
    {
        var faker = new Faker { Random = new Randomizer(31) };
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        Field[] response =
        [
            new(":status", "200"), new("content-type", "application/grpc"), new("date", faker.Date.Recent().ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
            new("server", "switchyard"), new("set-cookie", "id=" + faker.Random.Hash(), HpackIndexing.NeverIndexed),
            new("x-trace", faker.Random.Hash(64)),
        ];
        var pipe = new ArrayBufferWriter<byte>();
        encoder.BeginHeaderBlock(pipe);
        foreach (Field field in response)
        {
            encoder.EncodeHeader(Bytes(field.Name), Bytes(field.Value), field.Indexing, pipe);
        }

        byte[] block = pipe.WrittenSpan.ToArray();
        Assert.Equal(response, Decode(decoder, Segments.Split(block, 7)));
    }
}
