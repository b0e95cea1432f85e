using Bogus;
using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

/// <summary>Random valid filter trees and requests from a fixed seed, so a failure reproduces.</summary>
internal sealed class FilterFaker(int seed)
{
    private static readonly string[] HeaderNames = ["x-dev", "X-Dev", "x-request-id", "authorization", "user-agent", "x-b3-traceid", "cookie", "accept"];
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PURGE"];
    private static readonly string[] Regexes = ["^al(ice|an)$", "[0-9a-f]{8}", "(?i)curl/", "^/v[0-9]+/", "\\d+$", "a|b|c", "^\"quoted\\\\\"", "caf\u00e9", "<script>", "x+y*z?"];

    public Randomizer Random { get; } = new(seed);

    private Faker Faker { get; } = new() { Random = new Randomizer(seed + 1) };

    public Filter Filter(int depth = 1)
    {
        int kind = depth >= 5 ? Random.Number(0, 2) : Random.Number(0, 5);
        return kind switch
        {
            0 => new HeaderFilter(Random.ArrayElement(HeaderNames), Match(path: false)),
            1 => new PathFilter(Match(path: true)),
            2 => new MethodFilter(Random.ArrayElement(Methods)),
            3 => new AllFilter(Children(depth)),
            4 => new AnyFilter(Children(depth)),
            _ => new NotFilter(Filter(depth + 1)),
        };
    }

    public RequestView Request()
    {
        var headers = new List<KeyValuePair<string, string>>();
        int count = Random.Number(0, 6);
        for (int i = 0; i < count; i++)
        {
            headers.Add(new(Random.ArrayElement(HeaderNames), Random.Bool() ? Random.ArrayElement(["alice", "alan", "1234abcd", "curl/8.5", "42"]) : Faker.Lorem.Word()));
        }

        string path = "/" + string.Join('/', Faker.Lorem.Words(Random.Number(0, 3)));
        return new RequestView(Random.ArrayElement(Methods), Random.Bool() ? path + "?q=" + Faker.Lorem.Word() : path, headers);
    }

    private Filter[] Children(int depth)
    {
        var children = new Filter[Random.Number(1, 4)];
        for (int i = 0; i < children.Length; i++)
        {
            children[i] = Filter(depth + 1);
        }

        return children;
    }

    private StringMatch Match(bool path)
    {
        switch (Random.Number(0, 2))
        {
            case 0:
                return StringMatch.Exact(path ? "/" + Faker.Lorem.Word() + "/" + Faker.Lorem.Word() : Value());
            case 1:
                return StringMatch.Prefix(path ? "/" + Faker.Lorem.Word() : Value());
            default:
                return StringMatch.Regex(Random.ArrayElement(Regexes));
        }
    }

    // Values that exercise JSON escaping: quotes, backslashes, control characters, non-ASCII, empty.
    private string Value() => Random.Number(0, 5) switch
    {
        0 => "",
        1 => "\"q\" \\ back\tslash\n",
        2 => "caf\u00e9 \u2603 \ud83d\ude00",
        3 => "<a href='x'>&amp;</a>+",
        _ => Faker.Lorem.Word(),
    };
}
