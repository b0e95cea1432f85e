using Switchyard.Http1;
using Switchyard.Routing;

namespace Switchyard.Proxy;

/// <summary>An HTTP/1 request head as the router sees it: header values are compared in place, no strings per header.</summary>
internal sealed class Http1RequestView(Http1RequestHead head) : IRequestView
{
    public string Method => head.Method;

    public string Path => head.Path;

    public HeaderLookup MatchHeader(string lowerCaseName, StringMatch match)
    {
        HeaderLookup result = HeaderLookup.Missing;
        for (int i = 0; i < head.Count; i++)
        {
            if (HeaderBytes.NameEquals(head.Name(i), lowerCaseName))
            {
                if (HeaderBytes.IsMatch(head.Value(i), match))
                {
                    return HeaderLookup.Matched;
                }

                result = HeaderLookup.NoValueMatched;
            }
        }

        return result;
    }
}
