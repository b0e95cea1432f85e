using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

/// <summary>Compact request notation for test tables: headers as "name: value" lines separated by '|'.</summary>
internal static class RoutingTestData
{
    public static RequestView Request(string method, string target, string headers = "")
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (string line in headers.Split('|', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            list.Add(new(line[..colon], line[(colon + 1)..].TrimStart(' ')));
        }

        return new RequestView(method, target, list);
    }
}
