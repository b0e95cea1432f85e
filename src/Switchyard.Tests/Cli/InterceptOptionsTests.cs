using System.Text.Json;
using Switchyard.Cli;
using Switchyard.Routing;

namespace Switchyard.Tests.Cli;

public sealed class InterceptOptionsTests
{
    [Fact]
    public void All_flags_are_read()
    {
        InterceptOptions o = InterceptOptions.Parse(
            ["--agent", "127.0.0.1:9901", "--to", "localhost:8080", "--header", "x-dev: alice", "--path-prefix", "/api/", "--id", "alice",
             "--port", "https", "--wiretap", "--plaintext", "--tunnel", "10.0.0.1:9902", "--token-file", "/tmp/t", "--quiet"], user: "someone");

        Assert.Equal("127.0.0.1:9901", o.Agent);
        Assert.Equal("localhost:8080", o.To);
        Assert.Equal(FilterParser.Parse("""{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}}]}"""), o.Filter);
        Assert.Equal("alice", o.Id);
        Assert.Equal("https", o.Port);
        Assert.True(o.Wiretap);
        Assert.True(o.Plaintext);
        Assert.Equal("10.0.0.1:9902", o.Tunnel);
        Assert.Equal("/tmp/t", o.TokenFile);
        Assert.True(o.Quiet);
    }

    [Fact]
    public void The_id_defaults_to_the_user_name_else_a_random_dev_name()
    {
        string[] args = ["--agent", "127.0.0.1:9901", "--to", "127.0.0.1:8080", "--header", "x-dev=alice"];

        Assert.Equal("alice", InterceptOptions.Parse(args, "alice").Id);
        Assert.Matches("^dev-[0-9a-f]{6}$", InterceptOptions.Parse(args, null).Id);
        Assert.Matches("^dev-[0-9a-f]{6}$", InterceptOptions.Parse(args, "").Id);
        Assert.False(InterceptOptions.Parse(args, null).Wiretap);
    }

    [Theory]
    [InlineData("intercept: --agent HOST:PORT is required", "--to", "127.0.0.1:8080", "--header", "x-dev=a")]
    [InlineData("intercept: --to HOST:PORT is required", "--agent", "127.0.0.1:9901", "--header", "x-dev=a")]
    [InlineData("--agent: expected HOST:PORT, found \"localhost\"", "--agent", "localhost", "--to", "127.0.0.1:8080", "--header", "x-dev=a")]
    [InlineData("--to: expected HOST:PORT", "--agent", "127.0.0.1:9901", "--to", "8080", "--header", "x-dev=a")]
    [InlineData("--to needs a value", "--agent", "127.0.0.1:9901", "--to")]
    [InlineData("intercept: unknown option '--target'", "--agent", "127.0.0.1:9901", "--target", "127.0.0.1:8080")]
    [InlineData("--header: expected NAME=VALUE", "--agent", "127.0.0.1:9901", "--to", "127.0.0.1:8080", "--header", "x-dev")]
    [InlineData("--path-regex:", "--agent", "127.0.0.1:9901", "--to", "127.0.0.1:8080", "--path-regex", "(")]
    [InlineData("--id: expected a name without spaces", "--agent", "127.0.0.1:9901", "--to", "127.0.0.1:8080", "--header", "x-dev=a", "--id", "a b")]
    public void A_mistake_names_the_flag(string message, params string[] args)
    {
        UsageException e = Assert.Throws<UsageException>(() => InterceptOptions.Parse(args, "alice"));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_registered_intercept_has_no_target_and_carries_mode_filter_and_delivery()
    {
        InterceptOptions o = InterceptOptions.Parse(["--agent", "127.0.0.1:9901", "--to", "127.0.0.1:8080", "--header", "x-dev=bob", "--id", "bob", "--wiretap", "--plaintext"], null);

        using JsonDocument body = JsonDocument.Parse(InterceptCommand.InterceptBody(o, "web"));
        JsonElement root = body.RootElement;

        Assert.Equal("bob", root.GetProperty("id").GetString());
        Assert.Equal("web", root.GetProperty("port").GetString());
        Assert.Equal("wiretap", root.GetProperty("mode").GetString());
        Assert.False(root.TryGetProperty("target", out _));
        Assert.True(root.GetProperty("delivery").GetProperty("plaintext").GetBoolean());
        Assert.Equal(o.Filter, FilterParser.Parse(root.GetProperty("match").GetRawText()));
    }

    [Fact]
    public void Without_filter_flags_the_registered_intercept_is_global()
    {
        InterceptOptions o = InterceptOptions.Parse(["--agent", "127.0.0.1:9901", "--to", "127.0.0.1:8080", "--id", "carol"], null);

        using JsonDocument body = JsonDocument.Parse(InterceptCommand.InterceptBody(o, "lines"));

        Assert.Null(o.Filter);
        Assert.False(body.RootElement.TryGetProperty("match", out _));
        Assert.Equal("intercept", body.RootElement.GetProperty("mode").GetString());
    }
}
