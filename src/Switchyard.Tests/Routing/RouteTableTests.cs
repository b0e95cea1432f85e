using Switchyard.Routing;
using static Switchyard.Tests.Routing.RoutingTestData;

namespace Switchyard.Tests.Routing;

public sealed class RouteTableTests
{
    private static InterceptRule Intercept(string id, string? match, string port = "https") =>
        new(id, port, InterceptMode.Intercept, match is null ? null : FilterParser.Parse(match), "127.0.0.1:18080");

    private static InterceptRule Wiretap(string id, string? match, string port = "https") =>
        new(id, port, InterceptMode.Wiretap, match is null ? null : FilterParser.Parse(match), "127.0.0.1:19090");

    private const string AliceHeader = """{"header":"x-dev","exact":"alice"}""";
    private const string AliceOnApi = """{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}}]}""";
    private const string ApiPrefix = """{"path":{"prefix":"/api/"}}""";

    [Fact]
    public void A_request_no_rule_matches_goes_to_the_app()
    {
        RouteTable table = RouteTable.Create([Intercept("alice", AliceHeader)]);

        RouteDecision decision = table.Route(Request("GET", "/"), "https");

        Assert.True(decision.ToApp);
        Assert.Null(decision.Intercept);
        Assert.Empty(decision.Wiretaps);
        Assert.Equal("no intercept matched on port \"https\": to the app", decision.Reason);
    }

    [Fact]
    public void The_intercept_with_more_conditions_wins_whatever_the_ids()
    {
        RouteTable table = RouteTable.Create([Intercept("a-broad", ApiPrefix), Intercept("z-narrow", AliceOnApi)]);

        RouteDecision decision = table.Route(Request("GET", "/api/x", "x-dev: alice"), "https");

        Assert.Equal("z-narrow", decision.Intercept?.Id);
        Assert.Equal("intercept \"z-narrow\" (2 conditions)", decision.Reason);
        Assert.Equal("a-broad", table.Route(Request("GET", "/api/x", "x-dev: bob"), "https").Intercept?.Id);
    }

    [Fact]
    public void Between_equally_specific_intercepts_the_lower_id_in_ordinal_order_wins()
    {
        // Ordinal: upper case sorts before lower case.
        RouteTable table = RouteTable.Create([Intercept("bob", AliceHeader), Intercept("alice", AliceHeader), Intercept("Zed", AliceHeader)]);

        Assert.Equal("Zed", table.Route(Request("GET", "/", "x-dev: alice"), "https").Intercept?.Id);
        Assert.Equal(["Zed", "alice", "bob"], table.ForPort("https").Intercepts.Select(r => r.Id));
    }

    [Fact]
    public void Every_matching_wiretap_gets_a_copy_and_the_intercept_still_takes_the_request()
    {
        RouteTable table = RouteTable.Create(
        [
            Wiretap("tap-b", ApiPrefix),
            Wiretap("tap-a", AliceHeader),
            Wiretap("tap-miss", """{"method":"DELETE"}"""),
            Wiretap("tap-all", null),
            Intercept("alice", AliceOnApi),
        ]);

        RouteDecision decision = table.Route(Request("GET", "/api/x", "x-dev: alice"), "https");

        Assert.Equal("alice", decision.Intercept?.Id);
        Assert.Equal(["tap-a", "tap-all", "tap-b"], decision.Wiretaps.Select(w => w.Id));
        Assert.Equal("intercept \"alice\" (2 conditions); wiretaps \"tap-a\", \"tap-all\", \"tap-b\"", decision.Reason);
    }

    [Fact]
    public void Wiretaps_copy_requests_that_go_to_the_app()
    {
        RouteTable table = RouteTable.Create([Wiretap("tap", ApiPrefix)]);

        RouteDecision decision = table.Route(Request("POST", "/api/orders?id=3"), "https");

        Assert.True(decision.ToApp);
        Assert.Equal(["tap"], decision.Wiretaps.Select(w => w.Id));
        Assert.Equal("no intercept matched on port \"https\": to the app; wiretap \"tap\"", decision.Reason);
    }

    [Fact]
    public void A_global_intercept_takes_everything_on_its_port_that_no_filtered_intercept_took()
    {
        RouteTable table = RouteTable.Create([Intercept("all", null), Intercept("alice", AliceHeader), Intercept("other-port", null, port: "9000")]);

        Assert.Equal("alice", table.Route(Request("GET", "/", "x-dev: alice"), "https").Intercept?.Id);
        RouteDecision rest = table.Route(Request("PUT", "/anything"), "https");
        Assert.Equal("all", rest.Intercept?.Id);
        Assert.Equal("intercept \"all\" (global: no filter)", rest.Reason);
        Assert.Equal("other-port", table.Route(Request("GET", "/"), "9000").Intercept?.Id);
        Assert.True(table.Route(Request("GET", "/"), "grpc").ToApp);
    }

    [Fact]
    public void Rules_only_apply_on_their_own_port()
    {
        RouteTable table = RouteTable.Create([Intercept("alice", AliceHeader, port: "http"), Wiretap("tap", null, port: "http")]);

        RouteDecision decision = table.Route(Request("GET", "/", "x-dev: alice"), "https");

        Assert.True(decision.ToApp);
        Assert.Empty(decision.Wiretaps);
    }

    [Fact]
    public void A_port_knows_whether_it_must_inspect_http_and_which_global_intercept_it_has()
    {
        RouteTable table = RouteTable.Create(
        [
            Intercept("g2", null, port: "raw"),
            Intercept("g1", null, port: "raw"),
            Wiretap("tap", AliceHeader, port: "tapped"),
        ]);

        Assert.False(table.ForPort("raw").HasFilteredRules);
        Assert.Equal("g1", table.ForPort("raw").GlobalIntercept?.Id);
        Assert.True(table.ForPort("tapped").HasFilteredRules);
        Assert.Null(table.ForPort("tapped").GlobalIntercept);
        Assert.False(table.ForPort("none").HasFilteredRules);
        Assert.Equal(["raw", "tapped"], table.Ports.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_duplicated_id_is_refused_when_building_or_adding()
    {
        ArgumentException built = Assert.Throws<ArgumentException>(() => RouteTable.Create([Intercept("alice", null), Wiretap("alice", null)]));
        Assert.StartsWith("duplicate intercept id \"alice\"", built.Message, StringComparison.Ordinal);

        RouteTable table = RouteTable.Create([Intercept("alice", null)]);
        Assert.Throws<ArgumentException>(() => table.With(Wiretap("alice", AliceHeader, port: "other")));
    }

    [Fact]
    public void With_and_without_build_new_tables_and_leave_the_old_one_alone()
    {
        RouteTable before = RouteTable.Create([Intercept("alice", AliceHeader)]);

        RouteTable added = before.With(Intercept("bob", null));
        RouteTable removed = added.Without("alice");

        Assert.Equal(["alice"], before.Rules.Select(r => r.Id));
        Assert.Equal(["alice", "bob"], added.Rules.Select(r => r.Id));
        Assert.Equal(["bob"], removed.Rules.Select(r => r.Id));
        Assert.Same(removed, removed.Without("nobody"));
        Assert.Same(RouteTable.Empty, removed.Without("bob"));
        Assert.Equal("bob", added.Find("bob")?.Id);
        Assert.Null(removed.Find("alice"));
    }

    [Fact]
    public void Explain_lists_each_rule_in_the_order_tried_with_its_conditions()
    {
        RouteTable table = RouteTable.Create(
        [
            Intercept("broad", ApiPrefix),
            Intercept("narrow", AliceOnApi),
            Intercept("posts", """{"method":"POST"}"""),
            Wiretap("tap", null),
        ]);

        RouteExplanation explanation = table.Explain(Request("GET", "/api/x?y", "x-dev: alice"), "https");

        Assert.Equal("narrow", explanation.Decision.Intercept?.Id);
        Assert.Equal(["narrow", "broad", "posts", "tap"], explanation.Rules.Select(r => r.Rule.Id));
        Assert.Equal([true, true, false, true], explanation.Rules.Select(r => r.Matched));
        Assert.Equal([true, false, false, true], explanation.Rules.Select(r => r.Chosen));
        Assert.Equal("matched, but \"narrow\" comes first", explanation.Rules[1].Note);
        Assert.Equal("- method \"POST\": method \"GET\"", Assert.Single(explanation.Rules[2].Filter!.ToLines()));
        Assert.Null(explanation.Rules[3].Filter);
    }

    [Fact]
    public void Explain_and_route_agree_on_generated_tables_and_requests()
    {
        var faker = new FilterFaker(99);
        for (int t = 0; t < 30; t++)
        {
            var rules = new List<InterceptRule>();
            for (int i = 0; i < faker.Random.Number(0, 8); i++)
            {
                Filter? filter = faker.Random.Number(0, 5) == 0 ? null : faker.Filter();
                rules.Add(new InterceptRule($"r{i}", "p", faker.Random.Bool() ? InterceptMode.Intercept : InterceptMode.Wiretap, filter));
            }

            RouteTable table = RouteTable.Create(rules);
            for (int r = 0; r < 20; r++)
            {
                RequestView request = faker.Request();
                RouteDecision routed = table.Route(request, "p");
                RouteDecision explained = table.Explain(request, "p").Decision;

                Assert.Equal(routed.Intercept?.Id, explained.Intercept?.Id);
                Assert.Equal(routed.Wiretaps.Select(w => w.Id), explained.Wiretaps.Select(w => w.Id));
                Assert.Equal(routed.Reason, explained.Reason);
                InterceptRule? expected = rules.Where(x => x.Mode == InterceptMode.Intercept && x.Matches(request))
                    .OrderByDescending(x => x.ConditionCount).ThenBy(x => x.Id, StringComparer.Ordinal).FirstOrDefault();
                Assert.Equal(expected?.Id, routed.Intercept?.Id);
            }
        }
    }

    [Fact]
    public void An_explanation_is_written_as_json_for_the_admin_api()
    {
        RouteTable table = RouteTable.Create([Intercept("alice", AliceHeader), Wiretap("tap", null)]);
        using var buffer = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            table.Explain(Request("GET", "/", "x-dev: alice"), "https").WriteTo(writer);
        }

        using var document = System.Text.Json.JsonDocument.Parse(buffer.ToArray());
        System.Text.Json.JsonElement root = document.RootElement;
        Assert.Equal("intercept", root.GetProperty("route").GetString());
        Assert.Equal("alice", root.GetProperty("intercept").GetString());
        Assert.Equal("tap", root.GetProperty("wiretaps")[0].GetString());
        Assert.Equal("intercept \"alice\" (1 condition); wiretap \"tap\"", root.GetProperty("reason").GetString());
        Assert.Equal(2, root.GetProperty("rules").GetArrayLength());
        Assert.True(root.GetProperty("rules")[0].GetProperty("filter").GetProperty("matched").GetBoolean());
    }
}
