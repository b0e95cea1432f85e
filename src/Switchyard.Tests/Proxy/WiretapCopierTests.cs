using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Http1;
using Switchyard.Proxy;
using Switchyard.Routing;
using Switchyard.Upstream;

namespace Switchyard.Tests.Proxy;

public sealed class WiretapCopierTests
{
    private static WiretapCopier Copier(string method = "POST") =>
        new(method, tls: true, sni: "shop.local", (bytes, length) =>
        {
            Http1HeadWriter.WriteRequestLine(bytes, Encoding.ASCII.GetBytes(method), "/orders"u8);
            Http1HeadWriter.WriteFraming(bytes, BodyKind.ContentLength, length);
            Http1HeadWriter.WriteEnd(bytes, connectionClose: false);
        });

    [Fact]
    public void The_copy_is_the_head_for_the_collected_body_then_the_body()
    {
        WiretapCopier copier = Copier();
        copier.OnData(new ReadOnlySequence<byte>("hel"u8.ToArray()));
        copier.OnData(new ReadOnlySequence<byte>("lo"u8.ToArray()));

        WiretapCopy copy = Assert.IsType<WiretapCopy>(copier.Build());

        Assert.Equal("POST /orders HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", Encoding.ASCII.GetString(copy.Request));
        Assert.Equal(("POST", true, "shop.local"), (copy.Method, copy.Tls, copy.Sni));
    }

    [Fact]
    public void A_body_over_the_copy_limit_makes_no_copy_and_every_tap_counts_the_drop()
    {
        WiretapCopier copier = Copier();
        copier.OnData(new ReadOnlySequence<byte>(new byte[Wiretaps.MaxBodyCopy]));
        Assert.False(copier.TooLarge);
        copier.OnData(new ReadOnlySequence<byte>(new byte[1]));
        var taps = new Wiretaps(_ => null, NullLogger.Instance);
        InterceptRule[] rules =
        [
            new("tap-a", "web", InterceptMode.Wiretap, filter: null, target: "127.0.0.1:1"),
            new("tap-b", "web", InterceptMode.Wiretap, filter: null, target: "127.0.0.1:1"),
        ];

        copier.Offer(taps, rules);

        Assert.True(copier.TooLarge);
        Assert.Null(copier.Build());
        Assert.Equal(1, taps.Drops["tap-a"].Get("body_too_large"));
        Assert.Equal(1, taps.Drops["tap-b"].Get("body_too_large"));
    }
}
