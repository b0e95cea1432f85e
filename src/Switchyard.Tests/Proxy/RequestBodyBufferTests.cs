using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Switchyard.Config;
using Switchyard.Http1;
using Switchyard.Proxy;
using Switchyard.Routing;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;

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
        Task read = buffer.ReadHttp1Async(pipe.Reader, head, Limits, TimeProvider.System).AsTask();
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
        Task read = buffer.ReadHttp1Async(pipe.Reader, head, Limits, TimeProvider.System).AsTask();
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
        await buffer.ReadHttp1Async(pipe.Reader, head, Limits, TimeProvider.System);

        Assert.Equal(RequestBodyState.TooLarge, buffer.State);
        Assert.Equal(framing.Contains("chunked", StringComparison.Ordinal) ? "41\r\n" + data : data, await RestAsync(pipe));
    }

    [Fact]
    public async Task A_body_slower_than_body_timeout_times_out_and_stays_in_the_pipe()
    {
        (Http1RequestHead head, Pipe pipe) = await HeadAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345");
        using var buffer = new RequestBodyBuffer();
        var clock = new ManualClock();
        Task read = buffer.ReadHttp1Async(pipe.Reader, head, Limits, clock).AsTask();
        await clock.WhenArmedAsync(); // the bodyTimeout timer
        Assert.False(read.IsCompleted);
        clock.Advance(Limits.BodyTimeout - TimeSpan.FromTicks(1));
        Assert.False(read.IsCompleted);
        await pipe.Writer.WriteAsync("67"u8.ToArray()); // a trickle before the deadline: still waiting
        Assert.False(read.IsCompleted);
        clock.Advance(TimeSpan.FromTicks(1));
        await read;

        Assert.Equal(RequestBodyState.TimedOut, buffer.State);
        await pipe.Writer.WriteAsync("890"u8.ToArray());
        Assert.Equal("1234567890", await RestAsync(pipe));
    }

    public static TheoryData<string, bool> Stalls => new()
    {
        { "pipe", false }, { "pipe", true },
        { "socket", false }, { "socket", true },
        { "tls", false }, { "tls", true },
    };

    /// <summary>
    /// A caller that sends part of a body and then nothing (its connection open) is decided at bodyTimeout (a fake
    /// clock moves it), and the exchange forwards the part it has at once, then the rest when it comes, byte-exact. Over
    /// a Pipe, the socket pipes and TLS (SslStream under a stream reader): on a Pipe, the read the timer woke left the
    /// next ReadAsync waiting for the caller's next bytes (the exchange's first read takes them with TryRead).
    /// </summary>
    [Theory]
    [MemberData(nameof(Stalls))]
    public async Task A_stalled_body_is_decided_at_body_timeout_and_the_part_that_came_is_forwarded_at_once(string transport, bool chunked)
    {
        byte[] data = Encoding.ASCII.GetBytes($$"""{"customer":{"id":42},"note":"{{new string('n', 40)}}"}""");
        string framing;
        byte[] wire, part;
        int partData;
        if (chunked)
        {
            framing = "Transfer-Encoding: chunked";
            byte[] first = data[..20], second = data[20..];
            wire = [.. Encoding.ASCII.GetBytes($"{first.Length:x}\r\n"), .. first, .. Encoding.ASCII.GetBytes($"\r\n{second.Length:x}\r\n"), .. second, .. "\r\n0\r\n\r\n"u8];
            partData = first.Length + 10;
            part = wire[..(wire.Length - (second.Length - 10) - 7)]; // the first chunk and 10 bytes of the second
        }
        else
        {
            framing = $"Content-Length: {data.Length}";
            wire = data;
            partData = 30;
            part = wire[..30];
        }

        await using Peer peer = await Peer.StartAsync(transport);
        byte[] headBytes = Encoding.ASCII.GetBytes($"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n{framing}\r\n\r\n");
        await peer.SendAsync([.. headBytes, .. part]);
        Http1RequestHead head = await peer.ReadHeadAsync(headBytes.Length + part.Length);

        using var buffer = new RequestBodyBuffer();
        var clock = new ManualClock();
        var limits = Limits with { MaxBodyBytes = 1024 };
        Task read = buffer.ReadHttp1Async(peer.Input, head, limits, clock).AsTask();
        await clock.WhenArmedAsync();
        Assert.False(read.IsCompleted); // the caller is silent: only the clock can end the wait
        clock.Advance(limits.BodyTimeout);
        await read.WaitAsync(Patience);
        Assert.Equal(RequestBodyState.TimedOut, buffer.State);

        // The exchange: what the caller sent so far reaches the destination now, without another byte from the caller.
        var app = new Pipe();
        using var decoder = new ChunkedDecoder();
        Task copy = Http1Bodies.CopyAsync(peer.Input, app.Writer, head.BodyKind, head.ContentLength, decoder, null, dechunk: true, held: true).AsTask();
        Assert.Equal(data[..partData], await ReadAtLeastAsync(app.Reader, partData));

        await peer.SendAsync(wire[part.Length..]);
        await copy.WaitAsync(Patience);
        await app.Writer.CompleteAsync();
        Assert.Equal(data[partData..], await ReadAtLeastAsync(app.Reader, data.Length - partData));
    }

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    /// <summary>Waits until the pipe holds at least <paramref name="count"/> bytes; returns them, consumed.</summary>
    private static async Task<byte[]> ReadAtLeastAsync(PipeReader reader, int count)
    {
        ReadResult read = await reader.ReadAtLeastAsync(count).AsTask().WaitAsync(Patience);
        byte[] bytes = read.Buffer.ToArray();
        reader.AdvanceTo(read.Buffer.End);
        return bytes;
    }

    /// <summary>The caller and the agent's reader of its bytes: a Pipe, the socket pipes (plaintext) or TLS.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        private readonly Func<byte[], Task> _send;
        private readonly IAsyncDisposable[] _owned;

        private Peer(PipeReader input, Func<byte[], Task> send, params IAsyncDisposable[] owned)
        {
            Input = input;
            _send = send;
            _owned = owned;
        }

        public PipeReader Input { get; }

        public static async Task<Peer> StartAsync(string transport)
        {
            if (transport == "pipe")
            {
                var pipe = new Pipe();
                return new Peer(pipe.Reader, async bytes => await pipe.Writer.WriteAsync(bytes));
            }

            (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
            SocketChannel agent = SocketChannel.FromAccepted(server);
            var caller = new NetworkStream(client, ownsSocket: true);
            if (transport == "socket")
            {
                return new Peer(agent.Input, async bytes => await caller.WriteAsync(bytes), agent, caller);
            }

            var ssl = new SslStream(agent.AsStream(), leaveInnerStreamOpen: true);
            var callerTls = new SslStream(caller);
            Task hello = callerTls.AuthenticateAsClientAsync(TestTls.ClientOptions(SslApplicationProtocol.Http11));
            await ssl.AuthenticateAsServerAsync(TestTls.ServerOptions(SslApplicationProtocol.Http11)).WaitAsync(Patience);
            await hello.WaitAsync(Patience);
            var channel = new TlsChannel(ssl, agent);
            return new Peer(channel.Input, async bytes =>
            {
                await callerTls.WriteAsync(bytes);
                await callerTls.FlushAsync();
            }, channel, callerTls);
        }

        public Task SendAsync(byte[] bytes) => _send(bytes);

        /// <summary>Waits for <paramref name="count"/> bytes (head and body so far), then takes the head off.</summary>
        public async Task<Http1RequestHead> ReadHeadAsync(int count)
        {
            ReadResult read = await Input.ReadAtLeastAsync(count).AsTask().WaitAsync(Patience);
            ReadOnlySequence<byte> buffer = read.Buffer;
            var head = new Http1RequestHead();
            Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));
            Input.AdvanceTo(buffer.Start);
            return head;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (IAsyncDisposable owned in _owned)
            {
                await owned.DisposeAsync();
            }
        }
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

    /// <summary>
    /// HTTP/2 DATA that stop coming (the stream open) are decided at bodyTimeout, and the part that came is there for the
    /// exchange at once (TryRead, as Http2Stream.ReadDataAsync takes it after a hold), then the rest as it comes.
    /// </summary>
    [Fact]
    public async Task Http2_data_that_stall_are_decided_at_body_timeout_and_stay_readable_at_once()
    {
        var pipe = new Pipe();
        using var buffer = new RequestBodyBuffer();
        var clock = new ManualClock();
        await pipe.Writer.WriteAsync("{\"id\":"u8.ToArray());
        Task read = buffer.ReadHttp2Async(pipe.Reader, 64, 1024, TimeSpan.FromSeconds(1), clock).AsTask();
        await clock.WhenArmedAsync();
        Assert.False(read.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        await read.WaitAsync(Patience);

        Assert.Equal(RequestBodyState.TimedOut, buffer.State);
        Assert.True(pipe.Reader.TryRead(out ReadResult held));
        Assert.False(held.IsCanceled); // the wake is not left for the exchange
        Assert.Equal("{\"id\":", Encoding.ASCII.GetString(held.Buffer.ToArray()));
        pipe.Reader.AdvanceTo(held.Buffer.End);
        await pipe.Writer.WriteAsync("42}"u8.ToArray());
        await pipe.Writer.CompleteAsync();
        ReadResult rest = await pipe.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal("42}", Encoding.ASCII.GetString(rest.Buffer.ToArray()));
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
