using System.Text.Json;
using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

public sealed class FilterParserTests
{
    private const string At = "$.intercepts[0].match";

    private static string Quote(string value) => JsonSerializer.Serialize(value, RoutingJsonContext.Default.String);

    [Fact]
    public void The_spec_example_parses_to_a_header_and_a_path_condition()
    {
        Filter filter = FilterParser.Parse("""{ "all": [ { "header": "x-dev", "exact": "alice" }, { "path": { "prefix": "/api/" } } ] }""", At);

        var all = Assert.IsType<AllFilter>(filter);
        Assert.Equal(2, all.ConditionCount);
        Assert.Equal(new HeaderFilter("x-dev", StringMatch.Exact("alice")), all.Filters[0]);
        Assert.Equal(new PathFilter(StringMatch.Prefix("/api/")), all.Filters[1]);
    }

    [Theory]
    [InlineData("""[]""", At, "expected a filter object with one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\", found an array")]
    [InlineData("""null""", At, "expected a filter object with one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\", found null")]
    [InlineData("""{}""", At, "expected one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\"")]
    [InlineData("""{"heder":"x"}""", At + ".heder", "unknown key \"heder\"; a filter has one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\"")]
    [InlineData("""{"Header":"x","exact":"a"}""", At + ".Header", "unknown key \"Header\"; a filter has one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\"")]
    [InlineData("""{"x dev":1}""", At + "['x dev']", "unknown key \"x dev\"; a filter has one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\"")]
    [InlineData("""{"exact":"a"}""", At, "\"exact\" needs \"header\" next to it; a path filter is { \"path\": { \"exact\": ... } }")]
    [InlineData("""{"header":"x","path":{"exact":"/"}}""", At + ".path", "\"path\" cannot be combined with \"header\" in one filter; combine filters with \"all\" or \"any\"")]
    [InlineData("""{"method":"GET","all":[]}""", At + ".all", "\"all\" cannot be combined with \"method\" in one filter; combine filters with \"all\" or \"any\"")]
    // header
    [InlineData("""{"header":"x-dev"}""", At, "a header filter needs one of \"exact\", \"prefix\" or \"regex\"")]
    [InlineData("""{"header":"x-dev","exact":"a","prefix":"b"}""", At + ".prefix", "only one of \"exact\", \"prefix\" or \"regex\" may be given (found \"exact\" and \"prefix\")")]
    [InlineData("""{"header":"x-dev","regex":"a","exact":"b"}""", At + ".exact", "only one of \"exact\", \"prefix\" or \"regex\" may be given (found \"regex\" and \"exact\")")]
    [InlineData("""{"header":"x-dev","exact":"a","exact":"b"}""", At + ".exact", "duplicate key \"exact\"")]
    [InlineData("""{"header":"","exact":"a"}""", At + ".header", "header name must not be empty")]
    [InlineData("""{"header":"x dev","exact":"a"}""", At + ".header", "invalid header name \"x dev\": U+0020 at index 1 is not a token character (RFC 9110 5.6.2)")]
    [InlineData("""{"header":"x:dev","exact":"a"}""", At + ".header", "invalid header name \"x:dev\": ':' at index 1 is not a token character (RFC 9110 5.6.2)")]
    [InlineData("""{"header":":authority","exact":"a"}""", At + ".header", "invalid header name \":authority\": ':' at index 0 is not a token character (RFC 9110 5.6.2)")]
    [InlineData("""{"header":"caf\u00e9","exact":"a"}""", At + ".header", "invalid header name \"caf\u00e9\": '\u00e9' at index 3 is not a token character (RFC 9110 5.6.2)")]
    [InlineData("""{"header":7,"exact":"a"}""", At + ".header", "expected a string, found a number")]
    [InlineData("""{"header":"x","exact":null}""", At + ".exact", "expected a string, found null")]
    [InlineData("""{"header":"x","prefix":["a"]}""", At + ".prefix", "expected a string, found an array")]
    [InlineData("""{"header":"x","exact":"a","name":"b"}""", At + ".name", "unknown key \"name\"; a filter has one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\"")]
    // path
    [InlineData("""{"path":"/api"}""", At + ".path", "expected an object with one of \"exact\", \"prefix\" or \"regex\", found a string")]
    [InlineData("""{"path":{}}""", At + ".path", "a path filter needs one of \"exact\", \"prefix\" or \"regex\"")]
    [InlineData("""{"path":{"exact":"/a","prefix":"/b"}}""", At + ".path.prefix", "only one of \"exact\", \"prefix\" or \"regex\" may be given (found \"exact\" and \"prefix\")")]
    [InlineData("""{"path":{"prefix":"/a","prefix":"/b"}}""", At + ".path.prefix", "duplicate key \"prefix\"")]
    [InlineData("""{"path":{"exact":"api"}}""", At + ".path.exact", "must start with '/', found \"api\"")]
    [InlineData("""{"path":{"prefix":""}}""", At + ".path.prefix", "must start with '/', found \"\"")]
    [InlineData("""{"path":{"prefix":"/a","query":"x"}}""", At + ".path.query", "unknown key \"query\"; a path filter has one of \"exact\", \"prefix\" or \"regex\"")]
    [InlineData("""{"path":{"regex":5}}""", At + ".path.regex", "expected a string, found a number")]
    [InlineData("""{"path":{"exact":"/"},"prefix":"/a"}""", At + ".prefix", "unexpected key \"prefix\" next to \"path\"; write { \"path\": { \"prefix\": ... } }")]
    // method
    [InlineData("""{"method":""}""", At + ".method", "method must not be empty")]
    [InlineData("""{"method":"GE T"}""", At + ".method", "invalid method \"GE T\": U+0020 at index 2 is not a token character (RFC 9110 5.6.2)")]
    [InlineData("""{"method":true}""", At + ".method", "expected a string, found a boolean")]
    [InlineData("""{"method":"GET","exact":"x"}""", At + ".exact", "unexpected key \"exact\" in a \"method\" filter")]
    // body
    [InlineData("""{"body":"$.a"}""", At + ".body", "expected an object with \"json\" and one of \"exact\", \"prefix\" or \"regex\", found a string")]
    [InlineData("""{"body":{"exact":"1"}}""", At + ".body", "a body filter needs \"json\": the JSONPath of the value, such as \"$.customer.id\"")]
    [InlineData("""{"body":{"json":"$.a"}}""", At + ".body", "a body filter needs one of \"exact\", \"prefix\" or \"regex\"")]
    [InlineData("""{"body":{"json":"a.b","exact":"1"}}""", At + ".body.json", "JSONPath \"a.b\" must start with '$'")]
    [InlineData("""{"body":{"json":"$[*]","exact":"1"}}""", At + ".body.json", "JSONPath \"$[*]\": expected an array index (digits) or a quoted name, then ']' (wildcards, slices and filters are not supported) at offset 2")]
    [InlineData("""{"body":{"json":"$.a","exact":1}}""", At + ".body.exact", "expected a string, found a number")]
    [InlineData("""{"body":{"json":"$.a","exact":"1","regex":"2"}}""", At + ".body.regex", "only one of \"exact\", \"prefix\" or \"regex\" may be given (found \"exact\" and \"regex\")")]
    [InlineData("""{"body":{"json":"$.a","regex":"(a"}}""", At + ".body.regex", "regex \"(a\": not enough ')' at offset 2")]
    [InlineData("""{"body":{"json":"$.a","exact":"1","path":"x"}}""", At + ".body.path", "unknown key \"path\"; a body filter has \"json\" and one of \"exact\", \"prefix\" or \"regex\"")]
    [InlineData("""{"body":{"json":"$.a"},"exact":"1"}""", At + ".exact", "unexpected key \"exact\" next to \"body\"; write { \"body\": { \"json\": \"$.field\", \"exact\": ... } }")]
    [InlineData("""{"not":{"body":{"json":"$.a","json":"$.b","exact":"1"}}}""", At + ".not.body.json", "duplicate key \"json\"")]
    // all / any / not
    [InlineData("""{"all":[]}""", At + ".all", "must not be empty")]
    [InlineData("""{"any":[]}""", At + ".any", "must not be empty")]
    [InlineData("""{"all":{"method":"GET"}}""", At + ".all", "expected an array of filters, found an object")]
    [InlineData("""{"any":[{"method":"GET"},"x"]}""", At + ".any[1]", "expected a filter object with one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\", found a string")]
    [InlineData("""{"all":[{"method":"GET"},{"any":[{"path":{"exact":"/"}},{"path":{"exact":"nope"}}]}]}""", At + ".all[1].any[1].path.exact", "must start with '/', found \"nope\"")]
    [InlineData("""{"not":[{"method":"GET"}]}""", At + ".not", "expected a filter object with one of \"header\", \"path\", \"method\", \"body\", \"all\", \"any\" or \"not\", found an array")]
    [InlineData("""{"not":{"not":{"header":"x-a"}}}""", At + ".not.not", "a header filter needs one of \"exact\", \"prefix\" or \"regex\"")]
    public void An_invalid_filter_is_reported_with_its_json_path_and_reason(string json, string path, string reason)
    {
        FilterException e = Assert.Throws<FilterException>(() => FilterParser.Parse(json, At));

        Assert.Equal(path, e.JsonPath);
        Assert.Equal(reason, e.Reason);
        Assert.Equal($"{path}: {reason}", e.Message);
    }

    [Theory]
    [InlineData("(a)\\1", "backreference")]
    [InlineData("a(?=b)", "lookaround")]
    [InlineData("(?<=a)b", "lookaround")]
    [InlineData("(?>a+)b", "atomic")]
    [InlineData("(?(a)b|c)", "conditional")]
    public void A_regex_the_non_backtracking_engine_cannot_run_is_invalid(string pattern, string construct)
    {
        FilterException e = Assert.Throws<FilterException>(() =>
            FilterParser.Parse("""{"all":[{"header":"x","regex":""" + Quote(pattern) + "}]}", At));

        Assert.Equal(At + ".all[0].regex", e.JsonPath);
        Assert.StartsWith($"regex \"{pattern.Replace("\\", "\\\\", StringComparison.Ordinal)}\": a construct the non-backtracking engine does not support", e.Reason, StringComparison.Ordinal);
        Assert.Contains(construct, e.Reason, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("(", "not enough ')' at offset 1")]
    [InlineData("[a", "unterminated [] set at offset 2")]
    [InlineData("a{2,1}", "a quantifier range in reverse order ({5,2}) at offset ")]
    [InlineData("*a", "a quantifier (*, +, ?, {n}) after nothing at offset ")]
    public void A_malformed_regex_is_invalid_with_the_parser_error(string pattern, string error)
    {
        FilterException e = Assert.Throws<FilterException>(() =>
            FilterParser.Parse("""{"path":{"regex":""" + Quote(pattern) + "}}", At));

        Assert.Equal(At + ".path.regex", e.JsonPath);
        Assert.StartsWith($"regex {Quote(pattern)}: {error}", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Filters_may_nest_sixteen_levels_deep_but_not_seventeen()
    {
        static string Nest(int levels) => levels == 1 ? """{"method":"GET"}""" : $$"""{"not":{{Nest(levels - 1)}}}""";

        Assert.Equal(16, FilterParser.Parse(Nest(16), At).Depth);
        FilterException e = Assert.Throws<FilterException>(() => FilterParser.Parse(Nest(17), At));
        Assert.Equal(At + string.Concat(Enumerable.Repeat(".not", 16)), e.JsonPath);
        Assert.Equal("filters nest deeper than 16 levels", e.Reason);
    }

    [Fact]
    public void A_filter_with_too_many_conditions_is_refused()
    {
        string items = string.Join(",", Enumerable.Repeat("""{"method":"GET"}""", FilterLimits.MaxConditions + 1));

        FilterException e = Assert.Throws<FilterException>(() => FilterParser.Parse($$"""{"any":[{{items}}]}""", At));

        Assert.Equal($"{At}.any[{FilterLimits.MaxConditions}].method", e.JsonPath);
    }

    [Fact]
    public void An_overlong_regex_is_refused()
    {
        string pattern = new('a', FilterLimits.MaxRegexLength + 1);

        FilterException e = Assert.Throws<FilterException>(() => FilterParser.Parse("""{"path":{"regex":""" + Quote(pattern) + "}}", At));

        Assert.Equal(At + ".path.regex", e.JsonPath);
        Assert.Equal($"regex is {pattern.Length} characters long; the limit is {FilterLimits.MaxRegexLength}", e.Reason);
    }

    [Fact]
    public void An_absent_or_null_match_is_a_global_intercept()
    {
        using JsonDocument nullMatch = JsonDocument.Parse("null");

        Assert.Null(FilterParser.ParseOptional(null, At));
        Assert.Null(FilterParser.ParseOptional(nullMatch.RootElement, At));
    }

    [Fact]
    public void Header_names_are_stored_in_lower_case_and_compare_equal_in_any_case()
    {
        Filter upper = FilterParser.Parse("""{"header":"X-Dev","exact":"a"}""");
        Filter lower = FilterParser.Parse("""{"header":"x-dev","exact":"a"}""");

        Assert.Equal("x-dev", Assert.IsType<HeaderFilter>(upper).Name);
        Assert.Equal(lower, upper);
        Assert.Equal(lower.GetHashCode(), upper.GetHashCode());
    }

    [Fact]
    public void Invalid_filters_built_in_code_are_refused_by_the_constructors()
    {
        Assert.Throws<ArgumentException>(() => new HeaderFilter("x y", StringMatch.Exact("a")));
        Assert.Throws<ArgumentException>(() => new PathFilter(StringMatch.Prefix("api")));
        Assert.Throws<ArgumentException>(() => new MethodFilter(""));
        Assert.Throws<ArgumentException>(() => new AllFilter([]));
        Assert.Throws<ArgumentException>(() => new AnyFilter([]));
        Assert.Throws<ArgumentException>(() => StringMatch.Regex("(a)\\1"));
    }
}
