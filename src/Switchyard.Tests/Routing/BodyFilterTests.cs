using System.Text;
using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

public sealed class BodyFilterTests
{
    private const string Customer42 = """{"customer":{"id":42,"name":"Ann"},"items":[{"sku":"A-1"}]}""";

    private static RequestView Post(string? contentType, string? body)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (contentType is not null)
        {
            headers.Add(new("Content-Type", contentType));
        }

        return new RequestView("POST", "/orders", headers, body is null ? null : Encoding.UTF8.GetBytes(body));
    }

    [Theory]
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", "application/json", Customer42, true)]
    [InlineData("""{"body":{"json":"$.customer.id","exact":"4"}}""", "application/json", Customer42, false)]
    [InlineData("""{"body":{"json":"$.customer.id","prefix":"4"}}""", "application/json; charset=utf-8", Customer42, true)]
    [InlineData("""{"body":{"json":"$.customer.id","regex":"^4"}}""", "Application/JSON", Customer42, true)]
    [InlineData("""{"body":{"json":"$.items[0].sku","exact":"A-1"}}""", "application/vnd.shop.order+json", Customer42, true)]
    [InlineData("""{"body":{"json":"$.customer.name","exact":"Ann"}}""", "application/problem+json;v=1", Customer42, true)]
    // not JSON by content-type: never a match, even when the body is JSON
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", "text/plain", Customer42, false)]
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", null, Customer42, false)]
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", "application/grpc", Customer42, false)]
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", "application/jsonx", Customer42, false)]
    // not parseable, or not there
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", "application/json", """{"customer":{"id":42}""", false)]
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", "application/json", "", false)]
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", "application/json", """{"customer":[42]}""", false)]
    // combined with all / any / not
    [InlineData("""{"all":[{"method":"POST"},{"body":{"json":"$.customer.id","exact":"42"}}]}""", "application/json", Customer42, true)]
    [InlineData("""{"not":{"body":{"json":"$.customer.id","exact":"42"}}}""", "application/json", Customer42, false)]
    [InlineData("""{"not":{"body":{"json":"$.customer.id","exact":"7"}}}""", "application/json", Customer42, true)]
    [InlineData("""{"any":[{"method":"GET"},{"body":{"json":"$.customer.id","exact":"42"}}]}""", "application/json", Customer42, true)]
    public void A_body_filter_matches_the_json_value_at_its_path(string match, string? contentType, string body, bool expected)
    {
        Filter filter = FilterParser.Parse(match);
        RequestView request = Post(contentType, body);

        Assert.Equal(expected, filter.Matches(request));
        Assert.Equal(expected ? FilterOutcome.Match : FilterOutcome.NoMatch, filter.Evaluate(request));
        Assert.Equal(expected, filter.Explain(request).Matched);
    }

    [Theory]
    // the body decides: buffer it
    [InlineData("""{"body":{"json":"$.a","exact":"1"}}""", "application/json", FilterOutcome.NeedsBody)]
    [InlineData("""{"all":[{"method":"POST"},{"body":{"json":"$.a","exact":"1"}}]}""", "application/json", FilterOutcome.NeedsBody)]
    [InlineData("""{"not":{"body":{"json":"$.a","exact":"1"}}}""", "application/json", FilterOutcome.NeedsBody)]
    [InlineData("""{"any":[{"method":"GET"},{"body":{"json":"$.a","exact":"1"}}]}""", "application/json", FilterOutcome.NeedsBody)]
    // another condition decides without the body: do not buffer
    [InlineData("""{"all":[{"method":"GET"},{"body":{"json":"$.a","exact":"1"}}]}""", "application/json", FilterOutcome.NoMatch)]
    [InlineData("""{"any":[{"method":"POST"},{"body":{"json":"$.a","exact":"1"}}]}""", "application/json", FilterOutcome.Match)]
    [InlineData("""{"body":{"json":"$.a","exact":"1"}}""", "text/plain", FilterOutcome.NoMatch)]
    [InlineData("""{"not":{"body":{"json":"$.a","exact":"1"}}}""", "text/plain", FilterOutcome.Match)]
    public void Before_the_body_is_read_only_a_body_that_decides_is_asked_for(string match, string contentType, FilterOutcome expected)
    {
        Filter filter = FilterParser.Parse(match);
        RequestView request = Post(contentType, body: null);

        Assert.Equal(expected, filter.Evaluate(request));
        if (expected != FilterOutcome.NeedsBody)
        {
            // Matches treats an unread body condition as not matching; only Evaluate tells it apart.
            Assert.Equal(expected == FilterOutcome.Match, filter.Matches(request));
        }
    }

    [Fact]
    public void The_explanation_says_what_the_body_held()
    {
        Filter filter = FilterParser.Parse("""{"body":{"json":"$.customer.id","exact":"42"}}""");

        Assert.Equal("+ body json \"$.customer.id\" exact \"42\": $.customer.id is \"42\"", filter.Explain(Post("application/json", Customer42)).ToString());
        Assert.Equal("- body json \"$.customer.id\" exact \"42\": no body given", filter.Explain(Post("application/json", null)).ToString());
        Assert.Equal("- body json \"$.customer.id\" exact \"42\": content-type is not JSON", filter.Explain(Post("text/plain", Customer42)).ToString());
        Assert.Equal("- body json \"$.customer.id\" exact \"42\": body is not valid JSON", filter.Explain(Post("application/json", "{")).ToString());
        Assert.Equal("- body json \"$.customer.id\" exact \"42\": no string, number or boolean at $.customer.id", filter.Explain(Post("application/json", "{}")).ToString());
    }

    [Fact]
    public void A_body_filter_counts_as_one_condition_and_marks_its_tree()
    {
        Filter filter = FilterParser.Parse("""{"all":[{"method":"POST"},{"not":{"body":{"json":"$.a","exact":"1"}}}]}""");

        Assert.Equal(2, filter.ConditionCount);
        Assert.True(filter.HasBodyCondition);
        Assert.False(FilterParser.Parse("""{"all":[{"method":"POST"}]}""").HasBodyCondition);
    }
}
