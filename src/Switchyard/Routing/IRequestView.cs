using System.Buffers;
using System.Text;

namespace Switchyard.Routing;

/// <summary>What a header lookup found: the header missing, present with no matching value, or a value matched.</summary>
public enum HeaderLookup : byte
{
    Missing,
    NoValueMatched,
    Matched,
}

/// <summary>
/// The parts of a request that filters look at. The matcher hands the comparison to the view instead of
/// asking for values, so that an HTTP/1 head (names and values as byte ranges of the receive buffer) and
/// an HTTP/2 decoded header list can both answer without allocating: the HTTP/1 view compares names on
/// bytes (<see cref="HeaderBytes.NameEquals"/>) and decodes a value onto the stack only for the
/// comparison (<see cref="HeaderBytes.IsMatch"/>).
/// </summary>
public interface IRequestView
{
    /// <summary>The method token as received (case-sensitive, RFC 9110 9.1).</summary>
    string Method { get; }

    /// <summary>The path without the query string (and without a fragment): `/api/items` for `/api/items?id=1`.</summary>
    string Path { get; }

    /// <summary>
    /// Tests each value of header <paramref name="name"/> (ASCII case-insensitive; <paramref name="name"/>
    /// is lower case) with <paramref name="match"/> until one matches. Each field line is one value (no
    /// splitting at commas). HTTP/2 views answer for `host` from `:authority` when no `host` field exists.
    /// </summary>
    HeaderLookup MatchHeader(string name, StringMatch match);

    /// <summary>
    /// Whether the body was buffered for body filters (SPEC.md "Body filters"). Views that never buffer answer
    /// <see cref="RequestBodyState.Unread"/>: body conditions are then unknown (<see cref="Filter.Evaluate"/>)
    /// and never match (<see cref="Filter.Matches"/>).
    /// </summary>
    RequestBodyState BodyState => RequestBodyState.Unread;

    /// <summary>The whole body when <see cref="BodyState"/> is <see cref="RequestBodyState.Buffered"/>; empty otherwise.</summary>
    ReadOnlySequence<byte> Body => ReadOnlySequence<byte>.Empty;
}

/// <summary>How far the body of a request was read for body filters.</summary>
public enum RequestBodyState : byte
{
    /// <summary>Not read (yet): body conditions are unknown.</summary>
    Unread,

    /// <summary>The whole body is in <see cref="IRequestView.Body"/>.</summary>
    Buffered,

    /// <summary>The body is longer than <c>maxBodyBytes</c>: body conditions do not match.</summary>
    TooLarge,

    /// <summary>The body did not arrive within <c>bodyTimeout</c>: body conditions do not match.</summary>
    TimedOut,
}

/// <summary>Helpers for views whose headers are bytes (HTTP/1 heads, HPACK output before decoding to strings).</summary>
public static class HeaderBytes
{
    /// <summary>ASCII case-insensitive comparison of a header name held as bytes with a lower-case name.</summary>
    public static bool NameEquals(ReadOnlySpan<byte> name, string lowerCaseName)
    {
        if (name.Length != lowerCaseName.Length)
        {
            return false;
        }

        for (int i = 0; i < name.Length; i++)
        {
            int b = name[i];
            if ((uint)(b - 'A') <= 'Z' - 'A')
            {
                b |= 0x20;
            }

            if (b != lowerCaseName[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Tests a field value held as bytes: decoded as Latin-1 (RFC 9110 5.5 obs-text) onto the stack, or a pooled buffer when long.</summary>
    public static bool IsMatch(ReadOnlySpan<byte> value, StringMatch match)
    {
        char[]? rented = null;
        Span<char> chars = value.Length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(value.Length));
        try
        {
            int n = Encoding.Latin1.GetChars(value, chars);
            return match.IsMatch(chars[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }
}

/// <summary>
/// A request as plain strings: for tests and for POST /v1/explain. The path given may carry a query
/// string; it is cut off (<see cref="Path"/> never has one).
/// </summary>
public sealed record RequestView : IRequestView
{
    public RequestView(string method, string path, IReadOnlyList<KeyValuePair<string, string>>? headers = null, byte[]? body = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        Method = method;
        Path = StripQuery(path);
        Headers = headers ?? [];
        BodyBytes = body;
    }

    /// <summary>The body given (POST /v1/explain "body"); null: no body given, body conditions are unknown.</summary>
    public byte[]? BodyBytes { get; }

    public RequestBodyState BodyState => BodyBytes is null ? RequestBodyState.Unread : RequestBodyState.Buffered;

    public ReadOnlySequence<byte> Body => BodyBytes is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(BodyBytes);

    public string Method { get; }

    public string Path { get; }

    /// <summary>Field lines in order; a name may repeat.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The request target up to the first '?' or '#'.</summary>
    public static string StripQuery(string target)
    {
        int cut = target.AsSpan().IndexOfAny('?', '#');
        return cut < 0 ? target : target[..cut];
    }

    public HeaderLookup MatchHeader(string name, StringMatch match)
    {
        HeaderLookup result = HeaderLookup.Missing;
        foreach (KeyValuePair<string, string> header in Headers)
        {
            if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                if (match.IsMatch(header.Value))
                {
                    return HeaderLookup.Matched;
                }

                result = HeaderLookup.NoValueMatched;
            }
        }

        return result;
    }
}
