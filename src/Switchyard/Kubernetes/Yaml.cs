using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>Typed reads from the YAML representation model; every mismatch is a <see cref="KubeInputException"/> naming the field.</summary>
internal static class Yaml
{
    public static YamlMappingNode? Map(ManifestDocument document, YamlMappingNode? parent, string key, string field) =>
        ManifestDocument.Child(parent, key) switch
        {
            null => null,
            YamlScalarNode { Value: null or "" or "~" or "null" } => null,
            YamlMappingNode m => m,
            _ => throw document.Error(field, "expected a mapping"),
        };

    public static YamlSequenceNode? Sequence(ManifestDocument document, YamlMappingNode? parent, string key, string field) =>
        ManifestDocument.Child(parent, key) switch
        {
            null => null,
            YamlScalarNode { Value: null or "" or "~" or "null" } => null,
            YamlSequenceNode s => s,
            _ => throw document.Error(field, "expected a list"),
        };

    /// <summary>A mapping of strings (labels, annotations, selectors), in document order; absent = empty.</summary>
    public static Dictionary<string, string> StringMap(ManifestDocument document, YamlNode? node, string field)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (node)
        {
            case null:
            case YamlScalarNode { Value: null or "" or "~" or "null" }:
                return result;
            case YamlMappingNode map:
                foreach ((YamlNode k, YamlNode v) in map.Children)
                {
                    string key = (k as YamlScalarNode)?.Value ?? throw document.Error(field, "expected string keys");
                    result[key] = v is YamlScalarNode s ? s.Value ?? string.Empty : throw document.Error($"{field}[\"{key}\"]", "expected a string value");
                }

                return result;
            default:
                throw document.Error(field, "expected a mapping of strings");
        }
    }

    public static List<string> StringList(ManifestDocument document, YamlNode? node, string field)
    {
        var result = new List<string>();
        if (node is null or YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return result;
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw document.Error(field, "expected a list of strings");
        }

        for (int i = 0; i < sequence.Children.Count; i++)
        {
            result.Add(sequence.Children[i] is YamlScalarNode { Value: { } s } ? s : throw document.Error($"{field}[{i}]", "expected a string"));
        }

        return result;
    }

    /// <summary>A port number 1..65535 at <paramref name="key"/>; null when absent.</summary>
    public static int? Port(ManifestDocument document, YamlMappingNode map, string key, string field)
    {
        if (ManifestDocument.Child(map, key) is not { } node)
        {
            return null;
        }

        if (node is YamlScalarNode { Value: { } text } && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535)
        {
            return port;
        }

        throw document.Error(field, $"expected a port number 1-65535, found \"{(node as YamlScalarNode)?.Value ?? node.NodeType.ToString()}\"");
    }

    public static bool? Bool(ManifestDocument document, YamlMappingNode? map, string key, string field) =>
        ManifestDocument.Scalar(map, key) switch
        {
            null => null,
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            var other => throw document.Error(field, $"expected true or false, found \"{other}\""),
        };
}
