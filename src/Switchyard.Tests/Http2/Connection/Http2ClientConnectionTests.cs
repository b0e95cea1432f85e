using System.Buffers;
using Switchyard.Http2;

namespace Switchyard.Tests.Http2.Connection;

/// <summary>The client role (toward a destination): stream ids, response header blocks, GOAWAY below open streams.</summary>
public sealed class Http2ClientConnectionTests
{
    private static async Task<(Http2Connection Client, FramePeer Server, PipeChannel ServerSide, Task Run)> StartAsync()
    {
        (PipeChannel clientSide, PipeChannel serverSide) = PipeChannel.CreatePair();
        var client = new Http2Connection(clientSide, isServer: false);
        Task run = client.RunAsync();
        var server = new FramePeer(serverSide);
        await server.SendAsync(o => Http2FrameWriter.WriteSettings(o, []));
        return (client, server, serverSide, run);
    }

    private static Http2HeaderList Request(string path)
    {
        var h = new Http2HeaderList();
        h.Add(":method", "GET");
        h.Add(":scheme", "https");
        h.Add(":path", path);
        return h;
    }

    internal static async Task<byte[]> ReadPrefaceAsync(PipeChannel serverSide)
    {
        var preface = new byte[24];
        int read = 0;
        while (read < 24)
        {
            System.IO.Pipelines.ReadResult r = await serverSide.Input.ReadAsync();
            int n = (int)Math.Min(24 - read, r.Buffer.Length);
            r.Buffer.Slice(0, n).CopyTo(preface.AsSpan(read));
            read += n;
            serverSide.Input.AdvanceTo(r.Buffer.GetPosition(n));
        }

        return preface;
    }

    [Fact]
    public async Task A_stream_cannot_be_opened_before_the_connection_has_written_its_preface()
    {
        // §3.4: the preface comes first. A connection handed out before RunAsync started would put HEADERS on the wire
        // ahead of it, and the destination would answer GOAWAY PROTOCOL_ERROR; this is refused here instead.
        (PipeChannel clientSide, PipeChannel serverSide) = PipeChannel.CreatePair();
        var client = new Http2Connection(clientSide, isServer: false);
        using Http2HeaderList request = Request("/early");

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await client.OpenStreamAsync(request, endStream: true));

        Task run = client.RunAsync();
        var server = new FramePeer(serverSide);
        await server.SendAsync(o => Http2FrameWriter.WriteSettings(o, []));
        Assert.Equal(Http2FrameWriter.ClientPreface.ToArray(), await ReadPrefaceAsync(serverSide));
        await client.OpenStreamAsync(request, endStream: true);
        FramePeer.Frame headers = await server.ReadUntilAsync(Http2FrameType.Headers, f => f.StreamId == 1);
        Assert.Contains((":path", "/early"), server.Decode(headers.Payload));
        await serverSide.DisposeAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_request_carries_the_scheme_of_the_connection_it_is_sent_on()
    {
        // A TLS caller's request ("https") sent on a plaintext (h2c) connection says "http": destinations check it.
        (Http2Connection client, FramePeer server, PipeChannel serverSide, Task run) = await StartAsync();
        await ReadPrefaceAsync(serverSide);
        using Http2HeaderList request = Request("/scheme");

        await client.OpenStreamAsync(request, endStream: true);

        FramePeer.Frame headers = await server.ReadUntilAsync(Http2FrameType.Headers, f => f.StreamId == 1);
        var fields = server.Decode(headers.Payload);
        Assert.Contains((":scheme", "http"), fields);
        Assert.DoesNotContain((":scheme", "https"), fields);
        Assert.Contains((":path", "/scheme"), fields);
        await serverSide.DisposeAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task StreamsGetOddIdsInOrderAndResponsesArriveWithTrailers()
    {
        (Http2Connection client, FramePeer server, PipeChannel serverSide, Task run) = await StartAsync();
        Assert.Equal(Http2FrameWriter.ClientPreface.ToArray(), await ReadPrefaceAsync(serverSide));
        using Http2HeaderList first = Request("/a");
        using Http2HeaderList second = Request("/b");
        Http2Stream a = await client.OpenStreamAsync(first, endStream: true);
        Http2Stream b = await client.OpenStreamAsync(second, endStream: true);
        Assert.Equal(1, a.Id);
        Assert.Equal(3, b.Id);

        FramePeer.Frame headersA = await server.ReadUntilAsync(Http2FrameType.Headers, f => f.StreamId == 1);
        Assert.Contains((":path", "/a"), server.Decode(headersA.Payload));
        byte[] status = server.Encode((":status", "200"));
        byte[] trailers = server.Encode(("grpc-status", "0"));
        await server.SendAsync(o =>
        {
            Http2FrameWriter.WriteHeaders(o, 1, status, endStream: false, 16_384);
            Http2FrameWriter.WriteData(o, 1, "abc"u8, endStream: false);
            Http2FrameWriter.WriteHeaders(o, 1, trailers, endStream: true, 16_384);
        });

        using Http2HeaderList response = await a.ReadHeadersAsync();
        Assert.Equal("200", response.GetString(":status"u8));
        Assert.False(response.EndStream);
        System.IO.Pipelines.ReadResult data;
        while (!(data = await a.Data.ReadAsync()).IsCompleted)
        {
            a.Data.AdvanceTo(data.Buffer.Start, data.Buffer.End);
        }

        Assert.Equal("abc"u8.ToArray(), data.Buffer.ToArray());
        using Http2HeaderList? t = a.TryTakeTrailers();
        Assert.Equal("0", t?.GetString("grpc-status"u8));

        await serverSide.DisposeAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        await client.DisposeAsync();
    }

    [Fact]
    public async Task GoAwayFailsOnlyTheStreamsAboveTheLastStreamIdAsRetryable()
    {
        (Http2Connection client, FramePeer server, PipeChannel serverSide, Task run) = await StartAsync();
        await ReadPrefaceAsync(serverSide);
        using Http2HeaderList r1 = Request("/1");
        using Http2HeaderList r2 = Request("/2");
        Http2Stream kept = await client.OpenStreamAsync(r1, endStream: true);
        Http2Stream refused = await client.OpenStreamAsync(r2, endStream: true);
        await server.SendAsync(o => Http2FrameWriter.WriteGoAway(o, 1, Http2ErrorCode.NoError, default));

        var error = await Assert.ThrowsAsync<Http2StreamResetException>(async () => await refused.ReadHeadersAsync());
        Assert.True(error.Retryable);
        Assert.False(client.CanOpenStream);

        byte[] status = server.Encode((":status", "204"));
        await server.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, status, endStream: true, 16_384));
        using Http2HeaderList response = await kept.ReadHeadersAsync();
        Assert.Equal("204", response.GetString(":status"u8));
        await client.Idle.WaitAsync(TimeSpan.FromSeconds(5));

        await serverSide.DisposeAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        await client.DisposeAsync();
    }

    [Theory]
    [InlineData("HEAD", "200")]
    [InlineData("GET", "204")]
    [InlineData("GET", "304")]
    public async Task A_response_defined_to_have_no_content_may_carry_a_content_length_and_END_STREAM_on_its_HEADERS(string method, string status)
    {
        // RFC 9113 §8.1.1: "A response that is defined to have no content ... MAY have a non-zero content-length
        // header field, even though no content is included in DATA frames."
        (Http2Connection client, FramePeer server, PipeChannel serverSide, Task run) = await StartAsync();
        await ReadPrefaceAsync(serverSide);
        using var request = new Http2HeaderList();
        request.Add(":method", method);
        request.Add(":scheme", "https");
        request.Add(":path", "/head");
        Http2Stream stream = await client.OpenStreamAsync(request, endStream: true);

        byte[] head = server.Encode((":status", status), ("content-length", "29"));
        await server.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, head, endStream: true, 16_384));

        using Http2HeaderList response = await stream.ReadHeadersAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(status, response.GetString(":status"u8));
        Assert.Equal("29", response.GetString("content-length"u8));
        Assert.True(response.EndStream);
        Assert.Null(stream.ResetError);
        System.IO.Pipelines.ReadResult data = await stream.Data.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(data.IsCompleted);
        Assert.True(data.Buffer.IsEmpty);

        await serverSide.DisposeAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        await client.DisposeAsync();
    }

    [Fact]
    public async Task A_GET_response_whose_DATA_does_not_match_its_content_length_is_reset_as_malformed()
    {
        (Http2Connection client, FramePeer server, PipeChannel serverSide, Task run) = await StartAsync();
        await ReadPrefaceAsync(serverSide);
        using Http2HeaderList request = Request("/get");
        Http2Stream stream = await client.OpenStreamAsync(request, endStream: true);

        byte[] head = server.Encode((":status", "200"), ("content-length", "29"));
        await server.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, head, endStream: true, 16_384));

        var error = await Assert.ThrowsAsync<Http2StreamResetException>(async () => await stream.ReadHeadersAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(Http2ErrorCode.ProtocolError, error.Code);
        FramePeer.Frame rst = await server.ReadUntilAsync(Http2FrameType.RstStream);
        Assert.Equal((uint)Http2ErrorCode.ProtocolError, FramePeer.UInt32(rst.Payload, 0));

        await serverSide.DisposeAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        await client.DisposeAsync();
    }
}
