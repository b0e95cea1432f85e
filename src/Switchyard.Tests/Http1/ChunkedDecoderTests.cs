using System.Buffers;
using Bogus;
using Switchyard.Http1;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Http1.Http1Text;

namespace Switchyard.Tests.Http1;

public sealed class ChunkedDecoderTests
{
    private const string Simple = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    private const string WithExtensions = "5;name=value\r\nhello\r\nA ; a=\"q;x\" ;b\r\n0123456789\r\n000;last\r\n\r\n";
    private const string WithTrailers = "3\r\nabc\r\n0\r\nX-Checksum: 1234\r\nServer-Timing: db;dur=53\r\n\r\n";
    private const string UpperHex = "1F\r\n0123456789012345678901234567890\r\n0\r\n\r\n";

    public static TheoryData<string, string> ValidBodies() => new()
    {
        { Simple, "hello world" },
        { WithExtensions, "hello0123456789" },
        { WithTrailers, "abc" },
        { UpperHex, "0123456789012345678901234567890" },
        { "0\r\n\r\n", "" },
    };

    /// <summary>Feeds the whole input at once and collects the body; returns what remains after the end.</summary>
    private static (byte[] Body, ReadOnlySequence<byte> Remaining) DecodeAll(ChunkedDecoder decoder, ReadOnlySequence<byte> buffer)
    {
        var body = new ArrayBufferWriter<byte>();
        while (true)
        {
            ChunkedReadStatus status = decoder.Read(ref buffer, out ReadOnlySequence<byte> data);
            switch (status)
            {
                case ChunkedReadStatus.Data:
                    Assert.False(data.IsEmpty);
                    foreach (ReadOnlyMemory<byte> segment in data)
                    {
                        body.Write(segment.Span);
                    }

                    break;
                case ChunkedReadStatus.Completed:
                    return (body.WrittenSpan.ToArray(), buffer);
                default:
                    Assert.Fail("the decoder asked for more although the whole body was there");
                    break;
            }
        }
    }

    /// <summary>Feeds the input the way a pipe does: growing windows, keeping what the decoder did not consume.</summary>
    private static byte[] DecodeIncrementally(ChunkedDecoder decoder, byte[] input, int step)
    {
        var body = new ArrayBufferWriter<byte>();
        int consumed = 0;
        int available = 0;
        while (true)
        {
            available = Math.Min(input.Length, available + step);
            ReadOnlySequence<byte> buffer = Segments.Split(input[consumed..available], Math.Max(1, step / 2));
            long before = buffer.Length;
            ChunkedReadStatus status;
            do
            {
                status = decoder.Read(ref buffer, out ReadOnlySequence<byte> data);
                if (status == ChunkedReadStatus.Data)
                {
                    foreach (ReadOnlyMemory<byte> segment in data)
                    {
                        body.Write(segment.Span);
                    }
                }
            }
            while (status == ChunkedReadStatus.Data);

            consumed += (int)(before - buffer.Length);
            if (status == ChunkedReadStatus.Completed)
            {
                Assert.Equal(input.Length, consumed);
                return body.WrittenSpan.ToArray();
            }

            Assert.True(available < input.Length, "needs more data although all input was given");
        }
    }

    [Theory]
    [MemberData(nameof(ValidBodies))]
    public void A_chunked_body_decodes_to_its_data_in_every_segment_shape(string text, string expected)
    {
        foreach (ReadOnlySequence<byte> shape in Shapes(Bytes(text + "NEXT")))
        {
            var decoder = new ChunkedDecoder();
            (byte[] body, ReadOnlySequence<byte> rest) = DecodeAll(decoder, shape);

            Assert.Equal(expected, Text(body));
            Assert.Equal("NEXT", Text(rest.ToArray()));
            Assert.True(decoder.IsCompleted);
            Assert.Equal(expected.Length, decoder.BodyBytes);
        }
    }

    [Theory]
    [MemberData(nameof(ValidBodies))]
    public void A_chunked_body_fed_a_few_bytes_at_a_time_decodes_the_same(string text, string expected)
    {
        byte[] input = Bytes(text);
        for (int step = 1; step <= 9; step++)
        {
            Assert.Equal(expected, Text(DecodeIncrementally(new ChunkedDecoder(), input, step)));
        }
    }

    [Fact]
    public void Data_is_handed_out_as_a_slice_of_the_input_without_copying()
    {
        byte[] input = Bytes(Simple);
        ReadOnlySequence<byte> buffer = new(input);
        var decoder = new ChunkedDecoder();

        Assert.Equal(ChunkedReadStatus.Data, decoder.Read(ref buffer, out ReadOnlySequence<byte> data));

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data.First, out ArraySegment<byte> segment));
        Assert.Same(input, segment.Array);
        Assert.Equal(3, segment.Offset);
        Assert.Equal(5, segment.Count);
    }

    [Fact]
    public void Framing_that_is_not_complete_is_not_consumed()
    {
        var decoder = new ChunkedDecoder();
        ReadOnlySequence<byte> buffer = Sequence("1a;ext=");

        Assert.Equal(ChunkedReadStatus.NeedMoreData, decoder.Read(ref buffer, out _));
        Assert.Equal(7, buffer.Length);

        buffer = Sequence("0\r\nX-A: b\r\n");
        decoder.Reset();
        Assert.Equal(ChunkedReadStatus.NeedMoreData, decoder.Read(ref buffer, out _));
        Assert.Equal("X-A: b\r\n", Text(buffer.ToArray()));
    }

    [Fact]
    public void Trailers_are_parsed_with_the_field_rules_and_exposed()
    {
        var decoder = new ChunkedDecoder();
        (byte[] body, _) = DecodeAll(decoder, Sequence(WithTrailers));

        Assert.Equal("abc", Text(body));
        Assert.Equal(2, decoder.Trailers.Count);
        Assert.True(decoder.Trailers.TryGetValue("x-checksum"u8, out ReadOnlySpan<byte> checksum));
        Assert.Equal("1234", Text(checksum));
        Assert.Equal("Server-Timing", Text(decoder.Trailers.Name(1)));
        Assert.Equal("db;dur=53", Text(decoder.Trailers.Value(1)));
    }

    [Fact]
    public void Framing_routing_and_connection_specific_fields_in_trailers_are_dropped()
    {
        var decoder = new ChunkedDecoder();
        (byte[] body, _) = DecodeAll(decoder, Sequence(
            "3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\nX-Sum: 1\r\nContent-Length: 5\r\nHost: evil\r\nTrailer: x\r\n" +
            "Connection: close\r\nKeep-Alive: 1\r\nTE: trailers\r\nAuthorization: x\r\nContent-Type: a/b\r\nServer-Timing: db\r\n\r\n"));

        Assert.Equal("abc", Text(body));
        Assert.Equal(2, decoder.Trailers.Count);
        Assert.Equal("X-Sum", Text(decoder.Trailers.Name(0)));
        Assert.Equal("Server-Timing", Text(decoder.Trailers.Name(1)));
    }

    [Fact]
    public void A_reset_decoder_reads_the_next_message()
    {
        var decoder = new ChunkedDecoder();
        ReadOnlySequence<byte> buffer = Sequence(WithTrailers + Simple);
        (_, buffer) = DecodeAll(decoder, buffer);

        decoder.Reset();
        (byte[] body, ReadOnlySequence<byte> rest) = DecodeAll(decoder, buffer);

        Assert.Equal("hello world", Text(body));
        Assert.Equal(0, decoder.Trailers.Count);
        Assert.True(rest.IsEmpty);
    }

    [Theory]
    [InlineData("\r\nhello\r\n0\r\n\r\n", "invalid chunk size")]
    [InlineData("g\r\n", "invalid chunk size")]
    [InlineData("-5\r\n", "invalid chunk size")]
    [InlineData("0x5\r\n", "invalid chunk size")]
    [InlineData("5 \r\nhello\r\n", "invalid chunk size")]
    [InlineData("5 x\r\n", "invalid chunk size")]
    [InlineData("5\n", "bare LF in chunk size line")]
    [InlineData("5;a=\u0001\r\n", "control character in chunk extension")]
    [InlineData("5;a\rb\r\n", "control character in chunk extension")]
    [InlineData("5\r\nhelloX\r\n", "missing CRLF after chunk data")]
    [InlineData("5\r\nhello\n0\r\n\r\n", "missing CRLF after chunk data")]
    [InlineData("5\r\nhello\rX", "missing CRLF after chunk data")]
    [InlineData("5\r\nhello\r\n0\r\nX-A: b\rc\r\n\r\n", "bare CR in message head")]
    [InlineData("10000000000000000\r\n", "chunk size too large")]
    [InlineData("FFFFFFFFFFFFFFFFFFFFFFFF\r\n", "chunk size too large")]
    [InlineData("0\r\nX-A : b\r\n\r\n", "whitespace between header field name and colon")]
    [InlineData("0\r\nX-A: b\r\n c\r\n\r\n", "obsolete line folding (obs-fold)")]
    [InlineData("0\r\nX-A: b\nX-B: c\r\n\r\n", "bare LF in message head")]
    [InlineData("0\r\nX-A: \u0000\r\n\r\n", "control character in header field value")]
    public void Malformed_chunked_framing_is_rejected(string text, string reason)
    {
        foreach (ReadOnlySequence<byte> shape in Shapes(Bytes(text)))
        {
            var decoder = new ChunkedDecoder();
            ReadOnlySequence<byte> buffer = shape;
            Http1ParseException e = Assert.Throws<Http1ParseException>(() =>
            {
                while (decoder.Read(ref buffer, out _) == ChunkedReadStatus.Data)
                {
                }
            });
            Assert.Equal(reason, e.Reason);
        }
    }

    [Fact]
    public void A_chunk_size_over_the_configured_maximum_is_rejected()
    {
        var decoder = new ChunkedDecoder(new Http1Limits { MaxChunkSize = 0xFFFF });
        ReadOnlySequence<byte> ok = Sequence("FFFF\r\n");
        Assert.Equal(ChunkedReadStatus.NeedMoreData, decoder.Read(ref ok, out _));

        decoder.Reset();
        ReadOnlySequence<byte> tooLarge = Sequence("10000\r\n");
        Assert.Equal("chunk size too large", Assert.Throws<Http1ParseException>(() => decoder.Read(ref tooLarge, out _)).Reason);
    }

    [Fact]
    public void Chunk_extensions_longer_than_the_line_limit_are_rejected_before_their_end()
    {
        var decoder = new ChunkedDecoder(new Http1Limits { MaxChunkLineBytes = 64 });
        ReadOnlySequence<byte> atLimit = Sequence("5;" + new string('a', 60) + "\r\n");
        Assert.Equal(ChunkedReadStatus.NeedMoreData, decoder.Read(ref atLimit, out _));
        Assert.True(atLimit.IsEmpty);

        decoder.Reset();
        ReadOnlySequence<byte> unfinished = Sequence("5;" + new string('a', 63));
        Assert.Equal("chunk size line too long", Assert.Throws<Http1ParseException>(() => decoder.Read(ref unfinished, out _)).Reason);

        decoder.Reset();
        ReadOnlySequence<byte> finished = Sequence("5;" + new string('a', 61) + "\r\n");
        Assert.Equal("chunk size line too long", Assert.Throws<Http1ParseException>(() => decoder.Read(ref finished, out _)).Reason);
    }

    [Fact]
    public void Trailer_sections_over_the_limits_are_rejected()
    {
        var limits = new Http1Limits { MaxTrailerBytes = 100, MaxTrailerCount = 3 };

        var decoder = new ChunkedDecoder(limits);
        ReadOnlySequence<byte> unfinished = Sequence("0\r\nX-A: " + new string('a', 120));
        Assert.Equal("trailer section too large", Assert.Throws<Http1ParseException>(() => decoder.Read(ref unfinished, out _)).Reason);

        decoder = new ChunkedDecoder(limits);
        ReadOnlySequence<byte> many = Sequence("0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
        Assert.Equal("too many trailer fields", Assert.Throws<Http1ParseException>(() => decoder.Read(ref many, out _)).Reason);

        decoder = new ChunkedDecoder(limits);
        ReadOnlySequence<byte> three = Sequence("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
        Assert.Equal(ChunkedReadStatus.Completed, decoder.Read(ref three, out _));
        Assert.Equal(3, decoder.Trailers.Count);
    }

    [Fact]
    public void Bogus_bodies_round_trip_through_the_encoder_and_decoder_over_many_segments()
    {
        var faker = new Faker { Random = new Randomizer(7230) };
        for (int round = 0; round < 40; round++)
        {
            byte[] body = faker.Random.Bytes(faker.Random.Int(0, 20_000));
            var encoded = new ArrayBufferWriter<byte>();
            int offset = 0;
            while (offset < body.Length)
            {
                int size = Math.Min(body.Length - offset, faker.Random.Int(1, 3000));
                if (faker.Random.Bool())
                {
                    ChunkedEncoder.WriteChunk(encoded, body.AsSpan(offset, size));
                }
                else
                {
                    ChunkedEncoder.WriteChunk(encoded, Segments.Split(body[offset..(offset + size)], faker.Random.Int(1, 700)));
                }

                offset += size;
            }

            var trailers = new Http1Fields();
            bool withTrailers = faker.Random.Bool();
            if (withTrailers)
            {
                ReadOnlySequence<byte> trailerSource = Sequence($"0\r\nX-Round: {round}\r\nX-Word: {faker.Lorem.Word()}\r\n\r\n");
                var source = new ChunkedDecoder();
                Assert.Equal(ChunkedReadStatus.Completed, source.Read(ref trailerSource, out _));
                trailers = source.Trailers;
            }

            ChunkedEncoder.WriteLastChunk(encoded, withTrailers ? trailers : null);
            byte[] wire = encoded.WrittenSpan.ToArray();

            var decoder = new ChunkedDecoder();
            (byte[] decoded, ReadOnlySequence<byte> rest) = DecodeAll(decoder, Segments.Split(wire, faker.Random.Int(1, 1500)));
            Assert.Equal(body, decoded);
            Assert.True(rest.IsEmpty);
            Assert.Equal(withTrailers ? 2 : 0, decoder.Trailers.Count);
            if (withTrailers)
            {
                Assert.Equal(round.ToString(System.Globalization.CultureInfo.InvariantCulture), Text(decoder.Trailers.Value(0)));
            }

            Assert.Equal(body, DecodeIncrementally(new ChunkedDecoder(), wire, faker.Random.Int(1, 900)));
        }
    }

    [Fact]
    public void Every_strict_prefix_of_a_chunked_body_ends_in_need_more_without_consuming_framing()
    {
        foreach ((int length, ReadOnlySequence<byte> prefix) in StrictPrefixes(Bytes(WithTrailers)))
        {
            var decoder = new ChunkedDecoder();
            ReadOnlySequence<byte> buffer = prefix;
            ChunkedReadStatus status;
            while ((status = decoder.Read(ref buffer, out _)) == ChunkedReadStatus.Data)
            {
            }

            Assert.Equal(ChunkedReadStatus.NeedMoreData, status);
            Assert.False(decoder.IsCompleted, $"prefix of {length} bytes");
        }
    }
}
