using System.Buffers;
using System.Text;
using Switchyard.Http1;
using static Switchyard.Tests.Http1.Http1Text;

namespace Switchyard.Tests.Http1;

public sealed class HopByHopTests
{
    [Theory]
    [InlineData("Connection")]
    [InlineData("connection")]
    [InlineData("Proxy-Connection")]
    [InlineData("Keep-Alive")]
    [InlineData("TE")]
    [InlineData("te")]
    [InlineData("Transfer-Encoding")]
    [InlineData("UPGRADE")]
    [InlineData("HTTP2-Settings")]
    public void The_rfc_9110_connection_specific_fields_are_hop_by_hop(string name) => Assert.True(HopByHop.IsHopByHop(Encoding.ASCII.GetBytes(name)));

    [Theory]
    [InlineData("Host")]
    [InlineData("Content-Length")]
    [InlineData("x-connection")]
    [InlineData("Proxy-Authorization")]
    [InlineData("Trailer")]
    [InlineData("cookie")]
    [InlineData("")]
    public void End_to_end_fields_are_not(string name) => Assert.False(HopByHop.IsHopByHop(Encoding.ASCII.GetBytes(name)));

    [Fact]
    public void Fields_named_by_any_connection_field_are_dropped_whatever_their_case()
    {
        ReadOnlySequence<byte> buffer = Sequence("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nconnection:\tx-other ,close\r\nX-Kept: 1\r\n\r\n");
        using var head = new Http1RequestHead();
        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));

        Assert.True(HopByHop.IsNamedByConnection(head.Headers, "x-secret"u8));
        Assert.True(HopByHop.IsNamedByConnection(head.Headers, "X-OTHER"u8));
        Assert.False(HopByHop.IsNamedByConnection(head.Headers, "x-kept"u8));
        Assert.True(HopByHop.IsDropped(head.Headers, "X-Secret"u8));
        Assert.True(HopByHop.IsDropped(head.Headers, "keep-alive"u8));
        Assert.False(HopByHop.IsDropped(head.Headers, "x-kept"u8));
    }
}
