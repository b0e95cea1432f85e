namespace Switchyard.Routing;

/// <summary>
/// `{ "body": { "json": PATH, "exact"|"prefix"|"regex": V } }` (SPEC.md "Body filters"): the request says it carries
/// JSON (`content-type` `application/json` or `*/*+json`), its buffered body is valid JSON, and the string, number
/// or boolean at <see cref="Path"/> matches (a number or boolean as its JSON text). A body that was not read, was
/// too large, too slow or is not JSON never matches. gRPC bodies (`application/grpc`) are not JSON: never a match.
/// </summary>
public sealed class BodyFilter : Filter
{
    /// <summary>`application/json` or a structured `+json` type (RFC 6839), parameters allowed, case-insensitive.</summary>
    private static readonly StringMatch JsonContentType =
        StringMatch.Regex("^[ \\t]*(?i:application/json|[-!#$%&'*+.^_`|~0-9a-z]+/[-!#$%&'*+.^_`|~0-9a-z]+\\+json)[ \\t]*(;|$)");

    public BodyFilter(JsonBodyPath path, StringMatch match)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(match);
        Path = path;
        Match = match;
    }

    public JsonBodyPath Path { get; }

    public StringMatch Match { get; }

    public override int ConditionCount => 1;

    public override int Depth => 1;

    public override bool HasBodyCondition => true;

    /// <summary>The request's `content-type` says JSON (a request without one is not JSON).</summary>
    public static bool IsJson(IRequestView request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.MatchHeader("content-type", JsonContentType) == HeaderLookup.Matched;
    }

    public override bool Matches(IRequestView request) => Evaluate(request) == FilterOutcome.Match;

    public override FilterOutcome Evaluate(IRequestView request)
    {
        if (!IsJson(request))
        {
            return FilterOutcome.NoMatch;
        }

        return request.BodyState switch
        {
            RequestBodyState.Unread => FilterOutcome.NeedsBody,
            RequestBodyState.Buffered => Path.Match(request.Body, Match) == JsonBodyLookup.Matched ? FilterOutcome.Match : FilterOutcome.NoMatch,
            _ => FilterOutcome.NoMatch,
        };
    }

    public override FilterExplanation Explain(IRequestView request)
    {
        string detail;
        bool matched = false;
        if (!IsJson(request))
        {
            detail = "content-type is not JSON";
        }
        else
        {
            switch (request.BodyState)
            {
                case RequestBodyState.Unread:
                    detail = "no body given";
                    break;
                case RequestBodyState.TooLarge:
                    detail = "body larger than maxBodyBytes";
                    break;
                case RequestBodyState.TimedOut:
                    detail = "body slower than bodyTimeout";
                    break;
                default:
                    JsonBodyLookup found = Path.Find(request.Body, out string? value);
                    detail = found switch
                    {
                        JsonBodyLookup.NotJson => "body is not valid JSON",
                        JsonBodyLookup.NotFound => $"no string, number or boolean at {Path.Text}",
                        _ => $"{Path.Text} is {FilterText.Quote(value!)}",
                    };
                    matched = value is not null && Match.IsMatch(value);
                    break;
            }
        }

        return new FilterExplanation(ToString(), matched, detail, []);
    }

    public override bool Equals(Filter? other) => other is BodyFilter b && b.Path.Equals(Path) && b.Match.Equals(Match);

    public override int GetHashCode() => HashCode.Combine(7, Path, Match);

    public override string ToString() => $"body json {FilterText.Quote(Path.Text)} {Match}";
}
