namespace Switchyard.Kubernetes;

/// <summary>
/// The wildcard patterns of mirrord's <c>spec.targetPath</c>: <c>*</c> matches any run of characters (slashes included),
/// <c>?</c> exactly one character, everything else itself; the whole text must match (anchored at both ends).
/// </summary>
public static class Glob
{
    public static bool IsMatch(string pattern, string text)
    {
        // Iterative matcher with one backtrack point (the last '*'): linear in practice, no regex, no recursion.
        int p = 0, t = 0, star = -1, resume = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]) && pattern[p] != '*')
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
