using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>Small builders and accessors over YamlDotNet's representation model, used by inject to edit manifests in place.</summary>
public static class InjectYaml
{
    /// <summary>A string scalar; double-quoted when a plain scalar would read back as a number, a boolean or null.</summary>
    public static YamlScalarNode Str(string value) =>
        new(value) { Style = LooksTyped(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any };

    /// <summary>A string scalar that is always double-quoted (annotation values that look like versions).</summary>
    public static YamlScalarNode Quoted(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };

    public static YamlScalarNode Int(int value) => new(value.ToString(CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain };

    public static YamlScalarNode Bool(bool value) => new(value ? "true" : "false") { Style = ScalarStyle.Plain };

    public static YamlMappingNode Map(params (string Key, YamlNode Value)[] entries)
    {
        var map = new YamlMappingNode();
        foreach ((string key, YamlNode value) in entries)
        {
            map.Add(new YamlScalarNode(key), value);
        }

        return map;
    }

    public static YamlSequenceNode Seq(params YamlNode[] items) => new(items);

    public static YamlSequenceNode Strings(params string[] items) => new(items.Select(i => (YamlNode)Str(i)));

    public static YamlNode? Get(YamlMappingNode? map, string key) => ManifestDocument.Child(map, key);

    public static string? Scalar(YamlMappingNode? map, string key) => ManifestDocument.Scalar(map, key);

    public static YamlMappingNode? GetMap(YamlMappingNode? map, string key) => Get(map, key) as YamlMappingNode;

    public static YamlSequenceNode? GetSeq(YamlMappingNode? map, string key) => Get(map, key) as YamlSequenceNode;

    /// <summary>Sets (replacing) <paramref name="key"/>; a new key goes at the end of the mapping.</summary>
    public static void Set(YamlMappingNode map, string key, YamlNode value) => map.Children[new YamlScalarNode(key)] = value;

    /// <summary>The mapping at <paramref name="key"/>, created at the end when absent (or null: <c>annotations: ~</c>).</summary>
    public static YamlMappingNode GetOrAddMap(YamlMappingNode map, string key)
    {
        if (Get(map, key) is YamlMappingNode existing)
        {
            return existing;
        }

        var created = new YamlMappingNode();
        Set(map, key, created);
        return created;
    }

    /// <summary>The sequence at <paramref name="key"/>, created at the end when absent (or null).</summary>
    public static YamlSequenceNode GetOrAddSeq(YamlMappingNode map, string key)
    {
        if (Get(map, key) is YamlSequenceNode existing)
        {
            return existing;
        }

        var created = new YamlSequenceNode();
        Set(map, key, created);
        return created;
    }

    /// <summary>The mappings of a sequence (other items skipped).</summary>
    public static IEnumerable<YamlMappingNode> Maps(YamlSequenceNode? sequence) =>
        sequence is null ? [] : sequence.Children.OfType<YamlMappingNode>();

    /// <summary>Core-schema resolution of a plain scalar: would this text read back as something other than a string?</summary>
    private static bool LooksTyped(string value) =>
        value.Length == 0
        || value is "~" or "null" or "Null" or "NULL" or "true" or "True" or "TRUE" or "false" or "False" or "FALSE"
            or "yes" or "Yes" or "YES" or "no" or "No" or "NO" or "on" or "On" or "ON" or "off" or "Off" or "OFF"
        || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
        || value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || value.StartsWith("0o", StringComparison.OrdinalIgnoreCase)
        || value is ".inf" or "-.inf" or "+.inf" or ".nan" or ".NaN" or ".Inf";
}
