using Switchyard.Cli;
using Switchyard.Routing;

namespace Switchyard.Tests.Cli;

public sealed class ListCommandTests
{
    [Theory]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", "--header x-dev=alice")]
    [InlineData("""{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}},{"method":"POST"}]}""", "--header x-dev=alice --path-prefix /api/ --method POST")]
    [InlineData("""{"header":"x-dev","regex":"^al(ice|ex)$"}""", "--header-regex 'x-dev=^al(ice|ex)$'")]
    [InlineData("""{"header":"x-dev","prefix":"al.ce"}""", """--header-regex 'x-dev=^al\.ce'""")]
    [InlineData("""{"path":{"exact":"/a b"}}""", "--path-equal '/a b'")]
    [InlineData("""{"path":{"regex":"^/v[12]/"}}""", "--path-regex '^/v[12]/'")]
    [InlineData("""{"header":"x-note","exact":"it's"}""", """--header 'x-note=it'\''s'""")]
    [InlineData("""{"any":[{"method":"GET"},{"method":"HEAD"}]}""", """{"any":[{"method":"GET"},{"method":"HEAD"}]}""")]
    [InlineData("""{"not":{"method":"GET"}}""", """{"not":{"method":"GET"}}""")]
    [InlineData("""{"body":{"json":"$.customer.id","exact":"42"}}""", "--body-json '$.customer.id=42'")]
    [InlineData("""{"all":[{"method":"POST"},{"body":{"json":"$['a b'][0]","regex":"^4"}}]}""", "--method POST --body-json-regex '$['\\''a b'\\''][0]=^4'")]
    [InlineData("""{"body":{"json":"$.id","prefix":"a.b"}}""", """--body-json-regex '$.id=^a\.b'""")]
    public void A_filter_is_shown_in_the_intercept_flag_grammar_when_the_flags_can_say_it(string match, string expected)
    {
        Assert.Equal(expected, ListCommand.Flags(FilterParser.Parse(match)));
    }

    [Theory]
    [InlineData("--header x-dev=alice --path-prefix /api/")]
    [InlineData("--header-regex 'x-dev=^al\\.ce' --method GET")]
    [InlineData("--method POST --body-json '$.customer.id=42' --body-json-regex '$.items[0].sku=^A'")]
    public void The_flags_shown_give_the_same_filter_back(string flags)
    {
        string[] words = ShellSplit(flags);
        InterceptOptions options = InterceptOptions.Parse(["--agent", "127.0.0.1:9901", "--to", "127.0.0.1:8080", .. words], "alice");

        Assert.Equal(flags, ListCommand.Flags(options.Filter!));
    }

    [Fact]
    public void The_table_has_a_row_per_intercept_and_wiretap_with_delivery_and_counts()
    {
        const string status = """
            {
              "version": "0.1.0",
              "intercepts": [
                { "id": "alice", "port": "https", "mode": "intercept", "target": null, "failOpen": true,
                  "match": { "header": "x-dev", "exact": "alice" }, "requests": 12, "connections": 0 },
                { "id": "tap", "port": "https", "mode": "wiretap", "target": "10.0.0.9:8080", "failOpen": true,
                  "match": { "path": { "prefix": "/api/" } }, "requests": 3, "connections": 0 },
                { "id": "whole", "port": "lines", "mode": "intercept", "target": null, "failOpen": true,
                  "match": null, "requests": 0, "connections": 2 }
              ],
              "tunnel": { "listen": "0.0.0.0:9902", "connected": ["alice"] }
            }
            """;

        List<ListCommand.Row> rows = ListCommand.Rows(status);
        string table = ListCommand.Table(rows);

        Assert.Equal(
            [
                new ListCommand.Row("alice", "https", "intercept", "--header x-dev=alice", "tunnel (connected)", "12"),
                new ListCommand.Row("tap", "https", "wiretap", "--path-prefix /api/", "10.0.0.9:8080", "3"),
                new ListCommand.Row("whole", "lines", "intercept", "(global: whole port)", "tunnel (waiting)", "2 conn"),
            ],
            rows);
        Assert.Equal(
            """
            ID     PORT   MODE       FILTER                TARGET              REQUESTS
            alice  https  intercept  --header x-dev=alice  tunnel (connected)  12
            tap    https  wiretap    --path-prefix /api/   10.0.0.9:8080       3
            whole  lines  intercept  (global: whole port)  tunnel (waiting)    2 conn

            """.ReplaceLineEndings("\n"),
            table);
    }

    private static string[] ShellSplit(string text)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        bool quoted = false, any = false;
        foreach (char c in text)
        {
            if (c == '\'')
            {
                quoted = !quoted;
                any = true;
            }
            else if (c == ' ' && !quoted)
            {
                if (any)
                {
                    words.Add(word.ToString());
                }

                word.Clear();
                any = false;
            }
            else
            {
                word.Append(c);
                any = true;
            }
        }

        if (any)
        {
            words.Add(word.ToString());
        }

        return [.. words];
    }
}
