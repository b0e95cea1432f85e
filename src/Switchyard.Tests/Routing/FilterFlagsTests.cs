using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

public sealed class FilterFlagsTests
{
    [Theory]
    [InlineData("--header", "x-dev=alice", """{"header":"x-dev","exact":"alice"}""")]
    [InlineData("--header", "X-Dev=alice", """{"header":"x-dev","exact":"alice"}""")]
    [InlineData("--header", "x-dev: alice", """{"header":"x-dev","exact":"alice"}""")]
    [InlineData("--header", "x-dev:alice", """{"header":"x-dev","exact":"alice"}""")]
    [InlineData("--header", "x-dev:  \talice ", """{"header":"x-dev","exact":"alice "}""")]
    [InlineData("--header", "x-dev=a=b:c", """{"header":"x-dev","exact":"a=b:c"}""")]
    [InlineData("--header", "x-dev: a=b", """{"header":"x-dev","exact":"a=b"}""")]
    [InlineData("--header", "x-dev=", """{"header":"x-dev","exact":""}""")]
    [InlineData("--header", "x-dev= alice", """{"header":"x-dev","exact":" alice"}""")]
    [InlineData("--header-regex", "x-dev=^al(ice|an)$", """{"header":"x-dev","regex":"^al(ice|an)$"}""")]
    [InlineData("--header-regex", "x-dev=(?:a)=b", """{"header":"x-dev","regex":"(?:a)=b"}""")]
    [InlineData("--path-equal", "/api/items", """{"path":{"exact":"/api/items"}}""")]
    [InlineData("--path-prefix", "/api/", """{"path":{"prefix":"/api/"}}""")]
    [InlineData("--path-regex", "^/v[0-9]+/", """{"path":{"regex":"^/v[0-9]+/"}}""")]
    [InlineData("--path-regex", "items", """{"path":{"regex":"items"}}""")]
    [InlineData("--method", "POST", """{"method":"POST"}""")]
    [InlineData("--body-json", "$.customer.id=42", """{"body":{"json":"$.customer.id","exact":"42"}}""")]
    [InlineData("--body-json", "$['a=b'][0]=x=y", """{"body":{"json":"$['a=b'][0]","exact":"x=y"}}""")]
    [InlineData("--body-json", "$.ok=", """{"body":{"json":"$.ok","exact":""}}""")]
    [InlineData("--body-json-regex", "$.customer.id=^4", """{"body":{"json":"$.customer.id","regex":"^4"}}""")]
    public void One_flag_gives_that_condition_alone(string flag, string value, string json)
    {
        Filter? filter = FilterParser.FromFlags([(flag, value)]);

        Assert.Equal(FilterParser.Parse(json), filter);
    }

    [Fact]
    public void Several_flags_are_anded_in_order()
    {
        Filter? filter = FilterParser.FromFlags([("--header", "x-dev: alice"), ("--path-prefix", "/api/"), ("--method", "GET")]);

        Assert.Equal(
            FilterParser.Parse("""{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}},{"method":"GET"}]}"""),
            filter);
    }

    [Fact]
    public void No_flags_give_no_filter_which_is_a_global_intercept()
    {
        Assert.Null(FilterParser.FromFlags([]));
    }

    [Theory]
    [InlineData("--header", "x-dev", "expected NAME=VALUE or \"NAME: VALUE\", found \"x-dev\"")]
    [InlineData("--header", "=alice", "header name must not be empty")]
    [InlineData("--header", ": alice", "header name must not be empty")]
    [InlineData("--header", "x dev=alice", "invalid header name \"x dev\": U+0020 at index 1 is not a token character (RFC 9110 5.6.2)")]
    [InlineData("--header", "x-dev : alice", "invalid header name \"x-dev \": U+0020 at index 5 is not a token character (RFC 9110 5.6.2)")]
    [InlineData("--header-regex", "x-dev", "expected NAME=REGEX, found \"x-dev\"")]
    [InlineData("--header-regex", "x-dev: a", "expected NAME=REGEX, found \"x-dev: a\"")]
    [InlineData("--header-regex", "=a", "header name must not be empty")]
    [InlineData("--path-equal", "api", "must start with '/', found \"api\"")]
    [InlineData("--path-equal", "", "must start with '/', found \"\"")]
    [InlineData("--path-prefix", "api/", "must start with '/', found \"api/\"")]
    [InlineData("--method", "", "method must not be empty")]
    [InlineData("--method", "GET /", "invalid method \"GET /\": U+0020 at index 3 is not a token character (RFC 9110 5.6.2)")]
    [InlineData("--path", "/api", "not a filter flag; expected one of --header, --header-regex, --path-equal, --path-prefix, --path-regex, --method, --body-json, --body-json-regex")]
    [InlineData("--to", "127.0.0.1:8080", "not a filter flag; expected one of --header, --header-regex, --path-equal, --path-prefix, --path-regex, --method, --body-json, --body-json-regex")]
    public void A_bad_flag_value_is_reported_with_the_flag(string flag, string value, string reason)
    {
        FilterException e = Assert.Throws<FilterException>(() => FilterParser.FromFlags([("--method", "GET"), (flag, value)]));

        Assert.Equal(flag, e.JsonPath);
        Assert.Equal(reason, e.Reason);
    }

    [Theory]
    [InlineData("--path-regex", "(a)\\1")]
    [InlineData("--path-regex", "(")]
    [InlineData("--header-regex", "x=a(?!b)")]
    [InlineData("--header-regex", "x=[")]
    public void A_regex_flag_is_checked_like_a_regex_in_the_config(string flag, string value)
    {
        FilterException e = Assert.Throws<FilterException>(() => FilterParser.FromFlags([(flag, value)]));

        Assert.Equal(flag, e.JsonPath);
        Assert.Contains("regex", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_filter_flags_are_the_six_of_the_spec_and_the_two_body_flags_of_issue_15()
    {
        Assert.Equal(["--header", "--header-regex", "--path-equal", "--path-prefix", "--path-regex", "--method", "--body-json", "--body-json-regex"], FilterParser.FlagNames);
        Assert.True(FilterParser.IsFilterFlag("--path-prefix"));
        Assert.False(FilterParser.IsFilterFlag("--wiretap"));
    }

    [Theory]
    [InlineData("--body-json", "$.customer.id", "expected JSONPATH=VALUE such as '$.customer.id=42'")]
    [InlineData("--body-json", "customer.id=42", "must start with '$'")]
    [InlineData("--body-json-regex", "$.a=(x", "not enough ')'")]
    public void A_bad_body_flag_is_refused_naming_the_flag(string flag, string value, string reason)
    {
        FilterException e = Assert.Throws<FilterException>(() => FilterParser.FromFlags([(flag, value)]));

        Assert.Equal(flag, e.JsonPath);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }
}
