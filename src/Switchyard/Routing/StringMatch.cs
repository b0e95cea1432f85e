using System.Text.RegularExpressions;

namespace Switchyard.Routing;

/// <summary>How a <see cref="StringMatch"/> compares a value; the names are the JSON keys (SPEC.md `match` grammar).</summary>
public enum MatchKind : byte
{
    /// <summary>The whole value equals the operand (ordinal, case-sensitive).</summary>
    Exact,

    /// <summary>The value starts with the operand (ordinal, case-sensitive).</summary>
    Prefix,

    /// <summary>The .NET regex finds a match anywhere in the value (unanchored).</summary>
    Regex,
}

/// <summary>
/// One comparison of a header value or a path: exact, prefix or regex. Regexes run on the
/// non-backtracking engine (linear in the input: SPEC.md "must be safe against catastrophic
/// backtracking") and under <see cref="RegexGuard.MatchTimeout"/> as a second guard; a timeout counts
/// as no match and is counted in <see cref="RegexGuard.Timeouts"/>.
/// </summary>
public sealed class StringMatch : IEquatable<StringMatch>
{
    private readonly Regex? _regex;

    private StringMatch(MatchKind kind, string value, Regex? regex)
    {
        Kind = kind;
        Value = value;
        _regex = regex;
    }

    public MatchKind Kind { get; }

    /// <summary>The operand: the literal for exact/prefix, the pattern for regex.</summary>
    public string Value { get; }

    public static StringMatch Exact(string value) => new(MatchKind.Exact, value ?? throw new ArgumentNullException(nameof(value)), null);

    public static StringMatch Prefix(string value) => new(MatchKind.Prefix, value ?? throw new ArgumentNullException(nameof(value)), null);

    /// <summary>Compiles <paramref name="pattern"/>; throws <see cref="ArgumentException"/> with the reason when it is not a safe regex.</summary>
    public static StringMatch Regex(string pattern) =>
        TryRegex(pattern, out StringMatch? match, out string? error) ? match : throw new ArgumentException(error, nameof(pattern));

    /// <summary>Compiles <paramref name="pattern"/> for the non-backtracking engine; false with the reason when it can't be.</summary>
    public static bool TryRegex(string pattern, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StringMatch? match, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        match = null;
        if (pattern.Length > FilterLimits.MaxRegexLength)
        {
            error = $"regex is {pattern.Length} characters long; the limit is {FilterLimits.MaxRegexLength}";
            return false;
        }

        try
        {
            var regex = new Regex(pattern, RegexGuard.Options, RegexGuard.MatchTimeout);
            match = new StringMatch(MatchKind.Regex, pattern, regex);
            error = null;
            return true;
        }
        catch (RegexParseException e)
        {
            error = $"regex {FilterText.Quote(Shown(pattern))}: {RegexErrorText(e.Error)} at offset {e.Offset}";
            return false;
        }
        catch (NotSupportedException)
        {
            // NonBacktracking refuses backreferences, lookarounds, atomic groups, conditionals, \G, RightToLeft.
            error = $"regex {FilterText.Quote(Shown(pattern))}: a construct the non-backtracking engine does not support (backreferences, lookarounds, atomic groups, conditionals)";
            return false;
        }
        catch (ArgumentException)
        {
            error = $"regex {FilterText.Quote(Shown(pattern))}: invalid";
            return false;
        }
    }

    private static string Shown(string pattern) => pattern.Length > 80 ? pattern[..80] + "..." : pattern;

    /// <summary>A regex syntax error in words (the runtime's own message is a resource key in the AOT build).</summary>
    internal static string RegexErrorText(RegexParseError error) => error switch
    {
        RegexParseError.UnterminatedBracket => "unterminated [] set",
        RegexParseError.InsufficientClosingParentheses => "not enough ')'",
        RegexParseError.InsufficientOpeningParentheses => "too many ')'",
        RegexParseError.UnescapedEndingBackslash => "a '\\' at the end of the pattern",
        RegexParseError.QuantifierAfterNothing => "a quantifier (*, +, ?, {n}) after nothing",
        RegexParseError.NestedQuantifiersNotParenthesized => "nested quantifiers must be in parentheses",
        RegexParseError.ReversedCharacterRange => "a character range in reverse order ([z-a])",
        RegexParseError.ReversedQuantifierRange => "a quantifier range in reverse order ({5,2})",
        RegexParseError.UnrecognizedEscape => "an unknown escape sequence",
        RegexParseError.UndefinedNumberedReference or RegexParseError.UndefinedNamedReference => "a reference to a group that does not exist",
        RegexParseError.InvalidUnicodePropertyEscape or RegexParseError.UnrecognizedUnicodeProperty => "an unknown Unicode property (\\p{...})",
        RegexParseError.QuantifierOrCaptureGroupOutOfRange => "a number too large in a quantifier or group",
        RegexParseError.InvalidGroupingConstruct => "an unknown (?...) group",
        RegexParseError.UnterminatedComment => "an unterminated (?#...) comment",
        _ => Words(error.ToString()),
    };

    /// <summary>"ShorthandClassInCharacterRange" -> "shorthand class in character range".</summary>
    private static string Words(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                builder.Append(' ');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }

    /// <summary>Test hook: wraps an arbitrary regex (e.g. a backtracking one) to exercise the timeout path.</summary>
    internal static StringMatch FromRegexUnchecked(Regex regex) => new(MatchKind.Regex, regex.ToString(), regex);

    public bool IsMatch(ReadOnlySpan<char> value)
    {
        switch (Kind)
        {
            case MatchKind.Exact:
                return value.SequenceEqual(Value);
            case MatchKind.Prefix:
                return value.StartsWith(Value, StringComparison.Ordinal);
            default:
                try
                {
                    return _regex!.IsMatch(value);
                }
                catch (RegexMatchTimeoutException)
                {
                    RegexGuard.RecordTimeout();
                    return false;
                }
        }
    }

    public bool Equals(StringMatch? other) => other is not null && Kind == other.Kind && string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as StringMatch);

    public override int GetHashCode() => HashCode.Combine(Kind, StringComparer.Ordinal.GetHashCode(Value));

    /// <summary>`exact "alice"`, `prefix "/api/"`, `regex "^v[0-9]+$"`.</summary>
    public override string ToString() => $"{KindName(Kind)} {FilterText.Quote(Value)}";

    /// <summary>The JSON key for <paramref name="kind"/>.</summary>
    public static string KindName(MatchKind kind) => kind switch
    {
        MatchKind.Exact => "exact",
        MatchKind.Prefix => "prefix",
        _ => "regex",
    };
}

/// <summary>The regex engine settings and the timeout counter shared by every regex filter.</summary>
public static class RegexGuard
{
    /// <summary>Linear-time engine; culture-independent case folding.</summary>
    public const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    /// <summary>Second guard on top of the linear engine: a match taking longer counts as no match.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    private static long s_timeouts;

    /// <summary>Regex evaluations that hit <see cref="MatchTimeout"/> since start (for /metrics).</summary>
    public static long Timeouts => Interlocked.Read(ref s_timeouts);

    internal static void RecordTimeout() => Interlocked.Increment(ref s_timeouts);
}

/// <summary>Abuse limits of the filter grammar, checked when a filter is parsed.</summary>
public static class FilterLimits
{
    /// <summary>Deepest nesting of all/any/not (the top-level filter is depth 1).</summary>
    public const int MaxDepth = 16;

    /// <summary>Most leaf conditions (header, path, method) in one filter.</summary>
    public const int MaxConditions = 256;

    /// <summary>Longest regex pattern, in characters.</summary>
    public const int MaxRegexLength = 4096;

    /// <summary>Longest header name or method in a filter: 256 characters (HTTP servers refuse longer header names; nginx's whole line buffer is 1 KiB).</summary>
    public const int MaxNameLength = 256;

    /// <summary>Longest exact or prefix operand (a header value or a path), in characters: 4096, as a regex.</summary>
    public const int MaxValueLength = 4096;
}
