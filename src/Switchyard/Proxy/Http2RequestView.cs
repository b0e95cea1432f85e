using System.Text;
using Switchyard.Http2;
using Switchyard.Routing;

namespace Switchyard.Proxy;

/// <summary>
/// A decoded HTTP/2 request as the route table sees it: `:method` and `:path` (without the query) feed the method
/// and path filters, regular fields the header filters, and `host` falls back to `:authority` (RFC 9113 8.3.1).
/// </summary>
internal sealed class Http2RequestView(Http2HeaderList headers) : IRequestView
{
    private string? _method;
    private string? _path;

    public string Method => _method ??= headers.GetString(":method"u8) ?? string.Empty;

    public string Path => _path ??= RequestView.StripQuery(headers.GetString(":path"u8) ?? string.Empty);

    public HeaderLookup MatchHeader(string name, StringMatch match)
    {
        HeaderLookup result = HeaderLookup.Missing;
        for (int i = 0; i < headers.Count; i++)
        {
            ReadOnlySpan<byte> n = headers.Name(i);
            if (n.Length == 0 || n[0] == (byte)':' || !HeaderBytes.NameEquals(n, name))
            {
                continue;
            }

            if (HeaderBytes.IsMatch(headers.Value(i), match))
            {
                return HeaderLookup.Matched;
            }

            result = HeaderLookup.NoValueMatched;
        }

        if (result == HeaderLookup.Missing && name == "host" && headers.TryGet(":authority"u8, out ReadOnlySpan<byte> authority))
        {
            return HeaderBytes.IsMatch(authority, match) ? HeaderLookup.Matched : HeaderLookup.NoValueMatched;
        }

        return result;
    }

    public override string ToString() => $"{Method} {Path}";
}
