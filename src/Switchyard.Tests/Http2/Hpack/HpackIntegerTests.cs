using Switchyard.Http2.Hpack;
using static Switchyard.Tests.Http2.Hpack.HpackBytes;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>Prefix integers (RFC 7541 5.1): the C.1 examples, every prefix width at its edges, and overflow.</summary>
public sealed class HpackIntegerTests
{
    private static string Write(byte flags, int prefixBits, int value)
    {
        byte[] buffer = new byte[HpackInteger.MaxLength];
        int n = HpackInteger.Write(buffer, flags, prefixBits, value);
        Assert.Equal(n, HpackInteger.Length(prefixBits, value));
        return ToHex(buffer.AsSpan(0, n));
    }

    private static int Read(string hex, int prefixBits)
    {
        byte[] bytes = Hex(hex);
        int pos = 0;
        int value = HpackInteger.Read(bytes, ref pos, prefixBits);
        Assert.Equal(bytes.Length, pos);
        return value;
    }

    [Fact]
    public void C11_TenWithAFiveBitPrefix()
    {
        Assert.Equal("0a", Write(0x00, 5, 10));
        Assert.Equal("ea", Write(0xE0, 5, 10)); // the bits above the prefix are left to the caller
        Assert.Equal(10, Read("0a", 5));
        Assert.Equal(10, Read("ea", 5));
    }

    [Fact]
    public void C12_1337WithAFiveBitPrefix()
    {
        Assert.Equal("1f9a0a", Write(0x00, 5, 1337));
        Assert.Equal(1337, Read("1f9a0a", 5));
        Assert.Equal(1337, Read("ff9a0a", 5));
    }

    [Fact]
    public void C13_FortyTwoOnAnOctetBoundary()
    {
        Assert.Equal("2a", Write(0x00, 8, 42));
        Assert.Equal(42, Read("2a", 8));
    }

    public static TheoryData<int, int> EdgeValues()
    {
        var data = new TheoryData<int, int>();
        for (int prefixBits = 1; prefixBits <= 8; prefixBits++)
        {
            int max = (1 << prefixBits) - 1;
            long[] edges = [0, 1, max - 1, max, max + 1, max + 126, max + 127, max + 128, max + 129, max + 16_383, max + 16_384, 1 << 21, (1 << 28) - 1, 1 << 28, int.MaxValue - max, int.MaxValue - 1, int.MaxValue];
            foreach (long value in edges.Distinct()) // with a 1-bit prefix, max - 1 is 0 and max is 1: each case once
            {
                if (value >= 0 && value <= int.MaxValue)
                {
                    data.Add(prefixBits, (int)value);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EdgeValues))]
    public void RoundTripsAtTheEdges(int prefixBits, int value)
    {
        byte flags = (byte)(0xFF << prefixBits);
        string hex = Write(flags, prefixBits, value);
        Assert.Equal(flags, Hex(hex)[0] & flags); // flag bits untouched
        Assert.Equal(value, Read(hex, prefixBits));
        int max = (1 << prefixBits) - 1;
        Assert.Equal(value < max ? 1 : 2 + (BitLength((uint)(value - max)) - 1) / 7, hex.Length / 2);
    }

    [Fact]
    public void RoundTripsEveryValueUpTo70000ForEveryPrefix()
    {
        byte[] buffer = new byte[HpackInteger.MaxLength];
        for (int prefixBits = 1; prefixBits <= 8; prefixBits++)
        {
            for (int value = 0; value <= 70_000; value++)
            {
                int n = HpackInteger.Write(buffer, 0, prefixBits, value);
                int pos = 0;
                Assert.Equal(value, HpackInteger.Read(buffer.AsSpan(0, n), ref pos, prefixBits));
                Assert.Equal(n, pos);
            }
        }
    }

    [Fact]
    public void IntMaxValueTakesSixOctetsWithAOneBitPrefix()
    {
        Assert.Equal("01feffffff07", Write(0x00, 1, int.MaxValue));
        Assert.Equal(HpackInteger.MaxLength, Hex(Write(0x00, 1, int.MaxValue)).Length);
    }

    [Theory]
    [InlineData("1f80808080807f", "5 continuation octets still continuing")]
    [InlineData("1f8080808080808000", "far too many continuation octets")]
    [InlineData("01ffffffff07", "2^31 with a 1-bit prefix")]
    [InlineData("1fe1ffffff07", "just above 2^31-1 with a 5-bit prefix")]
    [InlineData("1fffffffff0f", "about 2^32")]
    [InlineData("ffffffffff7f", "2^35 region")]
    public void RejectsIntegersThatDoNotFitAnInt(string hex, string because)
    {
        byte[] bytes = Hex(hex);
        int prefixBits = bytes[0] == 0x01 ? 1 : 5;
        Assert.Throws<HpackDecodingException>(() =>
        {
            int pos = 0;
            HpackInteger.Read(bytes, ref pos, prefixBits);
        });
        _ = because;
    }

    [Fact]
    public void JustBelowTheLimitIsAccepted()
    {
        // 2^31-1 with a 5-bit prefix: 31 + 0x7FFFFFE0.
        Assert.Equal(int.MaxValue, Read("1fe0ffffff07", 5));
        Assert.Equal("1fe0ffffff07", Write(0, 5, int.MaxValue));
    }

    [Fact]
    public void ANonMinimalEncodingWithinFiveContinuationOctetsIsAccepted()
    {
        // RFC 7541 does not forbid zero-valued continuation octets; the cap on their number bounds the work.
        Assert.Equal(31, Read("1f8000", 5));
        Assert.Equal(31 + 1, Read("1f8180808000", 5));
    }

    [Theory]
    [InlineData("1f")]
    [InlineData("1f80")]
    [InlineData("1fff")]
    [InlineData("1f9a")]
    [InlineData("ff808080")]
    public void RejectsATruncatedInteger(string hex)
    {
        byte[] bytes = Hex(hex);
        Assert.Throws<HpackDecodingException>(() =>
        {
            int pos = 0;
            HpackInteger.Read(bytes, ref pos, 5);
        });
    }

    private static int BitLength(uint value) => value == 0 ? 1 : 32 - System.Numerics.BitOperations.LeadingZeroCount(value);
}
