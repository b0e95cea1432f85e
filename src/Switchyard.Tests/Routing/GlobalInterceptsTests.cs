using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

public sealed class GlobalInterceptsTests
{
    private const string Alice = """{"header":"x-dev","exact":"alice"}""";

    private static InterceptRule Rule(string id, string? match, InterceptMode mode = InterceptMode.Intercept, string port = "https") =>
        new(id, port, mode, match is null ? null : FilterParser.Parse(match), "127.0.0.1:18080");

    public static TheoryData<string, string?, InterceptMode, string?, InterceptMode, string, string?> Table => new()
    {
        // existing id, its match, its mode, new rule's match, its mode, new rule's port, expected conflict (null = none)
        { "alice", Alice, InterceptMode.Intercept, null, InterceptMode.Intercept, "https", "conflicts with intercept \"alice\": a global intercept takes the whole port \"https\", which already has filtered rules" },
        { "tap", Alice, InterceptMode.Wiretap, null, InterceptMode.Intercept, "https", "conflicts with wiretap \"tap\": a global intercept takes the whole port \"https\", which already has filtered rules" },
        { "all", null, InterceptMode.Intercept, Alice, InterceptMode.Intercept, "https", "conflicts with intercept \"all\": it is a global intercept that takes the whole port \"https\"" },
        { "all", null, InterceptMode.Intercept, null, InterceptMode.Intercept, "https", "conflicts with intercept \"all\": it is a global intercept that takes the whole port \"https\"" },
        { "all", null, InterceptMode.Intercept, Alice, InterceptMode.Wiretap, "https", "conflicts with intercept \"all\": it is a global intercept that takes the whole port \"https\"" },
        { "all", null, InterceptMode.Intercept, null, InterceptMode.Intercept, "grpc", null },
        { "alice", Alice, InterceptMode.Intercept, null, InterceptMode.Intercept, "grpc", null },
        { "alice", Alice, InterceptMode.Intercept, Alice.Replace("alice", "bob", StringComparison.Ordinal), InterceptMode.Intercept, "https", null },
        { "tap-all", null, InterceptMode.Wiretap, Alice, InterceptMode.Intercept, "https", null },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void A_global_intercept_owns_its_port_alone(string existingId, string? existingMatch, InterceptMode existingMode, string? match, InterceptMode mode, string port, string? expected)
    {
        InterceptRule existing = Rule(existingId, existingMatch, existingMode);
        InterceptRule added = Rule("new", match, mode, port);

        Assert.Equal(expected, GlobalIntercepts.Conflict(added, [existing]));
    }

    [Fact]
    public void A_rule_never_conflicts_with_itself_being_replaced()
    {
        InterceptRule global = Rule("all", null);

        Assert.Null(GlobalIntercepts.Conflict(global, [global]));
    }
}
