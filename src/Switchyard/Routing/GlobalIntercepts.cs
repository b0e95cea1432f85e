namespace Switchyard.Routing;

/// <summary>
/// SPEC: a global intercept (no filter) takes the whole port at transport level. "Only one global intercept per port;
/// it conflicts with filtered ones." Wiretaps need the HTTP layer too, which a global intercept bypasses, so they
/// conflict with it as well.
/// </summary>
public static class GlobalIntercepts
{
    /// <summary>Why <paramref name="rule"/> cannot join <paramref name="existing"/>, or null when it can.</summary>
    public static string? Conflict(InterceptRule rule, IEnumerable<InterceptRule> existing)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(existing);
        bool global = IsGlobalIntercept(rule);
        foreach (InterceptRule other in existing)
        {
            if (other.Port != rule.Port || other.Id == rule.Id)
            {
                continue;
            }

            if (IsGlobalIntercept(other))
            {
                return $"conflicts with intercept {FilterText.Quote(other.Id)}: it is a global intercept that takes the whole port {FilterText.Quote(rule.Port)}";
            }

            if (global)
            {
                string kind = other.Mode == InterceptMode.Wiretap ? "wiretap" : "intercept";
                return $"conflicts with {kind} {FilterText.Quote(other.Id)}: a global intercept takes the whole port {FilterText.Quote(rule.Port)}, which already has filtered rules";
            }
        }

        return null;
    }

    public static bool IsGlobalIntercept(InterceptRule rule) => rule.IsGlobal && rule.Mode == InterceptMode.Intercept;
}
