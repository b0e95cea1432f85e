using System.Buffers;
using Switchyard.Http1;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Http1.Http1Text;

namespace Switchyard.Tests.Http1;

public sealed class ChunkedEncoderTests
{
    [Theory]
    [InlineData(1, "1\r\n")]
    [InlineData(10, "a\r\n")]
    [InlineData(255, "ff\r\n")]
    [InlineData(4096, "1000\r\n")]
    [InlineData(long.MaxValue, "7fffffffffffffff\r\n")]
    public void A_chunk_header_is_lower_case_hex_and_crlf(long size, string expected)
    {
        var output = new ArrayBufferWriter<byte>();

        ChunkedEncoder.WriteChunkHeader(output, size);

        Assert.Equal(expected, Text(output.WrittenSpan));
    }

    [Fact]
    public void A_chunk_is_size_data_and_crlf_and_empty_data_writes_nothing()
    {
        var output = new ArrayBufferWriter<byte>();

        ChunkedEncoder.WriteChunk(output, "hello"u8);
        ChunkedEncoder.WriteChunk(output, ReadOnlySpan<byte>.Empty);
        ChunkedEncoder.WriteChunk(output, Segments.Split(Bytes(" world"), 2));
        ChunkedEncoder.WriteChunk(output, ReadOnlySequence<byte>.Empty);
        ChunkedEncoder.WriteLastChunk(output);

        Assert.Equal("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", Text(output.WrittenSpan));
    }

    [Fact]
    public void A_zero_size_chunk_header_is_refused_because_it_would_end_the_body()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ChunkedEncoder.WriteChunkHeader(new ArrayBufferWriter<byte>(), 0));
    }

    [Fact]
    public void The_last_chunk_carries_the_trailers()
    {
        var decoder = new ChunkedDecoder();
        ReadOnlySequence<byte> source = Sequence("0\r\nX-Checksum:   abc  \r\nGrpc-Status: 0\r\n\r\n");
        Assert.Equal(ChunkedReadStatus.Completed, decoder.Read(ref source, out _));
        var output = new ArrayBufferWriter<byte>();

        ChunkedEncoder.WriteLastChunk(output, decoder.Trailers);

        Assert.Equal("0\r\nX-Checksum: abc\r\nGrpc-Status: 0\r\n\r\n", Text(output.WrittenSpan));
    }
}
