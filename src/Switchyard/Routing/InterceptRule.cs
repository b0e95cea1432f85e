namespace Switchyard.Routing;

/// <summary>What a matching rule does with a request (SPEC.md: intercept = the developer answers; wiretap = a copy).</summary>
public enum InterceptMode : byte
{
    Intercept,
    Wiretap,
}

/// <summary>
/// One intercept or wiretap as the router sees it. <see cref="Port"/> is the port key the caller routes
/// with (use one canonical key per port, e.g. the port name, which defaults to the listen number).
/// A null <see cref="Filter"/> is a global rule: it matches everything on its port.
/// </summary>
public sealed record InterceptRule
{
    public InterceptRule(string id, string port, InterceptMode mode, Filter? filter, string? target = null, bool failOpen = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(port);
        Id = id;
        Port = port;
        Mode = mode;
        Filter = filter;
        Target = target;
        FailOpen = failOpen;
    }

    public string Id { get; }

    public string Port { get; }

    public InterceptMode Mode { get; }

    /// <summary>Null: a global rule.</summary>
    public Filter? Filter { get; }

    /// <summary>"HOST:PORT", or null to deliver through the tunnel of the developer connected with <see cref="Id"/>.</summary>
    public string? Target { get; }

    /// <summary>When the target is unreachable: true -> the app answers; false -> 503 naming the intercept.</summary>
    public bool FailOpen { get; }

    public bool IsGlobal => Filter is null;

    /// <summary>Specificity: leaf conditions of the filter (0 for a global rule).</summary>
    public int ConditionCount => Filter?.ConditionCount ?? 0;

    public bool Matches(IRequestView request) => Filter is null || Filter.Matches(request);

    public override string ToString() =>
        $"{(Mode == InterceptMode.Intercept ? "intercept" : "wiretap")} {FilterText.Quote(Id)} on port {FilterText.Quote(Port)}: {(Filter is null ? "everything" : Filter.ToString())}";
}
