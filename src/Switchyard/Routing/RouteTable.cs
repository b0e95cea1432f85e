using System.Collections.Frozen;

namespace Switchyard.Routing;

/// <summary>
/// An immutable snapshot of the intercepts and wiretaps, grouped by port. Readers route without locks;
/// a change builds a new snapshot (<see cref="With"/>, <see cref="Without"/>) that
/// <see cref="RouteTableHolder"/> swaps in.
/// </summary>
/// <remarks>
/// SPEC.md "Precedence": intercepts are tried in order of specificity (more conditions first), then by
/// `id` (ordinal); the first match wins. All matching wiretaps get a copy. A global rule (no filter)
/// has 0 conditions, so it is tried after every filtered intercept on its port.
/// </remarks>
public sealed class RouteTable
{
    private readonly InterceptRule[] _rules;
    private readonly FrozenDictionary<string, PortRoutes> _ports;
    private readonly FrozenDictionary<string, InterceptRule> _byId;

    private RouteTable(InterceptRule[] rules)
    {
        _rules = rules;
        _byId = rules.ToFrozenDictionary(r => r.Id, StringComparer.Ordinal);
        _ports = rules.GroupBy(r => r.Port, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => new PortRoutes(g.Key, g), StringComparer.Ordinal);
    }

    public static RouteTable Empty { get; } = new([]);

    /// <summary>Rules ordered by port, then as they are tried (intercepts by precedence, then wiretaps by id).</summary>
    public IReadOnlyList<InterceptRule> Rules => _rules;

    public int Count => _rules.Length;

    /// <summary>Ports that have at least one rule.</summary>
    public IEnumerable<string> Ports => _ports.Keys;

    /// <summary>Builds a table; throws <see cref="ArgumentException"/> on a duplicated id.</summary>
    public static RouteTable Create(IEnumerable<InterceptRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        InterceptRule[] list = [.. rules];
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (InterceptRule rule in list)
        {
            ArgumentNullException.ThrowIfNull(rule, nameof(rules));
            if (!ids.Add(rule.Id))
            {
                throw new ArgumentException($"duplicate intercept id {FilterText.Quote(rule.Id)}", nameof(rules));
            }
        }

        return list.Length == 0 ? Empty : new RouteTable(Order(list));
    }

    public bool Contains(string id) => _byId.ContainsKey(id);

    public InterceptRule? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>A new table with <paramref name="rule"/> added; throws <see cref="ArgumentException"/> when its id is taken.</summary>
    public RouteTable With(InterceptRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (_byId.ContainsKey(rule.Id))
        {
            throw new ArgumentException($"duplicate intercept id {FilterText.Quote(rule.Id)}", nameof(rule));
        }

        return new RouteTable(Order([.. _rules, rule]));
    }

    /// <summary>A new table without rule <paramref name="id"/>; this table when there is no such rule.</summary>
    public RouteTable Without(string id)
    {
        if (!_byId.ContainsKey(id))
        {
            return this;
        }

        InterceptRule[] rest = [.. _rules.Where(r => !string.Equals(r.Id, id, StringComparison.Ordinal))];
        return rest.Length == 0 ? Empty : new RouteTable(rest);
    }

    /// <summary>The rules of one port; an empty <see cref="PortRoutes"/> when it has none.</summary>
    /// <summary>The rules of one port without allocating when it has none (the hot path).</summary>
    public bool TryGetPort(string port, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PortRoutes? routes) => _ports.TryGetValue(port, out routes);

    public PortRoutes ForPort(string port) => _ports.TryGetValue(port, out PortRoutes? routes) ? routes : new PortRoutes(port, []);

    public RouteDecision Route(IRequestView request, string port) =>
        _ports.TryGetValue(port, out PortRoutes? routes) ? routes.Route(request) : new RouteDecision(port, null, []);

    public RouteExplanation Explain(IRequestView request, string port) => ForPort(port).Explain(request);

    private static InterceptRule[] Order(InterceptRule[] rules)
    {
        Array.Sort(rules, PortRoutes.Compare);
        return rules;
    }
}

/// <summary>The rules of one port, in the order they are tried; part of a <see cref="RouteTable"/> snapshot.</summary>
public sealed class PortRoutes
{
    private readonly InterceptRule[] _intercepts;
    private readonly InterceptRule[] _wiretaps;

    internal PortRoutes(string port, IEnumerable<InterceptRule> rules)
    {
        Port = port;
        InterceptRule[] all = [.. rules];
        Array.Sort(all, Compare);
        _intercepts = [.. all.Where(r => r.Mode == InterceptMode.Intercept)];
        _wiretaps = [.. all.Where(r => r.Mode == InterceptMode.Wiretap)];
        HasFilteredRules = all.Any(r => !r.IsGlobal);
        HasBodyRules = all.Any(r => r.Filter is { HasBodyCondition: true });
        GlobalIntercept = _intercepts.FirstOrDefault(r => r.IsGlobal);
    }

    public string Port { get; }

    /// <summary>Intercepts by precedence: more conditions first, then id (ordinal).</summary>
    public IReadOnlyList<InterceptRule> Intercepts => _intercepts;

    /// <summary>Wiretaps by id (all matching ones get a copy).</summary>
    public IReadOnlyList<InterceptRule> Wiretaps => _wiretaps;

    /// <summary>An HTTP-filtered intercept or wiretap is active: with `inspect: auto` the port must decrypt and parse.</summary>
    public bool HasFilteredRules { get; }

    /// <summary>The global intercept (lowest id if several) that takes the port at transport level when nothing is filtered.</summary>
    public InterceptRule? GlobalIntercept { get; }

    /// <summary>Some rule's filter has a body condition: requests may have to be buffered (SPEC.md "Body filters").</summary>
    public bool HasBodyRules { get; }

    /// <summary>
    /// Whether the route of <paramref name="request"/> (its body not read) depends on its body: an intercept tried before
    /// the first one that matches without the body, or a wiretap, needs it (<see cref="FilterOutcome.NeedsBody"/>). Those
    /// rules are added to <paramref name="pending"/> (for the per-intercept body filter counts). Only such requests are
    /// buffered: every other condition of the intercept holds.
    /// </summary>
    public bool NeedsBody(IRequestView request, List<InterceptRule> pending)
    {
        ArgumentNullException.ThrowIfNull(pending);
        if (!HasBodyRules || request.BodyState != RequestBodyState.Unread)
        {
            return false;
        }

        foreach (InterceptRule rule in _intercepts)
        {
            FilterOutcome outcome = rule.Filter?.Evaluate(request) ?? FilterOutcome.Match;
            if (outcome == FilterOutcome.Match)
            {
                break;
            }

            if (outcome == FilterOutcome.NeedsBody)
            {
                pending.Add(rule);
            }
        }

        foreach (InterceptRule tap in _wiretaps)
        {
            if (tap.Filter is { HasBodyCondition: true } filter && filter.Evaluate(request) == FilterOutcome.NeedsBody)
            {
                pending.Add(tap);
            }
        }

        return pending.Count > 0;
    }

    public RouteDecision Route(IRequestView request)
    {
        InterceptRule? chosen = null;
        foreach (InterceptRule rule in _intercepts)
        {
            if (rule.Matches(request))
            {
                chosen = rule;
                break;
            }
        }

        List<InterceptRule>? taps = null;
        foreach (InterceptRule tap in _wiretaps)
        {
            if (tap.Matches(request))
            {
                (taps ??= new List<InterceptRule>(_wiretaps.Length)).Add(tap);
            }
        }

        return new RouteDecision(Port, chosen, taps is null ? [] : taps);
    }

    public RouteExplanation Explain(IRequestView request)
    {
        var rules = new List<RuleExplanation>(_intercepts.Length + _wiretaps.Length);
        InterceptRule? chosen = null;
        foreach (InterceptRule rule in _intercepts)
        {
            FilterExplanation? filter = rule.Filter?.Explain(request);
            bool matched = filter?.Matched ?? true;
            bool take = matched && chosen is null;
            string? note = matched && !take ? $"matched, but {FilterText.Quote(chosen!.Id)} comes first" : null;
            chosen ??= take ? rule : null;
            rules.Add(new RuleExplanation(rule, matched, take, filter, note));
        }

        var taps = new List<InterceptRule>();
        foreach (InterceptRule tap in _wiretaps)
        {
            FilterExplanation? filter = tap.Filter?.Explain(request);
            bool matched = filter?.Matched ?? true;
            if (matched)
            {
                taps.Add(tap);
            }

            rules.Add(new RuleExplanation(tap, matched, matched, filter, null));
        }

        return new RouteExplanation(new RouteDecision(Port, chosen, taps), rules);
    }

    internal static int Compare(InterceptRule? a, InterceptRule? b)
    {
        int c = string.CompareOrdinal(a!.Port, b!.Port);
        if (c == 0)
        {
            c = a.Mode.CompareTo(b.Mode);
        }

        if (c == 0 && a.Mode == InterceptMode.Intercept)
        {
            // Wiretaps are not ranked (every match gets a copy): they stay in id order.
            c = b.ConditionCount.CompareTo(a.ConditionCount);
        }

        return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
    }
}
