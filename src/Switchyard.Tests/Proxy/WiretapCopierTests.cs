using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Proxy;
using Switchyard.Routing;
using Switchyard.Tests.TestSupport;
using Switchyard.Upstream;

namespace Switchyard.Tests.Proxy;

public sealed class WiretapCopierTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static byte[] Head(long contentLength) => Encoding.ASCII.GetBytes(
        "POST /upload HTTP/1.1\r\nHost: shop.local\r\n" + (contentLength < 0 ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {contentLength}\r\n") + "\r\n");

    /// <summary>Letters only: a chunked copy's terminator can't occur inside it.</summary>
    private static byte[] Body(int length)
    {
        var body = new byte[length];
        var random = new Random(7);
        for (int i = 0; i < body.Length; i++)
        {
            body[i] = (byte)('a' + random.Next(26));
        }

        return body;
    }

    [Theory]
    [InlineData("POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Length: 5\r\n\r\n", 5, "Content-Length: 5\r\n")]
    [InlineData("POST /orders HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n", -1, "Transfer-Encoding: chunked\r\n")]
    [InlineData("GET /orders HTTP/1.1\r\nHost: shop\r\n\r\n", 0, null)]
    public void The_copy_of_an_http1_request_keeps_the_callers_length_or_goes_chunked(string request, long expectedLength, string? framing)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(request));
        using var head = new Switchyard.Http1.Http1RequestHead();
        Assert.True(Switchyard.Http1.Http1Parser.TryReadRequestHead(ref buffer, head, limits: null));

        string copy = Encoding.ASCII.GetString(WiretapCopier.Http1Head(head, out long length));

        Assert.Equal(expectedLength, length);
        Assert.EndsWith("\r\n\r\n", copy, StringComparison.Ordinal);
        if (framing is null)
        {
            Assert.DoesNotContain("Content-Length", copy, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Transfer-Encoding", copy, StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            Assert.Contains(framing, copy, StringComparison.Ordinal);
        }
    }

    private static async Task<string> DrainAsync(WiretapBody body)
    {
        var output = new ArrayBufferWriter<byte>();
        while (!await body.MoveToAsync(output).AsTask().WaitAsync(Patience))
        {
        }

        return Encoding.ASCII.GetString(output.WrittenSpan);
    }

    [Fact]
    public async Task A_copy_of_unknown_length_goes_chunked_as_the_body_passes_and_ends_with_the_last_chunk()
    {
        var body = new WiretapBody(contentLength: -1, new WiretapBuffer(1024), dropped: null);
        var copier = new WiretapCopier("POST", tls: true, sni: "shop.local", Head(-1), contentLength: -1);
        copier.StartWith(body);

        copier.OnData(new ReadOnlySequence<byte>("hel"u8.ToArray()));
        copier.OnData(new ReadOnlySequence<byte>("lo"u8.ToArray()));
        var output = new ArrayBufferWriter<byte>();
        Assert.False(await body.MoveToAsync(output)); // what passed so far goes out before the body ends
        Assert.Equal("5\r\nhello\r\n", Encoding.ASCII.GetString(output.WrittenSpan));

        ValueTask<bool> waiting = body.MoveToAsync(output); // nothing buffered: waits for the caller's next bytes
        Assert.False(waiting.IsCompleted);
        copier.OnData(new ReadOnlySequence<byte>(" world"u8.ToArray()));
        Assert.False(await waiting.AsTask().WaitAsync(Patience));
        copier.End();
        Assert.True(await body.MoveToAsync(output));

        Assert.Equal("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(11, body.Received);
    }

    [Fact]
    public async Task A_copy_of_known_length_carries_the_body_bytes_as_they_are()
    {
        var body = new WiretapBody(contentLength: 5, new WiretapBuffer(1024), dropped: null);
        var copier = new WiretapCopier("POST", tls: false, sni: null, Head(5), contentLength: 5);
        copier.StartWith(body);
        copier.OnData(new ReadOnlySequence<byte>("hello"u8.ToArray()));
        copier.End();

        Assert.Equal("hello", await DrainAsync(body));
    }

    [Fact]
    public async Task A_copy_that_falls_a_whole_buffer_behind_is_dropped_once_as_tap_too_slow_and_keeps_nothing()
    {
        var drops = new ConcurrentQueue<string>();
        var body = new WiretapBody(contentLength: -1, new WiretapBuffer(8), dropped: drops.Enqueue);
        var copier = new WiretapCopier("POST", tls: false, sni: null, Head(-1), contentLength: -1);
        copier.StartWith(body);

        copier.OnData(new ReadOnlySequence<byte>("12345678"u8.ToArray())); // exactly the buffer: kept
        Assert.False(body.IsGone);
        Assert.Equal(8, body.Buffered);
        copier.OnData(new ReadOnlySequence<byte>("9"u8.ToArray())); // one byte more than the tap took: dropped
        copier.OnData(new ReadOnlySequence<byte>("more"u8.ToArray()));
        copier.Fail();
        copier.End();

        Assert.True(body.IsGone);
        Assert.Equal(0, body.Buffered);
        Assert.Equal(["tap_too_slow"], drops.ToArray());
        WiretapDroppedException dropped = await Assert.ThrowsAsync<WiretapDroppedException>(() => body.MoveToAsync(new ArrayBufferWriter<byte>()).AsTask());
        Assert.Equal("tap_too_slow", dropped.Reason);
    }

    [Fact]
    public void The_copies_in_flight_to_one_tap_share_its_buffer_and_give_it_back_when_they_go()
    {
        var drops = new ConcurrentQueue<string>();
        var buffer = new WiretapBuffer(10);
        var first = new WiretapBody(contentLength: -1, buffer, drops.Enqueue);
        var second = new WiretapBody(contentLength: -1, buffer, drops.Enqueue);

        first.Write(new ReadOnlySequence<byte>("123456"u8.ToArray()));
        second.Write(new ReadOnlySequence<byte>("1234"u8.ToArray()));
        Assert.Equal(10, buffer.Used);
        second.Write(new ReadOnlySequence<byte>("5"u8.ToArray())); // the tap is 10 bytes behind its callers: dropped

        Assert.True(second.IsGone);
        Assert.False(first.IsGone);
        Assert.Equal(6, buffer.Used); // the dropped copy's bytes are given back
        first.Detach();
        Assert.Equal(0, buffer.Used);
        Assert.Equal(["tap_too_slow"], drops.ToArray());
    }

    [Fact]
    public async Task The_buffer_bounds_only_what_waits_so_a_tap_that_keeps_up_gets_a_body_many_times_its_size()
    {
        var drops = new ConcurrentQueue<string>();
        var body = new WiretapBody(contentLength: -1, new WiretapBuffer(1024), dropped: drops.Enqueue);
        var copier = new WiretapCopier("POST", tls: false, sni: null, Head(-1), contentLength: -1);
        copier.StartWith(body);
        var output = new ArrayBufferWriter<byte>();
        byte[] piece = Body(1000);

        for (int i = 0; i < 100; i++)
        {
            copier.OnData(new ReadOnlySequence<byte>(piece));
            Assert.False(await body.MoveToAsync(output)); // the tap takes each piece before the next one comes
        }

        copier.End();
        Assert.True(await body.MoveToAsync(output));

        Assert.Empty(drops);
        Assert.Equal(100 * (5 + 1000 + 2) + 5, output.WrittenCount); // "3e8\r\n" + piece + "\r\n" each, then "0\r\n\r\n"
    }

    [Fact]
    public void A_request_that_breaks_off_drops_its_open_copies_as_request_failed_but_not_one_whose_body_ended()
    {
        var drops = new ConcurrentQueue<string>();
        var open = new WiretapBody(contentLength: -1, new WiretapBuffer(1024), dropped: drops.Enqueue);
        var ended = new WiretapBody(contentLength: 0, new WiretapBuffer(1024), dropped: drops.Enqueue);
        ended.End();
        var copier = new WiretapCopier("POST", tls: false, sni: null, Head(-1), contentLength: -1);
        copier.StartWith(open, ended);

        copier.Fail();

        Assert.True(open.IsGone);
        Assert.False(ended.IsGone);
        Assert.Equal(["request_failed"], drops.ToArray());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3 * 1024 * 1024)]
    public async Task A_body_of_three_copy_buffers_streams_whole_to_a_real_tap_which_sees_the_head_before_the_body_ends(int contentLength)
    {
        const int Size = 3 * 1024 * 1024;
        byte[] payload = Body(Size);
        var headArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        byte[] head = Head(contentLength);
        await using var tap = new LoopbackServer(async socket =>
        {
            var all = new MemoryStream();
            var buffer = new byte[64 * 1024];
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }

                all.Write(buffer, 0, n);
                if (all.Length > head.Length)
                {
                    headArrived.TrySetResult();
                }

                bool whole = contentLength < 0
                    ? all.Length >= 5 && all.GetBuffer().AsSpan((int)all.Length - 5, 5).SequenceEqual("0\r\n\r\n"u8)
                    : all.Length == head.Length + contentLength;
                if (whole)
                {
                    received.TrySetResult(all.ToArray());
                    await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), SocketFlags.None);
                }
            }
        });
        var rule = new InterceptRule("tap", "web", InterceptMode.Wiretap, filter: null, target: $"127.0.0.1:{tap.Port}");
        var taps = new Wiretaps(_ => null, NullLogger.Instance) { TapBuffer = 1024 * 1024 };
        var copier = new WiretapCopier("POST", tls: false, sni: null, head, contentLength);

        copier.Start(taps, [rule]);
        WiretapBody body = Assert.Single(copier.Bodies);
        const int Piece = 64 * 1024;
        for (int sent = 0; sent < Size; sent += Piece)
        {
            // A caller paced to the tap: the copy never has more than one buffer waiting, so it is never dropped.
            while (body.Buffered + Piece > taps.TapBuffer)
            {
                await Task.Delay(1);
            }

            copier.OnData(new ReadOnlySequence<byte>(payload, sent, Piece));
            if (sent == Size / 2)
            {
                await headArrived.Task.WaitAsync(Patience); // half the body in: the tap already has the request
            }
        }

        copier.End();
        byte[] copy = await received.Task.WaitAsync(Patience);

        Assert.Equal(head, copy.AsSpan(0, head.Length).ToArray());
        byte[] copiedBody = contentLength < 0 ? Dechunk(copy.AsSpan(head.Length)) : copy.AsSpan(head.Length).ToArray();
        Assert.True(payload.AsSpan().SequenceEqual(copiedBody), $"the tap got {copiedBody.Length} body bytes, not the {Size} sent");
        var deadline = DateTime.UtcNow + Patience;
        while (taps.Delivered.Get("tap") != 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, taps.Delivered.Get("tap"));
        Assert.Null(taps.Drops.GetValueOrDefault("tap"));
    }

    [Fact]
    public async Task A_tap_that_never_reads_loses_the_copy_as_tap_too_slow_its_request_is_aborted_and_the_caller_never_waits()
    {
        var tapConnection = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var tap = new LoopbackServer(async socket =>
        {
            socket.ReceiveBufferSize = 4096; // accepts the connection, never reads
            tapConnection.SetResult(socket);
            await aborted.Task.WaitAsync(Patience);
        });
        var rule = new InterceptRule("tap", "web", InterceptMode.Wiretap, filter: null, target: $"127.0.0.1:{tap.Port}");
        var taps = new Wiretaps(_ => null, NullLogger.Instance) { TapBuffer = 64 * 1024 };
        var copier = new WiretapCopier("POST", tls: false, sni: null, Head(-1), contentLength: -1);
        copier.Start(taps, [rule]);
        WiretapBody body = Assert.Single(copier.Bodies);
        Socket stalled = await tapConnection.Task.WaitAsync(Patience); // the copy's request is under way

        // The caller's path: every OnData returns at once (it only copies); the copy is dropped once the tap is a
        // whole buffer behind, which a tap that never reads must be long before 1 GiB went by.
        byte[] piece = Body(64 * 1024);
        long fed = 0;
        while (!body.IsGone && fed < 1024L * 1024 * 1024)
        {
            copier.OnData(new ReadOnlySequence<byte>(piece));
            fed += piece.Length;
        }

        copier.End();
        Assert.True(body.IsGone, $"the copy was still open after {fed} bytes");
        Assert.Equal("tap_too_slow", body.DropReason);
        Assert.Equal(1, taps.Drops["tap"].Get("tap_too_slow"));

        // The tap request is aborted: the tap's side sees its connection end.
        var buffer = new byte[64 * 1024];
        var deadline = DateTime.UtcNow + Patience;
        try
        {
            while (await stalled.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Patience) > 0 && DateTime.UtcNow < deadline)
            {
            }
        }
        catch (SocketException)
        {
            // reset: the agent aborted the copy's request
        }

        aborted.SetResult();
        Assert.Equal(0, taps.Delivered.Get("tap"));
        Assert.Equal(1, taps.Drops["tap"].Snapshot().Sum(d => d.Value)); // no tap_error or tap_timeout on top
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> chunked)
    {
        var body = new MemoryStream();
        while (true)
        {
            int line = chunked.IndexOf("\r\n"u8);
            int size = int.Parse(Encoding.ASCII.GetString(chunked[..line]), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
            chunked = chunked[(line + 2)..];
            if (size == 0)
            {
                return body.ToArray();
            }

            body.Write(chunked[..size]);
            chunked = chunked[(size + 2)..];
        }
    }
}
