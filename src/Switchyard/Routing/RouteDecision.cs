using System.Text;

namespace Switchyard.Routing;

/// <summary>
/// Where one request goes: the first matching intercept (or the app when none) and every matching
/// wiretap. <see cref="Reason"/> is built only when read (the hot path does not format strings).
/// </summary>
public readonly struct RouteDecision
{
    private readonly IReadOnlyList<InterceptRule>? _wiretaps;

    internal RouteDecision(string port, InterceptRule? intercept, IReadOnlyList<InterceptRule> wiretaps)
    {
        Port = port;
        Intercept = intercept;
        _wiretaps = wiretaps;
    }

    public string Port { get; }

    /// <summary>The intercept that takes the request; null: the app answers.</summary>
    public InterceptRule? Intercept { get; }

    /// <summary>Every matching wiretap, by id; each gets a copy.</summary>
    public IReadOnlyList<InterceptRule> Wiretaps => _wiretaps ?? [];

    public bool ToApp => Intercept is null;

    /// <summary>E.g. `intercept "alice" (2 conditions); wiretaps "audit", "tap"`, or `no intercept matched on port "https": to the app`.</summary>
    public string Reason
    {
        get
        {
            var text = new StringBuilder();
            if (Intercept is { } rule)
            {
                text.Append("intercept ").Append(FilterText.Quote(rule.Id)).Append(rule.IsGlobal
                    ? " (global: no filter)"
                    : $" ({rule.ConditionCount} condition{(rule.ConditionCount == 1 ? "" : "s")})");
            }
            else
            {
                text.Append("no intercept matched on port ").Append(FilterText.Quote(Port ?? "")).Append(": to the app");
            }

            if (Wiretaps.Count > 0)
            {
                text.Append("; wiretap").Append(Wiretaps.Count == 1 ? " " : "s ").AppendJoin(", ", Wiretaps.Select(w => FilterText.Quote(w.Id)));
            }

            return text.ToString();
        }
    }

    public override string ToString() => Reason;
}

/// <summary>One rule's verdict in a <see cref="RouteExplanation"/>.</summary>
/// <param name="Rule">The rule, in precedence order within its kind.</param>
/// <param name="Matched">Its filter matched (always true for a global rule).</param>
/// <param name="Chosen">It takes the request (the intercept) or gets a copy (a matching wiretap).</param>
/// <param name="Filter">Condition by condition; null for a global rule.</param>
/// <param name="Note">Why a matching intercept was not chosen, e.g. `"alice" came first`; else null.</param>
public sealed record RuleExplanation(InterceptRule Rule, bool Matched, bool Chosen, FilterExplanation? Filter, string? Note);

/// <summary>POST /v1/explain: the decision and every rule on the port, intercepts in the order they are tried, then wiretaps.</summary>
public sealed record RouteExplanation(RouteDecision Decision, IReadOnlyList<RuleExplanation> Rules)
{
    /// <summary>`{"port":..,"route":"app"|"intercept","intercept":id|null,"wiretaps":[..],"reason":..,"rules":[{"id","mode","matched","chosen","note","filter"}]}`.</summary>
    public void WriteTo(System.Text.Json.Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("port"u8, Decision.Port);
        writer.WriteString("route"u8, Decision.ToApp ? "app" : "intercept");
        writer.WriteString("intercept"u8, Decision.Intercept?.Id);
        writer.WriteStartArray("wiretaps"u8);
        foreach (InterceptRule tap in Decision.Wiretaps)
        {
            writer.WriteStringValue(tap.Id);
        }

        writer.WriteEndArray();
        writer.WriteString("reason"u8, Decision.Reason);
        writer.WriteStartArray("rules"u8);
        foreach (RuleExplanation rule in Rules)
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, rule.Rule.Id);
            writer.WriteString("mode"u8, rule.Rule.Mode == InterceptMode.Intercept ? "intercept" : "wiretap");
            writer.WriteNumber("conditions"u8, rule.Rule.ConditionCount);
            writer.WriteBoolean("matched"u8, rule.Matched);
            writer.WriteBoolean("chosen"u8, rule.Chosen);
            if (rule.Note is not null)
            {
                writer.WriteString("note"u8, rule.Note);
            }

            if (rule.Filter is not null)
            {
                writer.WritePropertyName("filter"u8);
                rule.Filter.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
