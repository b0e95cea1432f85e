using System.Net;
using Switchyard.Config;

namespace Switchyard.Tests.Config;

public sealed class EndpointsTests
{
    [Theory]
    [InlineData("127.0.0.1:80", "127.0.0.1", 80)]
    [InlineData("localhost:8443", "localhost", 8443)]
    [InlineData("app.default.svc.cluster.local:65535", "app.default.svc.cluster.local", 65535)]
    [InlineData("a:1", "a", 1)]
    [InlineData("[::1]:443", "::1", 443)]
    [InlineData("[fe80::1:2]:9000", "fe80::1:2", 9000)]
    [InlineData("[2001:db8::7]:8080", "2001:db8::7", 8080)]
    public void A_host_and_port_parse_with_ipv6_brackets_removed(string text, string host, int port)
    {
        Assert.True(Endpoints.TryParseHostPort(text, out string parsedHost, out int parsedPort));
        Assert.Equal(host, parsedHost);
        Assert.Equal(port, parsedPort);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("nohostport")]
    [InlineData(":80")]
    [InlineData("host:")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:99999999999")]
    [InlineData("host:-1")]
    [InlineData("host:+80")]
    [InlineData("host: 80")]
    [InlineData("host:80x")]
    [InlineData("::1:80")]
    [InlineData("[::1]")]
    [InlineData("[]:80")]
    public void A_host_and_port_without_a_host_a_valid_port_or_brackets_is_rejected(string? text)
    {
        Assert.False(Endpoints.TryParseHostPort(text, out _, out _));
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("9900", 9900)]
    [InlineData("65535", 65535)]
    public void A_bare_port_listens_on_every_interface(string text, int port)
    {
        Assert.True(Endpoints.TryParseListen(text, out IPEndPoint endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Any, port), endPoint);
    }

    [Theory]
    [InlineData("127.0.0.1:9900", "127.0.0.1", 9900)]
    [InlineData("localhost:9900", "127.0.0.1", 9900)]
    [InlineData("0.0.0.0:9901", "0.0.0.0", 9901)]
    [InlineData("*:9902", "0.0.0.0", 9902)]
    [InlineData("10.1.2.3:80", "10.1.2.3", 80)]
    [InlineData("[::1]:9900", "::1", 9900)]
    [InlineData("[::]:443", "::", 443)]
    [InlineData("[fd00::5]:1", "fd00::5", 1)]
    public void A_host_and_port_listens_on_that_address(string text, string address, int port)
    {
        Assert.True(Endpoints.TryParseListen(text, out IPEndPoint endPoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("10:9900")]
    [InlineData("127.1:9900")]
    [InlineData("65536")]
    [InlineData("-1")]
    [InlineData(" 80")]
    [InlineData("localhost")]
    [InlineData("example.com:80")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("::1:80")]
    [InlineData("[::1]")]
    [InlineData("[::1]:")]
    public void A_listen_value_that_is_neither_a_port_nor_an_address_and_port_is_rejected(string? text)
    {
        Assert.False(Endpoints.TryParseListen(text, out _));
    }

    [Theory]
    [InlineData("*:9900", "::", 9900)]
    [InlineData("127.0.0.1:9901", "127.0.0.1", 9901)]
    [InlineData("[::1]:9902", "::1", 9902)]
    public void Format_shows_the_any_address_as_a_star(string expected, string address, int port)
    {
        Assert.Equal(expected, Endpoints.Format(new IPEndPoint(IPAddress.Parse(address), port)));
    }
}
