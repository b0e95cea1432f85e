using System.Buffers;
using System.Text;
using Switchyard.Http1;
using Switchyard.Http2;
using Switchyard.Proxy;

namespace Switchyard.Tests.Proxy;

public sealed class Http2TranslationTests
{
    private static Http2HeaderList Headers(params (string Name, string Value)[] fields)
    {
        var list = new Http2HeaderList();
        foreach ((string name, string value) in fields)
        {
            list.Add(name, value);
        }

        return list;
    }

    private static string Head(Http2HeaderList request, Http2Translation.Framing framing) =>
        Encoding.Latin1.GetString(Http2Translation.RequestHeadBytes(request, framing));

    [Fact]
    public void The_request_line_comes_from_the_pseudo_fields_and_host_from_the_authority()
    {
        using Http2HeaderList request = Headers((":method", "GET"), (":scheme", "https"), (":authority", "shop.local:8443"), (":path", "/cart?x=1"), ("accept", "*/*"));

        Assert.Equal("GET /cart?x=1 HTTP/1.1\r\nHost: shop.local:8443\r\naccept: */*\r\n\r\n", Head(request, Http2Translation.Framing.None));
    }

    [Fact]
    public void A_host_field_wins_over_the_authority_and_an_empty_path_is_the_root()
    {
        using Http2HeaderList request = Headers((":method", "OPTIONS"), (":authority", "a"), ("host", "b"));

        Assert.Equal("OPTIONS / HTTP/1.1\r\nhost: b\r\n\r\n", Head(request, Http2Translation.Framing.None));
    }

    [Fact]
    public void Cookie_crumbs_are_joined_into_one_field()
    {
        // RFC 9113 8.2.3: split cookie fields are concatenated with "; " for HTTP/1.1.
        using Http2HeaderList request = Headers((":method", "GET"), (":path", "/"), ("cookie", "a=1"), ("x-mid", "m"), ("cookie", "b=2"), ("cookie", "c=3"));

        Assert.Equal("GET / HTTP/1.1\r\ncookie: a=1; b=2; c=3\r\nx-mid: m\r\n\r\n", Head(request, Http2Translation.Framing.None));
    }

    [Fact]
    public void Te_and_connection_specific_fields_are_not_forwarded()
    {
        using Http2HeaderList request = Headers((":method", "GET"), (":path", "/"), ("te", "trailers"), ("connection", "x"), ("keep-alive", "1"),
            ("upgrade", "h2c"), ("transfer-encoding", "chunked"), ("proxy-connection", "x"), ("x-kept", "1"));

        Assert.Equal("GET / HTTP/1.1\r\nx-kept: 1\r\n\r\n", Head(request, Http2Translation.Framing.None));
    }

    [Theory]
    [InlineData("content-length", "POST / HTTP/1.1\r\ncontent-length: 5\r\n\r\n")]
    [InlineData("chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("none", "POST / HTTP/1.1\r\n\r\n")]
    public void Content_length_is_kept_only_when_it_frames_the_body(string framing, string expected)
    {
        using Http2HeaderList request = Headers((":method", "POST"), (":path", "/"), ("content-length", "5"));

        Assert.Equal(expected, Head(request, framing switch
        {
            "content-length" => Http2Translation.Framing.ContentLength,
            "chunked" => Http2Translation.Framing.Chunked,
            _ => Http2Translation.Framing.None,
        }));
    }

    [Fact]
    public void A_negative_content_length_means_no_framing_field()
    {
        using Http2HeaderList request = Headers((":method", "GET"), (":path", "/x"), ("content-length", "0"));

        Assert.Equal("GET /x HTTP/1.1\r\n\r\n", Encoding.Latin1.GetString(Http2Translation.RequestHeadBytes(request, contentLength: -1)));
        Assert.Equal("GET /x HTTP/1.1\r\ncontent-length: 0\r\n\r\n", Encoding.Latin1.GetString(Http2Translation.RequestHeadBytes(request, contentLength: 0)));
    }

    [Fact]
    public void Response_fields_become_lower_case_without_hop_by_hop_ones_or_those_connection_names()
    {
        ReadOnlySequence<byte> buffer = new(Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n" +
            "Transfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nTE: trailers\r\n\r\n"));
        using var response = new Http1ResponseHead();
        Assert.True(Http1Parser.TryReadResponseHead(ref buffer, response, "GET"));
        using var fields = new Http2HeaderList();

        Http2Translation.AddFields(fields, response.Headers, response);

        var written = Enumerable.Range(0, fields.Count).Select(i => (Encoding.ASCII.GetString(fields.Name(i)), Encoding.ASCII.GetString(fields.Value(i)))).ToList();
        Assert.Equal([("content-type", "text/plain"), ("set-cookie", "a=1"), ("set-cookie", "b=2")], written);
    }
}
