using System.Text;
using Switchyard.Http1;
using static Switchyard.Tests.Http1.Http1Text;

namespace Switchyard.Tests.Http1;

/// <summary>The pieces every HTTP/1 head the proxy writes is made of (forwarded, translated from HTTP/2, or its own answers).</summary>
public sealed partial class Http1HeadWriterTests
{
    [Fact]
    public void A_head_is_built_from_its_lines()
    {
        string head = Write(o =>
        {
            Http1HeadWriter.WriteRequestLine(o, "POST"u8, "/orders?id=1"u8);
            Http1HeadWriter.WriteField(o, "Host"u8, "shop"u8);
            Http1HeadWriter.WriteFraming(o, BodyKind.ContentLength, 12345);
            Http1HeadWriter.WriteEnd(o, connectionClose: false);
        });

        Assert.Equal("POST /orders?id=1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 12345\r\n\r\n", head);
    }

    [Theory]
    [InlineData(200, "OK", BodyKind.Chunked, false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData(503, "Service Unavailable", BodyKind.None, true, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n")]
    [InlineData(101, "Switching Protocols", BodyKind.None, false, "HTTP/1.1 101 Switching Protocols\r\n\r\n")]
    public void A_status_line_framing_and_end(int status, string reason, BodyKind framing, bool close, string expected)
    {
        Assert.Equal(expected, Write(o =>
        {
            Http1HeadWriter.WriteStatusLine(o, status, Encoding.ASCII.GetBytes(reason));
            Http1HeadWriter.WriteFraming(o, framing, 0);
            Http1HeadWriter.WriteEnd(o, close);
        }));
    }

    [Theory]
    [InlineData(200, "OK")]
    [InlineData(103, "Early Hints")]
    [InlineData(400, "Bad Request")]
    [InlineData(502, "Bad Gateway")]
    [InlineData(503, "Service Unavailable")]
    [InlineData(299, "Status")]
    public void Statuses_the_agent_writes_itself_get_their_usual_reason(int status, string reason) =>
        Assert.Equal(reason, Encoding.ASCII.GetString(Http1HeadWriter.ReasonPhrase(status)));

    [Fact]
    public void An_upgrade_end_says_connection_upgrade() =>
        Assert.Equal("Connection: upgrade\r\n\r\n", Write(o => Http1HeadWriter.WriteEnd(o, connectionClose: false, upgrade: true)));
}
