using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Switchyard.Routing;
using static Switchyard.Tests.Routing.RoutingTestData;

namespace Switchyard.Tests.Routing;

public sealed class FilterMatchTests
{
    [Theory]
    // header exact / prefix / regex
    [InlineData("""{"header":"x-dev","exact":"alice"}""", "GET", "/", "x-dev: alice", true)]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", "GET", "/", "x-dev: Alice", false)]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", "GET", "/", "x-dev: alice2", false)]
    [InlineData("""{"header":"x-dev","exact":""}""", "GET", "/", "x-dev: ", true)]
    [InlineData("""{"header":"x-dev","prefix":"ali"}""", "GET", "/", "x-dev: alice", true)]
    [InlineData("""{"header":"x-dev","prefix":"lic"}""", "GET", "/", "x-dev: alice", false)]
    [InlineData("""{"header":"x-dev","prefix":""}""", "GET", "/", "x-dev: anything", true)]
    [InlineData("""{"header":"x-dev","regex":"li"}""", "GET", "/", "x-dev: alice", true)]
    [InlineData("""{"header":"x-dev","regex":"^li"}""", "GET", "/", "x-dev: alice", false)]
    [InlineData("""{"header":"x-dev","regex":"(?i)^ALICE$"}""", "GET", "/", "x-dev: alice", true)]
    // header names are case-insensitive, in the filter and in the request
    [InlineData("""{"header":"X-Dev","exact":"alice"}""", "GET", "/", "x-dev: alice", true)]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", "GET", "/", "X-DEV: alice", true)]
    // any value of a repeated header
    [InlineData("""{"header":"x-dev","exact":"bob"}""", "GET", "/", "x-dev: alice|x-other: bob|x-dev: bob", true)]
    [InlineData("""{"header":"x-dev","exact":"carol"}""", "GET", "/", "x-dev: alice|x-dev: bob", false)]
    // field lines are not split at commas
    [InlineData("""{"header":"x-dev","exact":"bob"}""", "GET", "/", "x-dev: alice, bob", false)]
    // a missing header never matches, not even an empty prefix or a match-all regex
    [InlineData("""{"header":"x-dev","prefix":""}""", "GET", "/", "x-other: alice", false)]
    [InlineData("""{"header":"x-dev","regex":""}""", "GET", "/", "", false)]
    [InlineData("""{"not":{"header":"x-dev","prefix":""}}""", "GET", "/", "", true)]
    // path: query string excluded
    [InlineData("""{"path":{"exact":"/api/items"}}""", "GET", "/api/items", "", true)]
    [InlineData("""{"path":{"exact":"/api/items"}}""", "GET", "/api/items?id=1", "", true)]
    [InlineData("""{"path":{"exact":"/api/items"}}""", "GET", "/api/items/", "", false)]
    [InlineData("""{"path":{"exact":"/api/items"}}""", "GET", "/API/items", "", false)]
    [InlineData("""{"path":{"prefix":"/api/"}}""", "GET", "/api/items?x=/y", "", true)]
    [InlineData("""{"path":{"prefix":"/api/"}}""", "GET", "/apix", "", false)]
    [InlineData("""{"path":{"prefix":"/api/"}}""", "GET", "/?next=/api/", "", false)]
    [InlineData("""{"path":{"regex":"items$"}}""", "GET", "/api/items?q=1", "", true)]
    [InlineData("""{"path":{"regex":"q=1"}}""", "GET", "/api/items?q=1", "", false)]
    [InlineData("""{"path":{"regex":"/v[0-9]+/"}}""", "GET", "/api/v12/x", "", true)]
    [InlineData("""{"path":{"exact":"/a"}}""", "GET", "/a#frag", "", true)]
    // method: exact, case-sensitive
    [InlineData("""{"method":"GET"}""", "GET", "/", "", true)]
    [InlineData("""{"method":"GET"}""", "get", "/", "", false)]
    [InlineData("""{"method":"GET"}""", "POST", "/", "", false)]
    [InlineData("""{"method":"PURGE"}""", "PURGE", "/", "", true)]
    // combinations
    [InlineData("""{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}}]}""", "GET", "/api/x", "x-dev: alice", true)]
    [InlineData("""{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}}]}""", "GET", "/web/x", "x-dev: alice", false)]
    [InlineData("""{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}}]}""", "GET", "/api/x", "", false)]
    [InlineData("""{"any":[{"method":"POST"},{"method":"PUT"}]}""", "PUT", "/", "", true)]
    [InlineData("""{"any":[{"method":"POST"},{"method":"PUT"}]}""", "GET", "/", "", false)]
    [InlineData("""{"not":{"method":"GET"}}""", "GET", "/", "", false)]
    [InlineData("""{"not":{"method":"GET"}}""", "DELETE", "/", "", true)]
    [InlineData("""{"not":{"not":{"method":"GET"}}}""", "GET", "/", "", true)]
    [InlineData("""{"all":[{"method":"GET"}]}""", "GET", "/", "", true)]
    [InlineData("""{"any":[{"all":[{"method":"GET"},{"path":{"prefix":"/a"}}]},{"not":{"header":"x-dev","exact":"alice"}}]}""", "POST", "/b", "x-dev: bob", true)]
    [InlineData("""{"any":[{"all":[{"method":"GET"},{"path":{"prefix":"/a"}}]},{"not":{"header":"x-dev","exact":"alice"}}]}""", "POST", "/a", "x-dev: alice", false)]
    [InlineData("""{"any":[{"all":[{"method":"GET"},{"path":{"prefix":"/a"}}]},{"not":{"header":"x-dev","exact":"alice"}}]}""", "GET", "/a", "x-dev: alice", true)]
    [InlineData("""{"all":[{"header":"x-a","exact":"1"},{"not":{"header":"x-b","exact":"2"}}]}""", "GET", "/", "x-a: 1|x-b: 3|x-b: 2", false)]
    public void A_filter_matches_exactly_the_requests_its_conditions_describe(string json, string method, string target, string headers, bool expected)
    {
        Filter filter = FilterParser.Parse(json);
        RequestView request = Request(method, target, headers);

        Assert.Equal(expected, filter.Matches(request));
        Assert.Equal(expected, filter.Explain(request).Matched);
    }

    [Fact]
    public void A_request_view_cuts_the_query_string_off_the_path()
    {
        Assert.Equal("/api/items", new RequestView("GET", "/api/items?x=1&y=?").Path);
        Assert.Equal("/", new RequestView("GET", "/?").Path);
        Assert.Equal("/a", new RequestView("GET", "/a#f?g").Path);
    }

    [Fact]
    public async Task A_catastrophic_backtracking_pattern_runs_in_linear_time_on_a_hostile_value()
    {
        Filter filter = FilterParser.Parse("""{"header":"x-evil","regex":"(a+)+$"}""");
        Filter path = FilterParser.Parse("""{"path":{"regex":"^(a|aa)+$"}}""");
        string hostile = new string('a', 50_000) + "b";
        RequestView request = Request("GET", "/" + hostile, "x-evil: " + hostile);

        Task<(bool Header, bool Path)> run = Task.Run(() => (filter.Matches(request), path.Matches(request)));

        Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)))); // generous: it takes milliseconds
        Assert.Equal((false, false), await run); // the value ends in 'b': no run of a's reaches the end
    }

    [Fact]
    public void A_regex_timeout_counts_as_no_match_and_is_counted()
    {
        // A backtracking regex (never built by the parser) stands in for a match that runs out of time.
        var slow = new Regex("^(a+)+$", RegexOptions.None, TimeSpan.FromMilliseconds(5));
        var filter = new HeaderFilter("x-evil", StringMatch.FromRegexUnchecked(slow));
        long before = RegexGuard.Timeouts;

        bool matched = filter.Matches(Request("GET", "/", "x-evil: " + new string('a', 40) + "b"));

        Assert.False(matched);
        Assert.True(RegexGuard.Timeouts > before);
    }

    [Fact]
    public void Regexes_are_compiled_for_the_non_backtracking_engine_with_a_timeout()
    {
        Assert.Equal(RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, RegexGuard.Options);
        Assert.Equal(TimeSpan.FromMilliseconds(100), RegexGuard.MatchTimeout);
    }

    [Fact]
    public void Explain_reports_every_condition_with_what_it_saw()
    {
        Filter filter = FilterParser.Parse("""
            {"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}},{"not":{"method":"GET"}},{"header":"x-gone","prefix":""}]}
            """);

        FilterExplanation explanation = filter.Explain(Request("GET", "/api/x?y=1", "x-dev: bob|x-dev: alice"));

        Assert.False(explanation.Matched);
        Assert.Equal(
            [
                "- all: 2 of 4 matched",
                "  + header \"x-dev\" exact \"alice\": a value matched",
                "  + path prefix \"/api/\": path \"/api/x\"",
                "  - not: inner filter matched",
                "    + method \"GET\": method \"GET\"",
                "  - header \"x-gone\" prefix \"\": header missing",
            ],
            explanation.ToLines());
    }

    [Fact]
    public void Explain_tells_a_missing_header_from_a_value_that_did_not_match()
    {
        Filter filter = new HeaderFilter("x-dev", StringMatch.Exact("alice"));

        Assert.Equal("header missing", filter.Explain(Request("GET", "/")).Detail);
        Assert.Equal("no value matched", filter.Explain(Request("GET", "/", "x-dev: bob")).Detail);
    }

    [Theory]
    [InlineData("X-Dev", "x-dev", true)]
    [InlineData("x-dev", "x-dev", true)]
    [InlineData("x-dew", "x-dev", false)]
    [InlineData("x-de", "x-dev", false)]
    [InlineData("x_dev", "x-dev", false)]
    [InlineData("X-DEV", "x-dev", true)]
    public void Byte_header_names_compare_case_insensitively_with_a_lower_case_name(string bytes, string name, bool expected)
    {
        Assert.Equal(expected, HeaderBytes.NameEquals(Encoding.ASCII.GetBytes(bytes), name));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(10_000)]
    public void Byte_header_values_of_any_length_are_matched_as_latin1(int length)
    {
        byte[] value = Encoding.Latin1.GetBytes(new string('x', length - 1) + "\u00e9");

        Assert.True(HeaderBytes.IsMatch(value, StringMatch.Regex("x\u00e9$")));
        Assert.True(HeaderBytes.IsMatch(value, StringMatch.Prefix("x")));
        Assert.False(HeaderBytes.IsMatch(value, StringMatch.Exact("x")));
    }
}
