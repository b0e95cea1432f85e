using System.IO.Pipelines;
using System.Text;
using Switchyard.Http1;

namespace Switchyard.Tests.Http1;

public sealed class Http1BodiesDechunkTests
{
    private static async Task<string> CopyAsync(string body, bool dechunk)
    {
        var input = new Pipe();
        var output = new Pipe();
        await input.Writer.WriteAsync(Encoding.ASCII.GetBytes(body));
        await input.Writer.CompleteAsync();
        using var decoder = new ChunkedDecoder();
        await Http1Bodies.CopyAsync(input.Reader, output.Writer, BodyKind.Chunked, 0, decoder, observer: null, dechunk: dechunk);
        await output.Writer.CompleteAsync();
        ReadResult read = await output.Reader.ReadAsync();
        return Encoding.ASCII.GetString(read.Buffer);
    }

    [Fact]
    public async Task A_dechunked_copy_writes_only_the_data_and_no_trailers()
    {
        Assert.Equal("hello world", await CopyAsync("5\r\nhello\r\n6\r\n world\r\n0\r\nX-A: 1\r\n\r\n", dechunk: true));
    }

    [Fact]
    public async Task A_chunked_copy_keeps_the_chunked_coding_and_the_allowed_trailers()
    {
        Assert.Equal("5\r\nhello\r\n0\r\nX-A: 1\r\n\r\n", await CopyAsync("5\r\nhello\r\n0\r\nX-A: 1\r\nContent-Length: 9\r\n\r\n", dechunk: false));
    }
}
