using System.Buffers;
using System.Text;
using Bogus;
using Switchyard.Http1;
using static Switchyard.Tests.Http1.Http1Text;

namespace Switchyard.Tests.Http1;

public sealed class Http1ParserRequestTests
{
    private const string Get = "GET /api/items?limit=5 HTTP/1.1\r\nHost: shop.local\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nx-dev: alice\r\n\r\n";
    private const string Post = "POST /v1/orders HTTP/1.1\r\nHost: shop.local\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\":\"a-1\"}\n";
    private const string Chunked = "PUT /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    private const string Http10 = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    private const string Upgrade = "GET /chat HTTP/1.1\r\nHost: ws.local\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    private const string EmptyLinesFirst = "\r\n\r\nDELETE /v1/intercepts/alice HTTP/1.1\r\nHost: h\r\n\r\n";

    public static TheoryData<string> ValidRequests() => [Get, Post, Chunked, Http10, Upgrade, EmptyLinesFirst];

    private static Http1RequestHead Parse(string text, Http1Limits? limits = null)
    {
        ReadOnlySequence<byte> buffer = Sequence(text);
        var head = new Http1RequestHead();
        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head, limits));
        return head;
    }

    private static void AssertRejected(string text, string reason, Http1Limits? limits = null)
    {
        foreach (ReadOnlySequence<byte> shape in Shapes(Bytes(text)))
        {
            ReadOnlySequence<byte> buffer = shape;
            var head = new Http1RequestHead();
            Http1ParseException e = Assert.Throws<Http1ParseException>(() => Http1Parser.TryReadRequestHead(ref buffer, head, limits));
            Assert.Equal(reason, e.Reason);
            Assert.DoesNotContain('\n', e.Reason);
        }
    }

    [Fact]
    public void A_get_is_parsed_into_method_target_path_version_and_fields()
    {
        ReadOnlySequence<byte> buffer = Sequence(Get);
        var head = new Http1RequestHead();

        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));

        Assert.Same(Http1Methods.Get, head.Method);
        Assert.Equal("/api/items?limit=5", head.Target);
        Assert.Equal("/api/items", head.Path);
        Assert.Equal("/api/items", head.PathSpan.ToString());
        Assert.Equal(RequestTargetForm.Origin, head.TargetForm);
        Assert.Equal(Http1Version.Http11, head.Version);
        Assert.Equal(4, head.Count);
        Assert.Equal("User-Agent", Text(head.Name(1)));
        Assert.Equal("curl/8.5.0", Text(head.Value(1)));
        Assert.True(head.TryGetValue("X-DEV"u8, out ReadOnlySpan<byte> dev));
        Assert.Equal("alice", Text(dev));
        Assert.False(head.TryGetValue("x-missing"u8, out _));
        Assert.Equal(["alice"], head.Values("X-Dev"));
        Assert.Equal("shop.local", Text(head.Host));
        Assert.Equal(BodyKind.None, head.BodyKind);
        Assert.True(head.KeepAlive);
        Assert.False(head.Expect100Continue);
        Assert.False(head.IsUpgrade);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void After_the_head_the_buffer_starts_at_the_body()
    {
        ReadOnlySequence<byte> buffer = Sequence(Post);
        var head = new Http1RequestHead();

        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));

        Assert.Equal(BodyKind.ContentLength, head.BodyKind);
        Assert.Equal(13, head.ContentLength);
        Assert.Equal("{\"id\":\"a-1\"}\n", Encoding.ASCII.GetString(buffer.ToArray()));
    }

    [Theory]
    [InlineData("GET", true)]
    [InlineData("POST", true)]
    [InlineData("PUT", true)]
    [InlineData("DELETE", true)]
    [InlineData("HEAD", true)]
    [InlineData("OPTIONS", true)]
    [InlineData("PATCH", true)]
    [InlineData("TRACE", true)]
    [InlineData("PROPFIND", false)]
    [InlineData("get", false)]
    public void Common_methods_are_shared_strings_and_others_are_kept_as_sent(string method, bool interned)
    {
        Http1RequestHead head = Parse($"{method} / HTTP/1.1\r\nHost: h\r\n\r\n");

        Assert.Equal(method, head.Method);
        Assert.Equal(interned, string.IsInterned(head.Method) is not null && ReferenceEquals(string.IsInterned(head.Method), head.Method));
    }

    [Theory]
    [InlineData("GET /a/b?c=d HTTP/1.1", "/a/b?c=d", "/a/b", RequestTargetForm.Origin)]
    [InlineData("GET / HTTP/1.1", "/", "/", RequestTargetForm.Origin)]
    [InlineData("GET /?q HTTP/1.1", "/?q", "/", RequestTargetForm.Origin)]
    [InlineData("GET http://shop.local:8080/x/y?z=1 HTTP/1.1", "http://shop.local:8080/x/y?z=1", "/x/y", RequestTargetForm.Absolute)]
    [InlineData("GET http://shop.local HTTP/1.1", "http://shop.local", "/", RequestTargetForm.Absolute)]
    [InlineData("GET https://shop.local?x HTTP/1.1", "https://shop.local?x", "/", RequestTargetForm.Absolute)]
    [InlineData("CONNECT shop.local:443 HTTP/1.1", "shop.local:443", "", RequestTargetForm.Authority)]
    [InlineData("OPTIONS * HTTP/1.1", "*", "*", RequestTargetForm.Asterisk)]
    public void Each_request_target_form_gives_its_path_without_the_query(string requestLine, string target, string path, RequestTargetForm form)
    {
        Http1RequestHead head = Parse(requestLine + "\r\nHost: shop.local\r\n\r\n");

        Assert.Equal(target, head.Target);
        Assert.Equal(path, head.Path);
        Assert.Equal(form, head.TargetForm);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1", BodyKind.None, 0L, true)]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "HTTP/1.1", BodyKind.None, 0L, false)]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, CLOSE\r\n\r\n", "HTTP/1.1", BodyKind.None, 0L, false)]
    [InlineData("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0", BodyKind.None, 0L, false)]
    [InlineData("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "HTTP/1.0", BodyKind.None, 0L, true)]
    [InlineData("POST / HTTP/1.0\r\nContent-Length: 7\r\n\r\n", "HTTP/1.0", BodyKind.ContentLength, 7L, false)]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1", BodyKind.ContentLength, 0L, true)]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", "HTTP/1.1", BodyKind.ContentLength, 5L, true)]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", "HTTP/1.1", BodyKind.ContentLength, 5L, true)]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n", "HTTP/1.1", BodyKind.ContentLength, long.MaxValue, true)]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1", BodyKind.Chunked, 0L, true)]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n", "HTTP/1.1", BodyKind.Chunked, 0L, true)]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "HTTP/1.1", BodyKind.Chunked, 0L, true)]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1", BodyKind.Chunked, 0L, true)]
    public void Framing_and_persistence_follow_rfc_9112(string text, string version, BodyKind kind, long length, bool keepAlive)
    {
        Http1RequestHead head = Parse(text);

        Assert.Equal(version == "HTTP/1.1" ? Http1Version.Http11 : Http1Version.Http10, head.Version);
        Assert.Equal(kind, head.BodyKind);
        Assert.Equal(length, head.ContentLength);
        Assert.Equal(keepAlive, head.KeepAlive);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n", true)]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n", true)]
    [InlineData("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n", false)]
    public void Expect_100_continue_is_recognised_on_http_1_1_only(string text, bool expected)
    {
        Assert.Equal(expected, Parse(text).Expect100Continue);
    }

    [Theory]
    [InlineData(Upgrade, true, false, "websocket")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", false, false, "websocket")]
    [InlineData("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", false, false, "websocket")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n", false, true, "h2c")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n\r\n", false, false, null)]
    public void Upgrades_are_recognised_and_h2c_is_flagged(string text, bool isUpgrade, bool isH2c, string? protocol)
    {
        Http1RequestHead head = Parse(text);

        Assert.Equal(isUpgrade, head.IsUpgrade);
        Assert.Equal(isH2c, head.IsH2cUpgrade);
        Assert.Equal(protocol, head.UpgradeProtocol);
    }

    [Theory]
    [InlineData("X-A:b", "b")]
    [InlineData("X-A: \t b \t ", "b")]
    [InlineData("X-A:", "")]
    [InlineData("X-A:    ", "")]
    [InlineData("X-A: a : b", "a : b")]
    [InlineData("X-A: caf\u00e9 \u00ff", "caf\u00e9 \u00ff")]
    [InlineData("X-A: a\tb", "a\tb")]
    public void Field_values_are_trimmed_of_whitespace_and_may_hold_colons_tabs_and_obs_text(string line, string value)
    {
        Http1RequestHead head = Parse($"GET / HTTP/1.1\r\nHost: h\r\n{line}\r\n\r\n");

        Assert.True(head.TryGetValue("x-a"u8, out ReadOnlySpan<byte> actual));
        Assert.Equal(value, Text(actual));
    }

    [Theory]
    // Request line
    [InlineData("GET /\r\nHost: h\r\n\r\n", "malformed request line")]
    [InlineData("GET\r\nHost: h\r\n\r\n", "malformed request line")]
    [InlineData("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", "malformed request line")]
    [InlineData("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", "malformed request line")]
    [InlineData("GET / extra HTTP/1.1\r\nHost: h\r\n\r\n", "malformed request line")]
    [InlineData("GET / http/1.1\r\nHost: h\r\n\r\n", "malformed request line")]
    [InlineData("GET / HTTP/2.0\r\nHost: h\r\n\r\n", "unsupported HTTP version")]
    [InlineData("GET / HTTP/0.9\r\nHost: h\r\n\r\n", "unsupported HTTP version")]
    [InlineData(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", "invalid character in method")]
    [InlineData("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", "invalid character in method")]
    [InlineData("G\u00c9T / HTTP/1.1\r\nHost: h\r\n\r\n", "invalid character in method")]
    [InlineData("GET /\u00e9 HTTP/1.1\r\nHost: h\r\n\r\n", "invalid character in request-target")]
    [InlineData("GET /a\u0001b HTTP/1.1\r\nHost: h\r\n\r\n", "invalid character in request-target")]
    [InlineData("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", "invalid character in request-target")]
    [InlineData("GET shop.local HTTP/1.1\r\nHost: h\r\n\r\n", "invalid request-target")]
    [InlineData("GET * HTTP/1.1\r\nHost: h\r\n\r\n", "asterisk-form target is only for OPTIONS")]
    [InlineData("CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", "CONNECT needs an authority-form target")]
    [InlineData("CONNECT http://h:443 HTTP/1.1\r\nHost: h\r\n\r\n", "CONNECT needs an authority-form target")]
    // Line ends: CRLF only
    [InlineData("GET / HTTP/1.1\nHost: h\r\n\r\n", "bare LF in message head")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\nX-A: b\r\n\r\n", "bare LF in message head")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\n\r\n\r\n", "bare LF in message head")]
    [InlineData("GET / HTTP/1.1\rHost: h\r\n\r\n", "bare CR in message head")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\rX-A: b\r\n\r\n", "bare CR in message head")]
    [InlineData("GET / HTTP/1.1\r\nX-A: a\rb\r\nHost: h\r\n\r\n", "bare CR in message head")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", "bare CR in message head")]
    // Field lines
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", "obsolete line folding (obs-fold)")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", "obsolete line folding (obs-fold)")]
    [InlineData("GET / HTTP/1.1\r\n Host: h\r\n\r\n", "whitespace before the first header field")]
    [InlineData("GET / HTTP/1.1\r\nHost : h\r\n\r\n", "whitespace between header field name and colon")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nContent-Length\t: 5\r\n\r\n", "whitespace between header field name and colon")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX(A): b\r\n\r\n", "invalid character in header field name")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX\u00c4: b\r\n\r\n", "invalid character in header field name")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n: b\r\n\r\n", "empty header field name")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX-A\r\n\r\n", "header line without a colon")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u0000b\r\n\r\n", "control character in header field value")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u001bb\r\n\r\n", "control character in header field value")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u007f\r\n\r\n", "control character in header field value")]
    // Host
    [InlineData("GET / HTTP/1.1\r\nX-A: b\r\n\r\n", "missing Host header")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "more than one Host header")]
    [InlineData("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", "more than one Host header")]
    // Content-Length
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,2\r\n\r\n", "conflicting Content-Length values")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting Content-Length values")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,\r\n\r\n", "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\n", "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1.0\r\n\r\n", "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n", "invalid Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length")]
    // Transfer-Encoding
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "both Transfer-Encoding and Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "both Transfer-Encoding and Content-Length")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding does not end with chunked")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "Transfer-Encoding does not end with chunked")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "chunked applied more than once")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked applied more than once")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity, chunked\r\n\r\n", "unknown transfer coding")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", "unknown transfer coding")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", "invalid Transfer-Encoding")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", "invalid Transfer-Encoding")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,chunked\r\n\r\n", "invalid Transfer-Encoding")]
    [InlineData("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", "invalid Transfer-Encoding")]
    [InlineData("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in an HTTP/1.0 message")]
    public void Malformed_or_ambiguous_requests_are_rejected_with_a_one_line_reason(string text, string reason)
    {
        AssertRejected(text, reason);
    }

    [Theory]
    [MemberData(nameof(ValidRequests))]
    public void Every_strict_prefix_of_a_valid_head_needs_more_and_consumes_nothing(string text)
    {
        byte[] bytes = Bytes(text);
        ReadOnlySequence<byte> whole = new(bytes);
        Assert.True(Http1Parser.TryReadRequestHead(ref whole, new Http1RequestHead()));
        int headLength = bytes.Length - (int)whole.Length;

        var head = new Http1RequestHead();
        foreach ((int length, ReadOnlySequence<byte> prefix) in StrictPrefixes(bytes[..headLength]))
        {
            ReadOnlySequence<byte> buffer = prefix;

            Assert.False(Http1Parser.TryReadRequestHead(ref buffer, head), $"prefix of {length} bytes");
            Assert.Equal(prefix.Start, buffer.Start);
            Assert.Equal(prefix.End, buffer.End);
        }
    }

    [Theory]
    [MemberData(nameof(ValidRequests))]
    public void A_head_split_into_segments_parses_like_a_contiguous_one(string text)
    {
        byte[] bytes = Bytes(text);
        Http1RequestHead expected = Parse(text);

        foreach (ReadOnlySequence<byte> shape in Shapes(bytes))
        {
            ReadOnlySequence<byte> buffer = shape;
            var head = new Http1RequestHead();
            Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));

            Assert.Equal(expected.Method, head.Method);
            Assert.Equal(expected.Target, head.Target);
            Assert.Equal(expected.BodyKind, head.BodyKind);
            Assert.Equal(expected.Count, head.Count);
            for (int i = 0; i < head.Count; i++)
            {
                Assert.Equal(Text(expected.Name(i)), Text(head.Name(i)));
                Assert.Equal(Text(expected.Value(i)), Text(head.Value(i)));
            }

            Assert.Equal(Bytes(text)[(bytes.Length - (int)buffer.Length)..], buffer.ToArray());
        }
    }

    [Fact]
    public void Pipelined_requests_are_read_one_at_a_time_into_one_reused_head()
    {
        ReadOnlySequence<byte> buffer = Switchyard.Tests.TestSupport.Segments.Split(Bytes(Get + Upgrade + Http10), 11);
        var head = new Http1RequestHead();

        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));
        Assert.Equal(4, head.Count);
        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));
        Assert.Equal("/chat", head.Path);
        Assert.True(head.IsUpgrade);
        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));
        Assert.Equal("/", head.Path);
        Assert.Equal(1, head.Count);
        Assert.False(head.HasHost);
        Assert.False(head.IsUpgrade);
        Assert.Null(head.UpgradeProtocol);
        Assert.True(head.KeepAlive);
        Assert.True(buffer.IsEmpty);
        Assert.False(Http1Parser.TryReadRequestHead(ref buffer, head));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\n", "bare LF in message head")]
    [InlineData("GET / HTTP/1.1\nHost: h\n\n", "bare LF in message head")]
    [InlineData("GET / HTTP/1.1\r\nHost: h\n", "bare LF in message head")]
    [InlineData("GET / HTTP/1.1\rHost", "bare CR in message head")]
    [InlineData("GET / HTTP/1.1\r\r\n", "bare CR in message head")]
    public void A_bare_line_end_is_rejected_before_the_head_is_complete(string text, string reason)
    {
        AssertRejected(text, reason);
    }

    [Fact]
    public void Parsing_into_a_reused_head_allocates_only_the_target_string()
    {
        string text = "GET /api/items?limit=5 HTTP/1.1\r\nHost: shop.local\r\n" +
            string.Concat(Enumerable.Range(0, 30).Select(i => $"X-Header-{i}: value number {i}\r\n")) + "\r\n";
        byte[] bytes = Bytes(text);
        var head = new Http1RequestHead();
        ReadOnlySequence<byte> warmup = new(bytes);
        Assert.True(Http1Parser.TryReadRequestHead(ref warmup, head));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            ReadOnlySequence<byte> buffer = new(bytes);
            Http1Parser.TryReadRequestHead(ref buffer, head);
            head.TryGetValue("x-header-29"u8, out _);
        }

        long perRequest = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;

        // "/api/items?limit=5" is an 18-char string: about 60 bytes. Nothing per header.
        Assert.True(perRequest < 100, $"{perRequest} bytes per request");
    }

    [Fact]
    public void Empty_lines_before_the_request_line_are_skipped()
    {
        ReadOnlySequence<byte> buffer = Sequence(EmptyLinesFirst);
        var head = new Http1RequestHead();

        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));

        Assert.Same(Http1Methods.Delete, head.Method);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void A_head_that_grows_past_the_limit_without_ending_is_rejected_before_more_is_read()
    {
        string start = "GET / HTTP/1.1\r\nX-Fill: ";
        AssertRejected(start + new string('a', Http1Limits.Default.MaxHeadBytes + 1 - start.Length), "request head too large");
    }

    [Fact]
    public void A_request_line_longer_than_a_custom_limit_is_rejected_before_its_end()
    {
        AssertRejected("GET /" + new string('a', 200), "request head too large", new Http1Limits { MaxHeadBytes = 100 });
    }

    [Fact]
    public void A_complete_head_over_the_limit_is_rejected()
    {
        AssertRejected("GET / HTTP/1.1\r\nHost: h\r\nX-Fill: " + new string('a', Http1Limits.Default.MaxHeadBytes) + "\r\n\r\n", "request head too large");
    }

    [Fact]
    public void A_head_of_exactly_the_limit_is_accepted_whole_and_every_prefix_near_the_end_waits()
    {
        string start = "GET / HTTP/1.1\r\nHost: h\r\nX-Fill: ";
        int limit = Http1Limits.Default.MaxHeadBytes;
        byte[] bytes = Bytes(start + new string('a', limit - start.Length) + "\r\n\r\n");
        Http1RequestHead head = Parse(Encoding.Latin1.GetString(bytes));
        Assert.Equal(limit - start.Length, head.Value(1).Length);

        for (int length = limit - 2; length < bytes.Length; length++)
        {
            ReadOnlySequence<byte> prefix = new(bytes, 0, length);
            Assert.False(Http1Parser.TryReadRequestHead(ref prefix, head), $"prefix of {length} bytes");
        }
    }

    [Fact]
    public void Too_many_header_fields_are_rejected_and_the_limit_itself_is_accepted()
    {
        string Request(int count) =>
            "GET / HTTP/1.1\r\nHost: h\r\n" + string.Concat(Enumerable.Range(1, count - 1).Select(i => $"X-{i}: {i}\r\n")) + "\r\n";

        Assert.Equal(100, Parse(Request(100)).Count);
        AssertRejected(Request(101), "too many header fields");
        Assert.Equal(10, Parse(Request(10), new Http1Limits { MaxHeaderCount = 10 }).Count);
        AssertRejected(Request(11), "too many header fields", new Http1Limits { MaxHeaderCount = 10 });
    }

    [Fact]
    public void Generated_field_lines_come_back_byte_for_byte_in_order()
    {
        var faker = new Faker { Random = new Randomizer(9112) };
        const string tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        var head = new Http1RequestHead();
        for (int round = 0; round < 50; round++)
        {
            var fields = new List<(string Name, string Value)>();
            int count = faker.Random.Int(0, 40);
            for (int i = 0; i < count; i++)
            {
                string name = "X-" + new string(faker.Random.ArrayElements(tchars.ToCharArray(), faker.Random.Int(1, 20)));
                string value = faker.Random.Bool() ? faker.Lorem.Sentence() : faker.Internet.Url();
                fields.Add((name, value));
            }

            string text = "GET /r HTTP/1.1\r\nHost: h\r\n" + string.Concat(fields.Select(f => $"{f.Name}: {f.Value}\r\n")) + "\r\n";
            ReadOnlySequence<byte> buffer = Switchyard.Tests.TestSupport.Segments.Split(Bytes(text), faker.Random.Int(1, 64));

            Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));

            Assert.Equal(count + 1, head.Count);
            for (int i = 0; i < count; i++)
            {
                Assert.Equal(fields[i].Name, Text(head.Name(i + 1)));
                Assert.Equal(fields[i].Value, Text(head.Value(i + 1)));
            }
        }
    }

    [Theory]
    [InlineData("GET /a#x HTTP/1.1\r\nHost: h\r\n\r\n", "fragment in request-target")]
    [InlineData("GET /a?b#x HTTP/1.1\r\nHost: h\r\n\r\n", "fragment in request-target")]
    [InlineData("GET http://h/a# HTTP/1.1\r\nHost: h\r\n\r\n", "fragment in request-target")]
    [InlineData("GET http://user@h/a HTTP/1.1\r\nHost: h\r\n\r\n", "invalid authority in request-target")]
    [InlineData("GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n", "invalid authority in request-target")]
    [InlineData("GET http://:80/a HTTP/1.1\r\nHost: h\r\n\r\n", "invalid authority in request-target")]
    public void A_fragment_or_a_malformed_authority_in_the_target_is_rejected(string text, string reason) => AssertRejected(text, reason);

    [Theory]
    [InlineData("GET http://other.example:8080/x/y?z=1 HTTP/1.1", "other.example:8080", "/x/y?z=1")]
    [InlineData("GET http://other.example HTTP/1.1", "other.example", "/")]
    [InlineData("GET https://other.example?q=1 HTTP/1.1", "other.example", "/?q=1")]
    [InlineData("GET /x?y HTTP/1.1", "", "/x?y")]
    [InlineData("OPTIONS * HTTP/1.1", "", "*")]
    public void An_absolute_form_target_exposes_its_authority_and_origin_form(string requestLine, string authority, string originForm)
    {
        Http1RequestHead head = Parse(requestLine + "\r\nHost: shop.local\r\n\r\n");

        Assert.Equal(authority, head.Authority.ToString());
        Assert.Equal(originForm, head.OriginFormTarget);
    }
}
