using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>One YAML document of the input, with where it came from (file as given on the command line, "-" for stdin).</summary>
public sealed class ManifestDocument(string file, int index, YamlMappingNode root)
{
    public string File { get; } = file;

    /// <summary>Zero-based position of the document in its file (empty documents count too, as kubectl counts them).</summary>
    public int Index { get; } = index;

    /// <summary>The document itself; inject edits it in place and writes the stream back.</summary>
    public YamlMappingNode Root { get; } = root;

    public string Kind => Scalar(Root, "kind") ?? string.Empty;

    public string ApiVersion => Scalar(Root, "apiVersion") ?? string.Empty;

    public string Name => Scalar(Metadata, "name") ?? string.Empty;

    /// <summary>metadata.namespace, "default" when absent (what kubectl apply would use without -n).</summary>
    public string Namespace => Scalar(Metadata, "namespace") ?? "default";

    public YamlMappingNode? Metadata => Child(Root, "metadata") as YamlMappingNode;

    public KubeInputException Error(string field, string reason) => new(File, Index, field, reason);

    /// <summary>The scalar value at <paramref name="key"/> of a mapping, or null when absent or not a scalar.</summary>
    public static string? Scalar(YamlMappingNode? map, string key) => Child(map, key) is YamlScalarNode s ? s.Value : null;

    public static YamlNode? Child(YamlMappingNode? map, string key) =>
        map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? node) ? node : null;
}
