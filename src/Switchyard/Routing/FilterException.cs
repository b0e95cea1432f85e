namespace Switchyard.Routing;

/// <summary>
/// An invalid filter: where (a JSON path such as `$.intercepts[0].match.all[1].path.prefix`, or for
/// command-line filters the flag, e.g. `--header`) and why. The config validator and the admin API
/// wrap it with the file name / HTTP status.
/// </summary>
public sealed class FilterException(string jsonPath, string reason) : Exception($"{jsonPath}: {reason}")
{
    /// <summary>The JSON path of the offending element, or the offending flag for <see cref="FilterParser.FromFlags"/>.</summary>
    public string JsonPath { get; } = jsonPath;

    public string Reason { get; } = reason;
}
