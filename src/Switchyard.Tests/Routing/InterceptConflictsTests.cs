using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

public sealed class InterceptConflictsTests
{
    private static InterceptRule Rule(string id, string? match, string port = "web", InterceptMode mode = InterceptMode.Intercept) =>
        new(id, port, mode, match is null ? null : FilterParser.Parse(match));

    [Theory]
    // same header set and path, same values: conflict
    [InlineData("""{"header":"x-dev","exact":"alice"}""", """{"header":"X-Dev","exact":"alice"}""", true)]
    [InlineData("""{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}}]}""",
        """{"all":[{"path":{"prefix":"/api/"}},{"header":"x-dev","exact":"alice"}]}""", true)]
    [InlineData("""{"all":[{"header":"x-dev","exact":"alice"},{"all":[{"method":"GET"}]}]}""",
        """{"all":[{"method":"GET"},{"header":"x-dev","exact":"alice"}]}""", true)]
    [InlineData("""{"header":"x-dev","regex":"^a"}""", """{"header":"x-dev","regex":"^a"}""", true)]
    [InlineData(null, null, true)]
    // different values, paths, matches or extra conditions: no conflict
    [InlineData("""{"header":"x-dev","exact":"alice"}""", """{"header":"x-dev","exact":"bob"}""", false)]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", """{"header":"x-dev","prefix":"alice"}""", false)]
    [InlineData("""{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}}]}""",
        """{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/web/"}}]}""", false)]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", """{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}}]}""", false)]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", """{"header":"x-user","exact":"alice"}""", false)]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", null, false)]
    [InlineData("""{"any":[{"header":"x-dev","exact":"alice"},{"method":"GET"}]}""", """{"all":[{"header":"x-dev","exact":"alice"},{"method":"GET"}]}""", false)]
    public void Two_intercepts_on_one_port_conflict_only_when_their_conditions_are_the_same_set(string? first, string? second, bool conflict)
    {
        InterceptRule existing = Rule("alice", first);

        InterceptRule? found = InterceptConflicts.Find(Rule("bob", second), [existing]);

        Assert.Equal(conflict, found is not null);
        if (conflict)
        {
            Assert.Same(existing, found);
        }
    }

    [Fact]
    public void Wiretaps_never_conflict()
    {
        const string match = """{"header":"x-dev","exact":"alice"}""";

        Assert.Null(InterceptConflicts.Find(Rule("tap", match, mode: InterceptMode.Wiretap), [Rule("alice", match)]));
        Assert.Null(InterceptConflicts.Find(Rule("bob", match), [Rule("tap", match, mode: InterceptMode.Wiretap)]));
    }

    [Fact]
    public void The_same_filter_on_another_port_does_not_conflict()
    {
        const string match = """{"header":"x-dev","exact":"alice"}""";

        Assert.Null(InterceptConflicts.Find(Rule("bob", match, port: "grpc"), [Rule("alice", match)]));
    }

    [Fact]
    public void The_first_conflicting_intercept_is_named()
    {
        const string match = """{"header":"x-dev","exact":"alice"}""";

        InterceptRule? found = InterceptConflicts.Find(Rule("carol", match), [Rule("bob", """{"header":"x-dev","exact":"bob"}"""), Rule("alice", match)]);

        Assert.Equal("alice", found?.Id);
    }
}
