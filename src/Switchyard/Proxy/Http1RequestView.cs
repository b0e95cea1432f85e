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
        if (head.TargetForm == RequestTargetForm.Absolute && lowerCaseName == "host")
        {
            // RFC 9112 §3.2.2: with an absolute-form target the Host is the target's authority (forwarded as such).
            byte[] authority = System.Text.Encoding.ASCII.GetBytes(head.Authority.ToString());
            return HeaderBytes.IsMatch(authority, match) ? HeaderLookup.Matched : HeaderLookup.NoValueMatched;
        }

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
