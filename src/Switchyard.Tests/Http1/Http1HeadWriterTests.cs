using System.Buffers;
using Switchyard.Http1;
using static Switchyard.Tests.Http1.Http1Text;

namespace Switchyard.Tests.Http1;

public sealed partial class Http1HeadWriterTests
{
    private static Http1RequestHead Request(string text)
    {
        ReadOnlySequence<byte> buffer = Sequence(text);
        var head = new Http1RequestHead();
        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));
        return head;
    }

    private static Http1ResponseHead Response(string text, string method = "GET")
    {
        ReadOnlySequence<byte> buffer = Sequence(text);
        var head = new Http1ResponseHead();
        Assert.True(Http1Parser.TryReadResponseHead(ref buffer, head, method));
        return head;
    }

    private static string Write(Action<ArrayBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return Text(output.WrittenSpan);
    }

    [Fact]
    public void An_end_to_end_request_is_forwarded_byte_for_byte_as_http_1_1()
    {
        Http1RequestHead head = Request("GET /api?x=1 HTTP/1.1\r\nHost: shop.local\r\nx-dev: alice\r\nAccept:   */*  \r\nX-Forwarded-For: 10.0.0.1\r\n\r\n");

        string written = Write(o => Http1HeadWriter.WriteRequestHead(o, head));

        Assert.Equal("GET /api?x=1 HTTP/1.1\r\nHost: shop.local\r\nx-dev: alice\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n", written);
    }

    [Fact]
    public void Hop_by_hop_fields_and_the_fields_connection_names_are_removed()
    {
        Http1RequestHead head = Request(
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret, Host\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n" +
            "TE: trailers\r\nX-Secret: 1\r\nx-secret: 2\r\nX-Kept: 3\r\nProxy-Authorization: Basic Zm9v\r\n\r\n");

        string written = Write(o => Http1HeadWriter.WriteRequestHead(o, head));

        Assert.Equal("GET / HTTP/1.1\r\nHost: h\r\nX-Kept: 3\r\nProxy-Authorization: Basic Zm9v\r\n\r\n", written);
    }

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nX-A: 1\r\n\r\n", "POST / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 5\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n", "POST / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("POST / HTTP/1.0\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\n\r\n")]
    public void The_request_keeps_its_framing_rewritten_by_the_proxy(string text, string expected)
    {
        Http1RequestHead head = Request(text);

        Assert.Equal(expected, Write(o => Http1HeadWriter.WriteRequestHead(o, head)));
    }

    [Fact]
    public void The_proxy_can_choose_other_framing_and_close_the_upstream_connection()
    {
        Http1RequestHead head = Request("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");

        string written = Write(o => Http1HeadWriter.WriteRequestHead(o, head, BodyKind.ContentLength, 1234, connectionClose: true));

        Assert.Equal("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1234\r\nConnection: close\r\n\r\n", written);
    }

    [Fact]
    public void A_websocket_upgrade_is_forwarded_only_when_asked()
    {
        Http1RequestHead head = Request("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");

        Assert.Equal(
            "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nConnection: upgrade\r\n\r\n",
            Write(o => Http1HeadWriter.WriteRequestHead(o, head, forwardUpgrade: true)));
        Assert.Equal(
            "GET /chat HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Version: 13\r\n\r\n",
            Write(o => Http1HeadWriter.WriteRequestHead(o, head)));
    }

    [Fact]
    public void An_h2c_upgrade_is_never_forwarded()
    {
        Http1RequestHead head = Request("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");

        Assert.Equal("GET / HTTP/1.1\r\nHost: h\r\n\r\n", Write(o => Http1HeadWriter.WriteRequestHead(o, head, forwardUpgrade: true)));
    }

    [Theory]
    [InlineData("GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")]
    [InlineData("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nETag: \"x\"\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nETag: \"x\"\r\n\r\n")]
    [InlineData("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5000\r\nKeep-Alive: timeout=5\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5000\r\n\r\n")]
    [InlineData("GET", "HTTP/1.0 200 OK\r\nServer: old\r\n\r\n", "HTTP/1.1 200 OK\r\nServer: old\r\nConnection: close\r\n\r\n")]
    [InlineData("GET", "HTTP/1.1 404 \r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 404 \r\nTransfer-Encoding: chunked\r\n\r\n")]
    public void A_response_is_forwarded_with_its_framing_and_without_hop_by_hop_fields(string method, string text, string expected)
    {
        Http1ResponseHead head = Response(text, method);

        Assert.Equal(expected, Write(o => Http1HeadWriter.WriteResponseHead(o, head)));
    }

    [Fact]
    public void A_101_keeps_its_upgrade_when_the_upgrade_is_forwarded()
    {
        Http1ResponseHead head = Response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n\r\n");

        Assert.Equal(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: abc=\r\nConnection: upgrade\r\n\r\n",
            Write(o => Http1HeadWriter.WriteResponseHead(o, head, forwardUpgrade: true)));
    }

    [Fact]
    public void An_until_close_body_can_be_re_framed_as_chunked_for_a_keep_alive_caller()
    {
        Http1ResponseHead head = Response("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");

        Assert.Equal(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
            Write(o => Http1HeadWriter.WriteResponseHead(o, head, BodyKind.Chunked, 0)));
    }

    [Fact]
    public void A_forwarded_head_parses_back_to_the_same_fields()
    {
        Http1RequestHead head = Request("PATCH /a/b HTTP/1.1\r\nHost: h:8080\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 3\r\nConnection: x-a\r\nX-B: \u00e9\r\n\r\n");
        byte[] written = Http1Text.Bytes(Write(o => Http1HeadWriter.WriteRequestHead(o, head)));

        ReadOnlySequence<byte> buffer = new(written);
        var parsed = new Http1RequestHead();
        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, parsed));

        Assert.Same(Http1Methods.Patch, parsed.Method);
        Assert.Equal(BodyKind.ContentLength, parsed.BodyKind);
        Assert.Equal(3, parsed.ContentLength);
        Assert.Equal(["\u00e9"], parsed.Values("x-b"));
        Assert.Empty(parsed.Values("x-a"));
    }

    [Fact]
    public void An_absolute_form_target_goes_on_in_origin_form_with_its_authority_as_the_host()
    {
        Http1RequestHead head = Request("GET http://other.example:81/x?y=1 HTTP/1.1\r\nHost: shop.local\r\nX-A: 1\r\n\r\n");

        string written = Write(o => Http1HeadWriter.WriteRequestHead(o, head, defaultHost: "app:80"));

        Assert.Equal("GET /x?y=1 HTTP/1.1\r\nHost: other.example:81\r\nX-A: 1\r\n\r\n", written);
    }

    [Fact]
    public void An_http_1_0_request_without_host_gets_the_default_host_and_one_with_host_keeps_its_own()
    {
        Http1RequestHead without = Request("GET /a HTTP/1.0\r\nX-A: 1\r\n\r\n");
        Http1RequestHead with = Request("GET /a HTTP/1.0\r\nHost: mine\r\n\r\n");

        Assert.Equal("GET /a HTTP/1.1\r\nHost: app.local:8080\r\nX-A: 1\r\n\r\n", Write(o => Http1HeadWriter.WriteRequestHead(o, without, defaultHost: "app.local:8080")));
        Assert.Equal("GET /a HTTP/1.1\r\nHost: mine\r\n\r\n", Write(o => Http1HeadWriter.WriteRequestHead(o, with, defaultHost: "app.local:8080")));
    }

    [Fact]
    public void A_response_to_an_http_1_0_caller_can_announce_keep_alive_and_is_never_chunked_when_close_delimited()
    {
        Http1ResponseHead chunked = Response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n");
        Http1ResponseHead sized = Response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");

        Assert.Equal("HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\n",
            Write(o => Http1HeadWriter.WriteResponseHead(o, chunked, BodyKind.UntilClose, 0, keepAlive: true)));
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n",
            Write(o => Http1HeadWriter.WriteResponseHead(o, sized, BodyKind.ContentLength, 3, keepAlive: true)));
    }
}
