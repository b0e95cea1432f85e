namespace Switchyard.Routing;

/// <summary>
/// A filter's verdict on a request whose body may not have been read yet: <see cref="NeedsBody"/> when only a
/// body condition can still decide (SPEC.md "Body filters": only such requests are buffered).
/// </summary>
public enum FilterOutcome : byte
{
    NoMatch,
    Match,
    NeedsBody,
}

/// <summary>
/// An immutable filter tree (SPEC.md `match` grammar): leaves test a header, the path, the method or a JSON body value;
/// <see cref="AllFilter"/>, <see cref="AnyFilter"/> and <see cref="NotFilter"/> combine them.
/// Equality is structural (header names compare case-insensitively; regexes by pattern).
/// </summary>
public abstract class Filter : IEquatable<Filter>
{
    private protected Filter()
    {
    }

    /// <summary>Leaf conditions in the tree: the specificity used to order intercepts (SPEC.md "Precedence").</summary>
    public abstract int ConditionCount { get; }

    /// <summary>Levels of the tree (a leaf is 1).</summary>
    public abstract int Depth { get; }

    /// <summary>Some leaf of the tree is a <see cref="BodyFilter"/>.</summary>
    public virtual bool HasBodyCondition => false;

    public abstract bool Matches(IRequestView request);

    /// <summary>
    /// Three-valued evaluation: a body condition on a request whose body is not read (<see cref="RequestBodyState.Unread"/>)
    /// is unknown, and the result is <see cref="FilterOutcome.NeedsBody"/> only when that unknown decides it.
    /// </summary>
    public virtual FilterOutcome Evaluate(IRequestView request) => Matches(request) ? FilterOutcome.Match : FilterOutcome.NoMatch;

    /// <summary>Evaluates every condition (no short cut) and says which matched and which failed.</summary>
    public abstract FilterExplanation Explain(IRequestView request);

    public abstract bool Equals(Filter? other);

    public override bool Equals(object? obj) => Equals(obj as Filter);

    public abstract override int GetHashCode();

    /// <summary>The condition in words, e.g. `header "x-dev" exact "alice"`; composites list their children.</summary>
    public abstract override string ToString();

    internal static void Require(string? error, string parameter)
    {
        if (error is not null)
        {
            throw new ArgumentException(error, parameter);
        }
    }
}

/// <summary>`{ "header": NAME, "exact"|"prefix"|"regex": V }`: some value of header NAME matches; a missing header never matches.</summary>
public sealed class HeaderFilter : Filter
{
    public HeaderFilter(string name, StringMatch match)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(match);
        Require(FilterText.CheckToken(name, "header name"), nameof(name));
        Name = name.ToLowerInvariant();
        Match = match;
    }

    /// <summary>The header name, lower case (names are case-insensitive).</summary>
    public string Name { get; }

    public StringMatch Match { get; }

    public override int ConditionCount => 1;

    public override int Depth => 1;

    public override bool Matches(IRequestView request) => request.MatchHeader(Name, Match) == HeaderLookup.Matched;

    public override FilterExplanation Explain(IRequestView request)
    {
        HeaderLookup found = request.MatchHeader(Name, Match);
        string detail = found switch
        {
            HeaderLookup.Matched => "a value matched",
            HeaderLookup.NoValueMatched => "no value matched",
            _ => "header missing",
        };
        return new FilterExplanation(ToString(), found == HeaderLookup.Matched, detail, []);
    }

    public override bool Equals(Filter? other) => other is HeaderFilter h && h.Name == Name && h.Match.Equals(Match);

    public override int GetHashCode() => HashCode.Combine(1, Name, Match);

    public override string ToString() => $"header {FilterText.Quote(Name)} {Match}";
}

/// <summary>`{ "path": { "exact"|"prefix"|"regex": V } }`, tested on the path without the query string.</summary>
public sealed class PathFilter : Filter
{
    public PathFilter(StringMatch match)
    {
        ArgumentNullException.ThrowIfNull(match);
        if (match.Kind != MatchKind.Regex)
        {
            Require(FilterText.CheckPathLiteral(match.Value), nameof(match));
        }

        Match = match;
    }

    public StringMatch Match { get; }

    public override int ConditionCount => 1;

    public override int Depth => 1;

    public override bool Matches(IRequestView request) => Match.IsMatch(request.Path);

    public override FilterExplanation Explain(IRequestView request)
    {
        bool matched = Match.IsMatch(request.Path);
        return new FilterExplanation(ToString(), matched, $"path {FilterText.Quote(request.Path)}", []);
    }

    public override bool Equals(Filter? other) => other is PathFilter p && p.Match.Equals(Match);

    public override int GetHashCode() => HashCode.Combine(2, Match);

    public override string ToString() => $"path {Match}";
}

/// <summary>`{ "method": M }`: the method token equals M exactly (methods are case-sensitive, RFC 9110 9.1).</summary>
public sealed class MethodFilter : Filter
{
    public MethodFilter(string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        Require(FilterText.CheckToken(method, "method"), nameof(method));
        Method = method;
    }

    public string Method { get; }

    public override int ConditionCount => 1;

    public override int Depth => 1;

    public override bool Matches(IRequestView request) => string.Equals(request.Method, Method, StringComparison.Ordinal);

    public override FilterExplanation Explain(IRequestView request) =>
        new(ToString(), Matches(request), $"method {FilterText.Quote(request.Method)}", []);

    public override bool Equals(Filter? other) => other is MethodFilter m && string.Equals(m.Method, Method, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(3, StringComparer.Ordinal.GetHashCode(Method));

    public override string ToString() => $"method {FilterText.Quote(Method)}";
}

/// <summary>Common part of <see cref="AllFilter"/> and <see cref="AnyFilter"/>: a non-empty list of children.</summary>
public abstract class CompositeFilter : Filter
{
    private readonly Filter[] _filters;

    private protected CompositeFilter(IEnumerable<Filter> filters, string what)
    {
        ArgumentNullException.ThrowIfNull(filters);
        _filters = [.. filters];
        if (_filters.Length == 0)
        {
            throw new ArgumentException($"\"{what}\" needs at least one filter", nameof(filters));
        }

        foreach (Filter f in _filters)
        {
            ArgumentNullException.ThrowIfNull(f, nameof(filters));
        }

        int conditions = 0;
        int depth = 0;
        foreach (Filter f in _filters)
        {
            conditions += f.ConditionCount;
            depth = Math.Max(depth, f.Depth);
        }

        ConditionCount = conditions;
        Depth = depth + 1;
        HasBodyCondition = _filters.Any(f => f.HasBodyCondition);
    }

    public override bool HasBodyCondition { get; }

    public IReadOnlyList<Filter> Filters => _filters;

    public override int ConditionCount { get; }

    public override int Depth { get; }

    private protected ReadOnlySpan<Filter> Span => _filters;

    /// <summary>
    /// Three-valued and/or: the first child answering <paramref name="decisive"/> (NoMatch for all, Match for any)
    /// decides; else NeedsBody when a child needs the body, else the other definite answer.
    /// </summary>
    private protected FilterOutcome EvaluateChildren(IRequestView request, FilterOutcome decisive)
    {
        FilterOutcome otherwise = decisive == FilterOutcome.Match ? FilterOutcome.NoMatch : FilterOutcome.Match;
        if (!HasBodyCondition)
        {
            return Matches(request) ? FilterOutcome.Match : FilterOutcome.NoMatch;
        }

        FilterOutcome result = otherwise;
        foreach (Filter f in Span)
        {
            FilterOutcome outcome = f.Evaluate(request);
            if (outcome == decisive)
            {
                return decisive;
            }

            if (outcome == FilterOutcome.NeedsBody)
            {
                result = FilterOutcome.NeedsBody;
            }
        }

        return result;
    }

    private protected FilterExplanation ExplainChildren(IRequestView request, string name, bool all)
    {
        var children = new FilterExplanation[_filters.Length];
        int matched = 0;
        for (int i = 0; i < _filters.Length; i++)
        {
            children[i] = _filters[i].Explain(request);
            matched += children[i].Matched ? 1 : 0;
        }

        bool result = all ? matched == _filters.Length : matched > 0;
        return new FilterExplanation(name, result, $"{matched} of {_filters.Length} matched", children);
    }

    private protected bool SameChildren(CompositeFilter other) => _filters.AsSpan().SequenceEqual(other._filters);

    private protected int HashChildren(int seed)
    {
        var hash = new HashCode();
        hash.Add(seed);
        foreach (Filter f in _filters)
        {
            hash.Add(f);
        }

        return hash.ToHashCode();
    }

    private protected string Describe(string name) => $"{name}({string.Join(", ", _filters.Select(f => f.ToString()))})";
}

/// <summary>`{ "all": [..] }`: every child matches.</summary>
public sealed class AllFilter(IEnumerable<Filter> filters) : CompositeFilter(filters, "all")
{
    public override bool Matches(IRequestView request)
    {
        foreach (Filter f in Span)
        {
            if (!f.Matches(request))
            {
                return false;
            }
        }

        return true;
    }

    public override FilterOutcome Evaluate(IRequestView request) => EvaluateChildren(request, decisive: FilterOutcome.NoMatch);

    public override FilterExplanation Explain(IRequestView request) => ExplainChildren(request, "all", all: true);

    public override bool Equals(Filter? other) => other is AllFilter a && SameChildren(a);

    public override int GetHashCode() => HashChildren(4);

    public override string ToString() => Describe("all");
}

/// <summary>`{ "any": [..] }`: at least one child matches.</summary>
public sealed class AnyFilter(IEnumerable<Filter> filters) : CompositeFilter(filters, "any")
{
    public override bool Matches(IRequestView request)
    {
        foreach (Filter f in Span)
        {
            if (f.Matches(request))
            {
                return true;
            }
        }

        return false;
    }

    public override FilterOutcome Evaluate(IRequestView request) => EvaluateChildren(request, decisive: FilterOutcome.Match);

    public override FilterExplanation Explain(IRequestView request) => ExplainChildren(request, "any", all: false);

    public override bool Equals(Filter? other) => other is AnyFilter a && SameChildren(a);

    public override int GetHashCode() => HashChildren(5);

    public override string ToString() => Describe("any");
}

/// <summary>`{ "not": F }`: F does not match (so `not header` matches a request without that header).</summary>
public sealed class NotFilter : Filter
{
    public NotFilter(Filter inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    public Filter Inner { get; }

    public override int ConditionCount => Inner.ConditionCount;

    public override int Depth => Inner.Depth + 1;

    public override bool HasBodyCondition => Inner.HasBodyCondition;

    public override bool Matches(IRequestView request) => !Inner.Matches(request);

    public override FilterOutcome Evaluate(IRequestView request) => Inner.Evaluate(request) switch
    {
        FilterOutcome.Match => FilterOutcome.NoMatch,
        FilterOutcome.NoMatch => FilterOutcome.Match,
        _ => FilterOutcome.NeedsBody,
    };

    public override FilterExplanation Explain(IRequestView request)
    {
        FilterExplanation inner = Inner.Explain(request);
        return new FilterExplanation("not", !inner.Matched, inner.Matched ? "inner filter matched" : "inner filter did not match", [inner]);
    }

    public override bool Equals(Filter? other) => other is NotFilter n && n.Inner.Equals(Inner);

    public override int GetHashCode() => HashCode.Combine(6, Inner);

    public override string ToString() => $"not({Inner})";
}
