using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Switchyard.Config;
using Switchyard.Http1;
using Switchyard.Proxy;
using Switchyard.Routing;

namespace Switchyard.Tests.Proxy;

/// <summary>The body read for body filters leaves the caller's bytes in the pipe, framing included, whatever it finds.</summary>
public sealed class RequestBodyBufferTests
{
    private static readonly PortLimits Limits = new() { MaxBodyBytes = 64, BodyTimeout = TimeSpan.FromSeconds(5) };

    private static async Task<(Http1RequestHead Head, Pipe Pipe)> HeadAsync(string text)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(text));
        ReadResult read = await pipe.Reader.ReadAsync();
        ReadOnlySequence<byte> buffer = read.Buffer;
        var head = new Http1RequestHead();
        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));
        pipe.Reader.AdvanceTo(buffer.Start);
        return (head, pipe);
    }

    private static async Task<string> RestAsync(Pipe pipe)
    {
        await pipe.Writer.CompleteAsync();
        ReadResult read = await pipe.Reader.ReadAsync();
        while (!read.IsCompleted)
        {
            Assert.False(read.IsCanceled); // no wake of the body timer is left for the exchange
            pipe.Reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            read = await pipe.Reader.ReadAsync();
        }

        Assert.False(read.IsCanceled);

        return Encoding.ASCII.GetString(read.Buffer.ToArray());
    }

    [Fact]
    public async Task A_content_length_body_is_read_and_left_in_the_pipe()
    {
        (Http1RequestHead head, Pipe pipe) = await HeadAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\r\n{\"id\":42} ");
        using var buffer = new RequestBodyBuffer();
        Task read = buffer.ReadHttp1Async(pipe.Reader, head, Limits, cancellable: true, TimeProvider.System).AsTask();
        Assert.False(read.IsCompleted); // 10 of 15 bytes so far
        await pipe.Writer.WriteAsync("12345"u8.ToArray());
        await read;

        Assert.Equal(RequestBodyState.Buffered, buffer.State);
        Assert.Equal("{\"id\":42} 12345", Encoding.ASCII.GetString(buffer.Body.ToArray()));
        Assert.Equal("{\"id\":42} 12345", await RestAsync(pipe));
    }

    [Fact]
    public async Task A_chunked_body_is_decoded_for_the_filter_and_left_framed_in_the_pipe()
    {
        const string body = "4;x=y\r\n{\"id\r\n5\r\n\":42}\r\n0\r\nTrailer: t\r\n\r\n";
        (Http1RequestHead head, Pipe pipe) = await HeadAsync("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body[..12]);
        using var buffer = new RequestBodyBuffer();
        Task read = buffer.ReadHttp1Async(pipe.Reader, head, Limits, cancellable: true, TimeProvider.System).AsTask();
        Assert.False(read.IsCompleted);
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(body[12..]));
        await read;

        Assert.Equal(RequestBodyState.Buffered, buffer.State);
        Assert.Equal("{\"id\":42}", Encoding.ASCII.GetString(buffer.Body.ToArray()));
        Assert.Equal(body, await RestAsync(pipe));
    }

    [Theory]
    [InlineData("Content-Length: 65\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n41\r\n")]
    public async Task A_body_over_max_body_bytes_is_too_large(string framing)
    {
        string data = new('x', 65);
        (Http1RequestHead head, Pipe pipe) = await HeadAsync("POST / HTTP/1.1\r\nHost: a\r\n" + framing + data);
        using var buffer = new RequestBodyBuffer();
        await buffer.ReadHttp1Async(pipe.Reader, head, Limits, cancellable: true, TimeProvider.System);

        Assert.Equal(RequestBodyState.TooLarge, buffer.State);
        Assert.Equal(framing.Contains("chunked", StringComparison.Ordinal) ? "41\r\n" + data : data, await RestAsync(pipe));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_slower_than_body_timeout_times_out_and_stays_in_the_pipe(bool cancellable)
    {
        (Http1RequestHead head, Pipe pipe) = await HeadAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345");
        using var buffer = new RequestBodyBuffer();
        var limits = Limits with { BodyTimeout = TimeSpan.FromMilliseconds(100) };
        Task read = buffer.ReadHttp1Async(pipe.Reader, head, limits, cancellable, TimeProvider.System).AsTask();
        if (!cancellable)
        {
            // A reader that is not cancelled mid-read (TLS) notices the deadline when the next bytes come.
            await Task.WhenAny(read, Task.Delay(150));
            Assert.False(read.IsCompleted);
            await pipe.Writer.WriteAsync("67"u8.ToArray());
        }

        await read;

        Assert.Equal(RequestBodyState.TimedOut, buffer.State);
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(cancellable ? "67890" : "890"));
        Assert.Equal("1234567890", await RestAsync(pipe));
    }

    [Fact]
    public async Task Http2_data_are_read_until_end_stream_and_left_in_the_pipe()
    {
        var pipe = new Pipe();
        using var buffer = new RequestBodyBuffer();
        Task read = buffer.ReadHttp2Async(pipe.Reader, 64, 1024, TimeSpan.FromSeconds(5), TimeProvider.System).AsTask();
        await pipe.Writer.WriteAsync("{\"id\":"u8.ToArray());
        Assert.False(read.IsCompleted);
        await pipe.Writer.WriteAsync("42}"u8.ToArray());
        await pipe.Writer.CompleteAsync();
        await read;

        Assert.Equal(RequestBodyState.Buffered, buffer.State);
        Assert.Equal("{\"id\":42}", Encoding.ASCII.GetString(buffer.Body.ToArray()));
        ReadResult rest = await pipe.Reader.ReadAsync();
        Assert.Equal("{\"id\":42}", Encoding.ASCII.GetString(rest.Buffer.ToArray()));
    }

    [Fact]
    public async Task Http2_data_that_fill_the_stream_window_without_ending_are_too_large()
    {
        var pipe = new Pipe();
        using var buffer = new RequestBodyBuffer();
        Task read = buffer.ReadHttp2Async(pipe.Reader, 64, 16, TimeSpan.FromSeconds(5), TimeProvider.System).AsTask();
        await pipe.Writer.WriteAsync(new byte[16]);
        await read;

        Assert.Equal(RequestBodyState.TooLarge, buffer.State);
    }
}
