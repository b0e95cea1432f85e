using Bogus;
using Switchyard.Http2.Hpack;
using static Switchyard.Tests.Http2.Hpack.HpackBytes;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>
/// The Huffman code (RFC 7541 5.2, Appendix B): the table is a complete canonical prefix code, the Appendix C
/// strings code to the RFC's bytes, random strings and every octet value round-trip, and EOS, over-long padding
/// and padding that is not all ones are rejected.
/// </summary>
public sealed class HpackHuffmanTests
{
    private static byte[] Encode(byte[] source)
    {
        byte[] destination = new byte[HpackHuffman.EncodedLength(source)];
        Assert.Equal(destination.Length, HpackHuffman.Encode(source, destination));
        return destination;
    }

    private static byte[] Decode(byte[] source)
    {
        byte[] destination = new byte[(source.Length * 8 / 5) + 1];
        int n = HpackHuffman.Decode(source, destination);
        return destination[..n];
    }

    private static void AssertRoundTrip(byte[] value)
    {
        byte[] encoded = Encode(value);
        Assert.Equal(value, Decode(encoded));

        long bits = 0;
        foreach (byte b in value)
        {
            bits += HpackHuffman.Code(b).Length;
        }

        Assert.Equal((bits + 7) / 8, encoded.Length);
    }

    [Fact]
    public void TheTableIsACompleteCanonicalPrefixCodeEndingInEos()
    {
        // Kraft sum of exactly 1 (no code unused, none a prefix of another), with codes assigned in order of
        // length, then symbol: the construction RFC 7541 Appendix B's table follows.
        long kraft = 0; // in units of 2^-30
        for (int symbol = 0; symbol <= 256; symbol++)
        {
            (uint code, int length) = HpackHuffman.Code(symbol);
            Assert.InRange(length, 5, 30);
            Assert.True(code < 1u << length, $"symbol {symbol}: code wider than its length");
            kraft += 1L << (30 - length);
        }

        Assert.Equal(1L << 30, kraft);
        Assert.Equal((0x3fff_ffffu, 30), HpackHuffman.Code(256));

        int[] order = [.. Enumerable.Range(0, 257).OrderBy(s => HpackHuffman.Code(s).Length).ThenBy(s => s)];
        uint next = 0;
        for (int i = 0; i < order.Length; i++)
        {
            (uint code, int length) = HpackHuffman.Code(order[i]);
            if (i > 0)
            {
                next = (next + 1) << (length - HpackHuffman.Code(order[i - 1]).Length);
            }

            Assert.Equal(next, code);
        }
    }

    [Theory]
    [InlineData("www.example.com", "f1e3c2e5f23a6ba0ab90f4ff")]
    [InlineData("no-cache", "a8eb10649cbf")]
    [InlineData("custom-key", "25a849e95ba97d7f")]
    [InlineData("custom-value", "25a849e95bb8e8b4bf")]
    [InlineData("302", "6402")]
    [InlineData("307", "640eff")]
    [InlineData("private", "aec3771a4b")]
    [InlineData("Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff")]
    [InlineData("Mon, 21 Oct 2013 20:13:22 GMT", "d07abe941054d444a8200595040b8166e084a62d1bff")]
    [InlineData("https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3")]
    [InlineData("gzip", "9bd9ab")]
    [InlineData("foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")]
    [InlineData("", "")]
    public void CodesTheAppendixCStrings(string text, string hex)
    {
        Assert.Equal(hex, ToHex(Encode(Bytes(text))));
        Assert.Equal(text, Text(Decode(Hex(hex))));
    }

    [Fact]
    public void EveryOctetValueRoundTripsAloneAndTogether()
    {
        for (int b = 0; b < 256; b++)
        {
            AssertRoundTrip([(byte)b]);
            AssertRoundTrip([(byte)b, (byte)b, (byte)b]);
        }

        byte[] all = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        AssertRoundTrip(all);
        AssertRoundTrip([.. all.Reverse()]);
    }

    [Fact]
    public void EveryOctetValueDecodesFromItsOwnCode()
    {
        // Each symbol's code, written by hand MSB first and padded with ones, decodes to that one octet.
        for (int symbol = 0; symbol < 256; symbol++)
        {
            (uint code, int length) = HpackHuffman.Code(symbol);
            int octets = (length + 7) / 8;
            ulong padded = ((ulong)code << ((octets * 8) - length)) | ((1UL << ((octets * 8) - length)) - 1);
            byte[] bytes = new byte[octets];
            for (int i = 0; i < octets; i++)
            {
                bytes[i] = (byte)(padded >> (8 * (octets - 1 - i)));
            }

            Assert.Equal([(byte)symbol], Decode(bytes));
            Assert.Equal(bytes, Encode([(byte)symbol]));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomByteStringsRoundTrip(int seed)
    {
        var random = new Randomizer(seed);
        for (int i = 0; i < 2000; i++)
        {
            AssertRoundTrip(random.Bytes(random.Int(0, 300)));
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void RandomHeaderLikeStringsRoundTripAndShrink(int seed)
    {
        var faker = new Faker { Random = new Randomizer(seed) };
        for (int i = 0; i < 500; i++)
        {
            string[] samples =
            [
                faker.Internet.Url(), faker.Internet.UserAgent(), faker.Internet.Email(), faker.Date.Past().ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                faker.Lorem.Sentence().ToLowerInvariant(), faker.Random.AlphaNumeric(faker.Random.Int(1, 80)).ToLowerInvariant(),
            ];
            foreach (string sample in samples)
            {
                byte[] value = Bytes(sample);
                AssertRoundTrip(value);
                if (value.Length >= 8)
                {
                    Assert.True(HpackHuffman.EncodedLength(value) < value.Length, $"'{sample}' did not shrink");
                }
            }
        }
    }

    [Theory]
    [InlineData("ffffffff", "EOS alone (30 ones, padded)")]
    [InlineData("1fffffffff", "'a' then EOS")]
    [InlineData("fffffffc", "EOS-long run cut: 30 ones is EOS even before the padding")]
    [InlineData("f1e3c2e5f23a6ba0ab90f4ffffffffff", "www.example.com, then a whole EOS")]
    public void RejectsEos(string hex, string because)
    {
        HpackDecodingException e = Assert.Throws<HpackDecodingException>(() => Decode(Hex(hex)));
        Assert.Contains("EOS", e.Message, StringComparison.Ordinal);
        _ = because;
    }

    [Theory]
    [InlineData("ff", "8 bits of padding")]
    [InlineData("1fff", "'a' then 11 bits of padding")]
    [InlineData("f1e3c2e5f23a6ba0ab90f4ffff", "www.example.com then 8 more bits of padding")]
    [InlineData("18", "'a' padded with zeros")]
    [InlineData("00", "'0' padded with zeros")]
    [InlineData("1e", "'a' padded with 110")]
    [InlineData("f1e3c2e5f23a6ba0ab90f4fe", "www.example.com, padding ending in 0")]
    [InlineData("fe", "8 bits, not a symbol, not all ones")]
    public void RejectsBadPadding(string hex, string because)
    {
        HpackDecodingException e = Assert.Throws<HpackDecodingException>(() => Decode(Hex(hex)));
        Assert.Contains("padding", e.Message, StringComparison.Ordinal);
        _ = because;
    }

    [Theory]
    [InlineData("07", "0")] // 00000 + 111
    [InlineData("1f", "a")] // 00011 + 111
    [InlineData("033f", "03")] // 00000 011001 + 11111: 5 + 6 bits, 5 bits of padding
    [InlineData("032cff", "033")] // 5 + 6 + 6 = 17 bits, 7 bits of padding
    public void AcceptsPaddingUpToSevenOnes(string hex, string text)
    {
        Assert.Equal(text, Text(Decode(Hex(hex))));
        Assert.Equal(hex, ToHex(Encode(Bytes(text))));
    }

    [Fact]
    public void EveryPrefixOfAValidStringEitherDecodesOrThrowsTheDecodingException()
    {
        var random = new Randomizer(6);
        for (int i = 0; i < 300; i++)
        {
            byte[] encoded = Encode(random.Bytes(random.Int(1, 40)));
            for (int length = 0; length < encoded.Length; length++)
            {
                try
                {
                    Decode(encoded[..length]);
                }
                catch (HpackDecodingException)
                {
                    // expected for most prefixes
                }
            }
        }
    }

    [Fact]
    public void RandomBytesEitherDecodeOrThrowTheDecodingException()
    {
        var random = new Randomizer(7);
        int decoded = 0;
        for (int i = 0; i < 5000; i++)
        {
            byte[] bytes = random.Bytes(random.Int(0, 20));
            try
            {
                byte[] text = Decode(bytes);
                Assert.Equal(bytes, Encode(text)); // the code is a bijection onto well-padded strings
                decoded++;
            }
            catch (HpackDecodingException)
            {
                // malformed
            }
        }

        Assert.True(decoded > 0);
    }

    [Fact]
    public void StopsAtTheDestinationLength()
    {
        byte[] encoded = Encode(Bytes("www.example.com"));
        Assert.Equal(15, HpackHuffman.Decode(encoded, new byte[15]));
        Assert.Throws<HpackDecodingException>(() => HpackHuffman.Decode(encoded, new byte[14]));
    }
}
