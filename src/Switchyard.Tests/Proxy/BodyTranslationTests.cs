using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Switchyard.Http1;
using Switchyard.Http2;
using Switchyard.Proxy;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Proxy;

public sealed class BodyTranslationTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly ConnectionContext _context = TestContexts.Caller(TestContexts.Port(80));
    private Http2PeerHarness _peer = null!;

    public async Task InitializeAsync() => _peer = await Http2PeerHarness.StartAsync();

    public async Task DisposeAsync() => await _peer.DisposeAsync();

    private async Task<Http2Stream> OpenAsync(string method = "POST")
    {
        using var request = new Http2HeaderList();
        request.Add(":method", method);
        request.Add(":scheme", "http");
        request.Add(":path", "/");
        Http2Stream stream = await _peer.App.OpenStreamAsync(request, endStream: false);
        await _peer.ReadHeadersAsync(stream.Id);
        return stream;
    }

    [Fact]
    public async Task A_body_until_close_goes_out_as_data_ending_the_stream_and_is_counted()
    {
        Http2Stream stream = await OpenAsync();
        var body = new Pipe();
        await body.Writer.WriteAsync("part1"u8.ToArray());
        await body.Writer.WriteAsync("part2"u8.ToArray());
        await body.Writer.CompleteAsync();

        await BodyTranslation.Http1ToHttp2Async(body.Reader, BodyKind.UntilClose, -1, null, _peer.App, stream, _context, isRequest: false).WaitAsync(Patience);

        (string sent, List<(string, string)>? trailers) = await _peer.ReadBodyAsync(stream.Id);
        Assert.Equal("part1part2", sent);
        Assert.Null(trailers);
        Assert.Equal(10, _context.BytesOut);
        Assert.Equal(0, _context.BytesIn);
    }

    [Fact]
    public async Task A_content_length_body_that_ends_early_fails_with_how_much_was_missing()
    {
        Http2Stream stream = await OpenAsync();
        var body = new Pipe();
        await body.Writer.WriteAsync("abc"u8.ToArray());
        await body.Writer.CompleteAsync();

        var e = await Assert.ThrowsAsync<IOException>(() =>
            BodyTranslation.Http1ToHttp2Async(body.Reader, BodyKind.ContentLength, 5, null, _peer.App, stream, _context, isRequest: true).WaitAsync(Patience));

        Assert.Equal("the request body ended 2 bytes early", e.Message);
    }

    [Fact]
    public async Task A_content_length_body_ends_the_stream_with_its_last_byte_and_leaves_what_follows()
    {
        Http2Stream stream = await OpenAsync();
        var body = new Pipe();
        await body.Writer.WriteAsync("hello"u8.ToArray());
        await body.Writer.WriteAsync("GET /next"u8.ToArray()); // the caller's next request, not this body

        await BodyTranslation.Http1ToHttp2Async(body.Reader, BodyKind.ContentLength, 5, null, _peer.App, stream, _context, isRequest: true).WaitAsync(Patience);

        Assert.Equal(("hello", (List<(string, string)>?)null), await _peer.ReadBodyAsync(stream.Id));
        Assert.Equal(5, _context.BytesIn);
        ReadResult rest = await body.Reader.ReadAsync();
        Assert.Equal("GET /next", Encoding.ASCII.GetString(rest.Buffer.ToArray()));
    }

    [Fact]
    public async Task Stream_data_is_written_as_a_plain_body_and_copied_for_wiretaps()
    {
        Http2Stream stream = await OpenAsync("GET");
        await _peer.SendHeadersAsync(stream.Id, false, (":status", "200"));
        using Http2HeaderList response = await stream.ReadHeadersAsync().AsTask().WaitAsync(Patience);
        await _peer.SendDataAsync(stream.Id, "abc", endStream: false);
        await _peer.SendDataAsync(stream.Id, "def", endStream: true);
        var output = new Pipe();
        var copier = new WiretapCopier("GET", tls: false, sni: null, head: [], contentLength: -1);
        var copy = new Switchyard.Upstream.WiretapBody(contentLength: -1, new Switchyard.Upstream.WiretapBuffer(1024), dropped: null);
        copier.StartWith(copy);

        await BodyTranslation.Http2ToHttp1Async(stream, output.Writer, chunked: false, _context, isRequest: false, copier).WaitAsync(Patience);

        await output.Writer.CompleteAsync();
        ReadResult written = await output.Reader.ReadAsync();
        Assert.Equal("abcdef", Encoding.ASCII.GetString(written.Buffer.ToArray()));
        var copied = new ArrayBufferWriter<byte>();
        while (!await copy.MoveToAsync(copied).AsTask().WaitAsync(Patience))
        {
        }

        Assert.Equal("6\r\nabcdef\r\n0\r\n\r\n", Encoding.ASCII.GetString(copied.WrittenSpan));
        Assert.Equal(6, _context.BytesOut);
    }

    [Fact]
    public async Task Stream_data_with_trailers_is_written_as_chunks_ending_with_the_trailers()
    {
        Http2Stream stream = await OpenAsync("GET");
        await _peer.SendHeadersAsync(stream.Id, false, (":status", "200"));
        using Http2HeaderList response = await stream.ReadHeadersAsync().AsTask().WaitAsync(Patience);
        await _peer.SendDataAsync(stream.Id, "hello", endStream: false);
        await _peer.SendHeadersAsync(stream.Id, true, ("grpc-status", "0"), ("grpc-message", "ok"));
        var output = new Pipe();

        await BodyTranslation.Http2ToHttp1Async(stream, output.Writer, chunked: true, _context, isRequest: false).WaitAsync(Patience);

        await output.Writer.CompleteAsync();
        ReadResult written = await output.Reader.ReadAsync();
        Assert.Equal("5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n", Encoding.ASCII.GetString(written.Buffer.ToArray()));
    }
}
