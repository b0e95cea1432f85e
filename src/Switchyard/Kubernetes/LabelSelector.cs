using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>One matchExpressions requirement of a Kubernetes label selector.</summary>
public sealed record LabelRequirement(string Key, string Operator, IReadOnlyList<string> Values)
{
    public bool Matches(IReadOnlyDictionary<string, string> labels) => Operator switch
    {
        "In" => labels.TryGetValue(Key, out string? v) && Values.Contains(v),
        "NotIn" => !labels.TryGetValue(Key, out string? v) || !Values.Contains(v),
        "Exists" => labels.ContainsKey(Key),
        "DoesNotExist" => !labels.ContainsKey(Key),
        _ => false,
    };
}

/// <summary>
/// A Kubernetes LabelSelector (<c>matchLabels</c> and <c>matchExpressions</c> with In, NotIn, Exists, DoesNotExist):
/// every pair and every requirement must hold. An empty selector matches everything, as in Kubernetes.
/// </summary>
public sealed class LabelSelector(IReadOnlyDictionary<string, string> matchLabels, IReadOnlyList<LabelRequirement> matchExpressions)
{
    public IReadOnlyDictionary<string, string> MatchLabels { get; } = matchLabels;

    public IReadOnlyList<LabelRequirement> MatchExpressions { get; } = matchExpressions;

    public bool Matches(IReadOnlyDictionary<string, string> labels) =>
        MatchLabels.All(pair => labels.TryGetValue(pair.Key, out string? v) && v == pair.Value) &&
        MatchExpressions.All(r => r.Matches(labels));

    /// <summary>Reads the selector at <paramref name="field"/> of <paramref name="document"/>; throws <see cref="KubeInputException"/> when malformed.</summary>
    public static LabelSelector Parse(ManifestDocument document, YamlNode node, string field)
    {
        if (node is not YamlMappingNode map)
        {
            throw document.Error(field, "expected a mapping with matchLabels and/or matchExpressions");
        }

        var labels = Yaml.StringMap(document, ManifestDocument.Child(map, "matchLabels"), $"{field}.matchLabels");
        var expressions = new List<LabelRequirement>();
        if (ManifestDocument.Child(map, "matchExpressions") is { } exprNode)
        {
            if (exprNode is not YamlSequenceNode sequence)
            {
                throw document.Error($"{field}.matchExpressions", "expected a list");
            }

            for (int i = 0; i < sequence.Children.Count; i++)
            {
                expressions.Add(ParseRequirement(document, sequence.Children[i], $"{field}.matchExpressions[{i}]"));
            }
        }

        return new LabelSelector(labels, expressions);
    }

    private static LabelRequirement ParseRequirement(ManifestDocument document, YamlNode node, string at)
    {
        var map = node as YamlMappingNode ?? throw document.Error(at, "expected a mapping with key, operator and values");
        string key = ManifestDocument.Scalar(map, "key") is { Length: > 0 } k ? k : throw document.Error($"{at}.key", "required");
        string op = ManifestDocument.Scalar(map, "operator") ?? throw document.Error($"{at}.operator", "required");
        List<string> values = Yaml.StringList(document, ManifestDocument.Child(map, "values"), $"{at}.values");
        switch (op)
        {
            case "In" or "NotIn" when values.Count == 0:
                throw document.Error($"{at}.values", $"{op} needs at least one value");
            case "Exists" or "DoesNotExist" when values.Count > 0:
                throw document.Error($"{at}.values", $"{op} takes no values");
            case "In" or "NotIn" or "Exists" or "DoesNotExist":
                return new LabelRequirement(key, op, values);
            default:
                throw document.Error($"{at}.operator", $"expected In, NotIn, Exists or DoesNotExist, found \"{op}\"");
        }
    }
}
