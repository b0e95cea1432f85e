using System.Buffers;
using System.Text;
using Switchyard.Http1;
using Switchyard.Proxy;
using Switchyard.Routing;

namespace Switchyard.Tests.Proxy;

public sealed class Http1RequestViewTests
{
    private static Http1RequestView View(string text)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text));
        var head = new Http1RequestHead();
        Assert.True(Http1Parser.TryReadRequestHead(ref buffer, head));
        return new Http1RequestView(head);
    }

    [Fact]
    public void With_an_absolute_form_target_a_host_filter_sees_the_targets_authority_not_the_host_field()
    {
        Http1RequestView view = View("GET http://other.example/x HTTP/1.1\r\nHost: shop.local\r\n\r\n");

        Assert.Equal(HeaderLookup.Matched, view.MatchHeader("host", StringMatch.Exact("other.example")));
        Assert.Equal(HeaderLookup.NoValueMatched, view.MatchHeader("host", StringMatch.Exact("shop.local")));
        Assert.Equal("/x", view.Path);
    }

    [Fact]
    public void With_an_origin_form_target_a_host_filter_sees_the_host_field()
    {
        Http1RequestView view = View("GET /x HTTP/1.1\r\nHost: shop.local\r\n\r\n");

        Assert.Equal(HeaderLookup.Matched, view.MatchHeader("host", StringMatch.Exact("shop.local")));
    }
}
