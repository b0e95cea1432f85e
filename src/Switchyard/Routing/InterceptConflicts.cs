namespace Switchyard.Routing;

/// <summary>
/// Refuses an intercept that would take the same requests as one already on its port, so that a second developer
/// cannot silently steal (or lose to precedence) the first one's traffic. Two intercepts (wiretaps never conflict)
/// on the same port conflict when their filters are the same set of conditions: the same header names with the same
/// values, the same path condition and the same method condition, in any order (a top-level <c>all</c> is a set).
/// Different header values (<c>x-dev: alice</c> and <c>x-dev: bob</c>) or different paths do not conflict; overlapping
/// but different filters are left to precedence (more conditions first, then id). Two global intercepts conflict.
/// </summary>
public static class InterceptConflicts
{
    /// <summary>How a conflict's reason starts (the admin API answers 409 for it).</summary>
    public const string ReasonPrefix = "conflicts with intercept";

    /// <summary>The first existing intercept that <paramref name="candidate"/> conflicts with, or null.</summary>
    public static InterceptRule? Find(InterceptRule candidate, IEnumerable<InterceptRule> existing)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(existing);
        if (candidate.Mode != InterceptMode.Intercept)
        {
            return null;
        }

        HashSet<Filter> conditions = Conditions(candidate.Filter);
        foreach (InterceptRule other in existing)
        {
            if (other.Mode == InterceptMode.Intercept && other.Port == candidate.Port && other.Id != candidate.Id && conditions.SetEquals(Conditions(other.Filter)))
            {
                return other;
            }
        }

        return null;
    }

    /// <summary>The ANDed conditions of a filter as a set (nested <c>all</c>s flattened); any other filter is one condition.</summary>
    private static HashSet<Filter> Conditions(Filter? filter)
    {
        var set = new HashSet<Filter>();
        if (filter is not null)
        {
            Add(set, filter);
        }

        return set;
    }

    private static void Add(HashSet<Filter> set, Filter filter)
    {
        if (filter is AllFilter all)
        {
            foreach (Filter child in all.Filters)
            {
                Add(set, child);
            }

            return;
        }

        set.Add(filter);
    }
}
