using System.Text;
using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

/// <summary>Which requests are held for their body: only those whose route the body can still change.</summary>
public sealed class BodyRoutingTests
{
    private static readonly Filter Body42 = FilterParser.Parse("""{"all":[{"method":"POST"},{"body":{"json":"$.customer.id","exact":"42"}}]}""");

    private static RequestView Request(string method, string contentType, string? body = null) =>
        new(method, "/orders", [new("content-type", contentType)], body is null ? null : Encoding.UTF8.GetBytes(body));

    [Fact]
    public void A_request_another_condition_rules_out_is_not_held()
    {
        PortRoutes port = RouteTable.Create([new InterceptRule("alice", "web", InterceptMode.Intercept, Body42, "127.0.0.1:1")]).ForPort("web");
        var pending = new List<InterceptRule>();

        Assert.True(port.HasBodyRules);
        Assert.False(port.NeedsBody(Request("GET", "application/json"), pending));
        Assert.False(port.NeedsBody(Request("POST", "text/plain"), pending));
        Assert.Empty(pending);
        Assert.True(port.NeedsBody(Request("POST", "application/json"), pending));
        Assert.Equal("alice", Assert.Single(pending).Id);
    }

    [Fact]
    public void A_request_an_earlier_intercept_takes_without_its_body_is_not_held()
    {
        Filter header = FilterParser.Parse("""{"header":"x-dev","exact":"bob"}""");
        Filter twoHeaders = FilterParser.Parse("""{"all":[{"header":"x-dev","exact":"bob"},{"method":"POST"},{"path":{"prefix":"/"}}]}""");
        PortRoutes port = RouteTable.Create(
        [
            new InterceptRule("alice", "web", InterceptMode.Intercept, Body42, "127.0.0.1:1"),
            new InterceptRule("bob", "web", InterceptMode.Intercept, twoHeaders, "127.0.0.1:2"), // 3 conditions: tried first
            new InterceptRule("carol", "web", InterceptMode.Intercept, header, "127.0.0.1:3"),
        ]).ForPort("web");
        var bob = new RequestView("POST", "/orders", [new("content-type", "application/json"), new("x-dev", "bob")]);
        var pending = new List<InterceptRule>();

        Assert.False(port.NeedsBody(bob, pending));
        Assert.Equal("bob", port.Route(bob).Intercept!.Id);
    }

    [Fact]
    public void With_the_body_read_the_route_follows_the_value()
    {
        PortRoutes port = RouteTable.Create([new InterceptRule("alice", "web", InterceptMode.Intercept, Body42, "127.0.0.1:1")]).ForPort("web");

        Assert.Equal("alice", port.Route(Request("POST", "application/json", """{"customer":{"id":42}}""")).Intercept?.Id);
        Assert.True(port.Route(Request("POST", "application/json", """{"customer":{"id":7}}""")).ToApp);
        Assert.True(port.Route(Request("POST", "application/json", """{"customer":{"id":42}""")).ToApp);
        Assert.True(port.Route(Request("POST", "application/json")).ToApp); // not read: no match
    }

    [Fact]
    public void A_wiretap_with_a_body_filter_holds_the_request_too()
    {
        PortRoutes port = RouteTable.Create([new InterceptRule("tap", "web", InterceptMode.Wiretap, Body42, "127.0.0.1:1")]).ForPort("web");
        var pending = new List<InterceptRule>();

        Assert.True(port.NeedsBody(Request("POST", "application/json"), pending));
        Assert.Equal("tap", Assert.Single(port.Route(Request("POST", "application/json", """{"customer":{"id":42}}""")).Wiretaps).Id);
    }
}
