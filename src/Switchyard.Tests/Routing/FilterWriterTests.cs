using System.Text.Json;
using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

public sealed class FilterWriterTests
{
    [Fact]
    public void The_spec_example_is_written_in_the_spec_form()
    {
        const string json = """{"all":[{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}},{"not":{"method":"GET"}},{"any":[{"header":"x-a","regex":"^b"},{"path":{"exact":"/x"}}]}]}""";

        Assert.Equal(json, FilterWriter.ToJson(FilterParser.Parse(json)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(20240601)]
    public void Generated_filter_trees_survive_a_json_round_trip(int seed)
    {
        var faker = new FilterFaker(seed);
        for (int i = 0; i < 200; i++)
        {
            Filter filter = faker.Filter();

            string json = FilterWriter.ToJson(filter, indented: i % 2 == 0);
            Filter back = FilterParser.Parse(json, "$");

            Assert.Equal(filter, back);
            Assert.Equal(filter.GetHashCode(), back.GetHashCode());
            Assert.Equal(filter.ConditionCount, back.ConditionCount);
            Assert.Equal(FilterWriter.ToJson(filter), FilterWriter.ToJson(back));
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public void A_round_tripped_filter_routes_every_generated_request_the_same_way(int seed)
    {
        var faker = new FilterFaker(seed);
        for (int i = 0; i < 100; i++)
        {
            Filter filter = faker.Filter();
            Filter back = FilterParser.Parse(FilterWriter.ToJson(filter));
            for (int j = 0; j < 20; j++)
            {
                RequestView request = faker.Request();
                bool matches = filter.Matches(request);
                Assert.Equal(matches, back.Matches(request));
                Assert.Equal(matches, filter.Explain(request).Matched);
            }
        }
    }

    [Fact]
    public void An_explanation_is_written_as_json()
    {
        Filter filter = FilterParser.Parse("""{"not":{"method":"GET"}}""");
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            filter.Explain(new RequestView("POST", "/")).WriteTo(writer);
        }

        Assert.Equal(
            """{"condition":"not","matched":true,"detail":"inner filter did not match","children":[{"condition":"method \u0022GET\u0022","matched":false,"detail":"method \u0022POST\u0022"}]}""",
            System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
