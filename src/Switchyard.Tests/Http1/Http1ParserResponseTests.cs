using System.Buffers;
using Switchyard.Http1;
using static Switchyard.Tests.Http1.Http1Text;

namespace Switchyard.Tests.Http1;

public sealed class Http1ParserResponseTests
{
    private const string Ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    private const string Chunked = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nLocation: /orders/1\r\n\r\n0\r\n\r\n";
    private const string Continue = "HTTP/1.1 100 Continue\r\n\r\n";
    private const string Switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    private const string NoReason = "HTTP/1.0 404\r\nServer: x\r\n\r\n";

    public static TheoryData<string> ValidResponses() => [Ok, Chunked, Continue, Switching, NoReason];

    private static Http1ResponseHead Parse(string text, string method = "GET")
    {
        ReadOnlySequence<byte> buffer = Sequence(text);
        var head = new Http1ResponseHead();
        Assert.True(Http1Parser.TryReadResponseHead(ref buffer, head, method));
        return head;
    }

    [Fact]
    public void A_200_is_parsed_into_status_reason_fields_and_framing()
    {
        ReadOnlySequence<byte> buffer = Sequence(Ok);
        var head = new Http1ResponseHead();

        Assert.True(Http1Parser.TryReadResponseHead(ref buffer, head, Http1Methods.Get));

        Assert.Equal(200, head.StatusCode);
        Assert.Equal("OK", Text(head.ReasonPhrase));
        Assert.Equal(Http1Version.Http11, head.Version);
        Assert.Equal(2, head.Count);
        Assert.Equal("text/plain", Text(head.Value(0)));
        Assert.Equal(BodyKind.ContentLength, head.BodyKind);
        Assert.Equal(5, head.ContentLength);
        Assert.True(head.KeepAlive);
        Assert.False(head.IsInterim);
        Assert.Equal("hello", Text(buffer.ToArray()));
    }

    [Theory]
    [InlineData("HTTP/1.1 100 Continue\r\n\r\n", true, true, false)]
    [InlineData("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", true, false, false)]
    [InlineData(Switching, false, false, true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false, false)]
    public void Interim_and_switching_protocols_responses_are_recognised(string text, bool interim, bool isContinue, bool switching)
    {
        Http1ResponseHead head = Parse(text);

        Assert.Equal(interim, head.IsInterim);
        Assert.Equal(isContinue, head.IsContinue);
        Assert.Equal(switching, head.IsSwitchingProtocols);
        Assert.Equal(switching, head.IsUpgrade);
        if (interim || switching)
        {
            Assert.Equal(BodyKind.None, head.BodyKind);
        }
    }

    [Fact]
    public void A_101_names_the_protocol_switched_to()
    {
        Assert.Equal("websocket", Parse(Switching).UpgradeProtocol);
    }

    [Theory]
    // RFC 9112 §6.3 (1): HEAD, 1xx, 204, 304 never have a body, whatever the fields say.
    [InlineData("HEAD", 200, "Content-Length: 100", BodyKind.None, true)]
    [InlineData("HEAD", 200, "Transfer-Encoding: chunked", BodyKind.None, true)]
    [InlineData("HEAD", 404, "", BodyKind.None, true)]
    [InlineData("GET", 100, "", BodyKind.None, true)]
    [InlineData("POST", 103, "Content-Length: 10", BodyKind.None, true)]
    [InlineData("GET", 204, "Content-Length: 10", BodyKind.None, true)]
    [InlineData("GET", 204, "", BodyKind.None, true)]
    [InlineData("GET", 304, "Content-Length: 10", BodyKind.None, true)]
    [InlineData("GET", 304, "Transfer-Encoding: chunked", BodyKind.None, true)]
    // (2): a 2xx to CONNECT is a tunnel; other answers to CONNECT are framed as usual.
    [InlineData("CONNECT", 200, "", BodyKind.Tunnel, false)]
    [InlineData("CONNECT", 200, "Content-Length: 10", BodyKind.Tunnel, false)]
    [InlineData("CONNECT", 407, "Content-Length: 10", BodyKind.ContentLength, true)]
    [InlineData("CONNECT", 502, "", BodyKind.UntilClose, false)]
    // (4): chunked last -> chunked; another coding last -> until close.
    [InlineData("GET", 200, "Transfer-Encoding: chunked", BodyKind.Chunked, true)]
    [InlineData("GET", 200, "Transfer-Encoding: gzip, chunked", BodyKind.Chunked, true)]
    [InlineData("GET", 200, "Transfer-Encoding: gzip", BodyKind.UntilClose, false)]
    [InlineData("POST", 500, "Transfer-Encoding: chunked, gzip", BodyKind.UntilClose, false)]
    // (6): Content-Length.
    [InlineData("GET", 200, "Content-Length: 0", BodyKind.ContentLength, true)]
    [InlineData("POST", 201, "Content-Length: 42", BodyKind.ContentLength, true)]
    [InlineData("GET", 200, "Content-Length: 42\r\nConnection: close", BodyKind.ContentLength, false)]
    // (8): otherwise until close.
    [InlineData("GET", 200, "", BodyKind.UntilClose, false)]
    [InlineData("GET", 500, "Connection: keep-alive", BodyKind.UntilClose, false)]
    public void Response_framing_depends_on_the_request_method_the_status_and_the_fields(string method, int status, string fields, BodyKind expected, bool keepAlive)
    {
        string text = $"HTTP/1.1 {status} X\r\n" + (fields.Length > 0 ? fields + "\r\n" : "") + "\r\n";

        Http1ResponseHead head = Parse(text, method);

        Assert.Equal(expected, head.BodyKind);
        Assert.Equal(keepAlive, head.KeepAlive);
    }

    [Theory]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", true)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", false)]
    public void Persistence_follows_the_version_and_connection_options(string text, bool keepAlive)
    {
        Assert.Equal(keepAlive, Parse(text).KeepAlive);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "both Transfer-Encoding and Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting Content-Length values")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n", "invalid Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked\r\n\r\n", "unknown transfer coding")]
    [InlineData("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in an HTTP/1.0 message")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", "obsolete line folding (obs-fold)")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A : a\r\n\r\n", "whitespace between header field name and colon")]
    [InlineData("HTTP/1.1 200 OK\nX-A: a\r\n\r\n", "bare LF in message head")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", "bare CR in message head")]
    [InlineData("HTTP/1.1 200 O\u0001K\r\n\r\n", "control character in reason phrase")]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n", "malformed status line")]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n", "malformed status line")]
    [InlineData("HTTP/1.1  200 OK\r\n\r\n", "malformed status line")]
    [InlineData("HTTP/1.1 2x0 OK\r\n\r\n", "malformed status line")]
    [InlineData("HTTP/1.1\r\n\r\n", "malformed status line")]
    [InlineData("HTTP/1.1 099 Low\r\n\r\n", "invalid status code")]
    [InlineData("HTTP/1.1 600 High\r\n\r\n", "invalid status code")]
    [InlineData("HTTP/2.0 200 OK\r\n\r\n", "unsupported HTTP version")]
    [InlineData("ICY/1.0 200 OK\r\n\r\n", "malformed status line")]
    public void Malformed_or_ambiguous_responses_are_rejected(string text, string reason)
    {
        foreach (ReadOnlySequence<byte> shape in Shapes(Bytes(text)))
        {
            ReadOnlySequence<byte> buffer = shape;
            Http1ParseException e = Assert.Throws<Http1ParseException>(() => Http1Parser.TryReadResponseHead(ref buffer, new Http1ResponseHead(), "GET"));
            Assert.Equal(reason, e.Reason);
        }
    }

    [Fact]
    public void A_response_head_over_the_limit_is_rejected_before_its_end()
    {
        ReadOnlySequence<byte> buffer = Sequence("HTTP/1.1 200 OK\r\nX-Fill: " + new string('a', 200));

        Http1ParseException e = Assert.Throws<Http1ParseException>(() =>
            Http1Parser.TryReadResponseHead(ref buffer, new Http1ResponseHead(), "GET", new Http1Limits { MaxHeadBytes = 128 }));
        Assert.Equal("response head too large", e.Reason);
    }

    [Theory]
    [MemberData(nameof(ValidResponses))]
    public void Every_strict_prefix_of_a_valid_response_head_needs_more_and_consumes_nothing(string text)
    {
        byte[] bytes = Bytes(text);
        ReadOnlySequence<byte> whole = new(bytes);
        Assert.True(Http1Parser.TryReadResponseHead(ref whole, new Http1ResponseHead(), "GET"));
        int headLength = bytes.Length - (int)whole.Length;

        var head = new Http1ResponseHead();
        foreach ((int length, ReadOnlySequence<byte> prefix) in StrictPrefixes(bytes[..headLength]))
        {
            ReadOnlySequence<byte> buffer = prefix;

            Assert.False(Http1Parser.TryReadResponseHead(ref buffer, head, "GET"), $"prefix of {length} bytes");
            Assert.Equal(prefix.Start, buffer.Start);
            Assert.Equal(prefix.End, buffer.End);
        }
    }

    [Theory]
    [MemberData(nameof(ValidResponses))]
    public void A_response_split_into_segments_parses_like_a_contiguous_one(string text)
    {
        Http1ResponseHead expected = Parse(text);
        foreach (ReadOnlySequence<byte> shape in Shapes(Bytes(text)))
        {
            ReadOnlySequence<byte> buffer = shape;
            var head = new Http1ResponseHead();
            Assert.True(Http1Parser.TryReadResponseHead(ref buffer, head, "GET"));

            Assert.Equal(expected.StatusCode, head.StatusCode);
            Assert.Equal(Text(expected.ReasonPhrase), Text(head.ReasonPhrase));
            Assert.Equal(expected.BodyKind, head.BodyKind);
            Assert.Equal(expected.Count, head.Count);
        }
    }

    [Fact]
    public void An_interim_response_and_the_final_one_are_read_in_turn_into_one_head()
    {
        ReadOnlySequence<byte> buffer = Switchyard.Tests.TestSupport.Segments.Split(Bytes(Continue + Ok), 4);
        var head = new Http1ResponseHead();

        Assert.True(Http1Parser.TryReadResponseHead(ref buffer, head, "POST"));
        Assert.True(head.IsContinue);
        Assert.Equal(0, head.Count);

        Assert.True(Http1Parser.TryReadResponseHead(ref buffer, head, "POST"));
        Assert.Equal(200, head.StatusCode);
        Assert.Equal(BodyKind.ContentLength, head.BodyKind);
        Assert.Equal("hello", Text(buffer.ToArray()));
    }
}
