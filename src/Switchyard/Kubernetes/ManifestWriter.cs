using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>
/// Writes Kubernetes objects back as one multi-document YAML stream ("---" between documents). The format is a fixed
/// point: reading the output and writing it again gives the same text (the scalar and collection styles read are kept,
/// no line folding, two-space indentation). Comments are not kept: the representation model drops them.
/// </summary>
public static class ManifestWriter
{
    public static string Write(IEnumerable<YamlMappingNode> documents)
    {
        var text = new StringWriter { NewLine = "\n" };
        bool first = true;
        foreach (YamlMappingNode root in documents)
        {
            if (!first)
            {
                text.Write("---\n");
            }

            first = false;
            text.Write(WriteOne(root));
        }

        return text.ToString();
    }

    private static string WriteOne(YamlMappingNode root)
    {
        var one = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(one, bestIndent: 2, bestWidth: int.MaxValue);
        new YamlStream(new YamlDocument(root)).Save(emitter, assignAnchors: false);
        string written = one.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);

        // YamlDocument writes an explicit end marker; the stream separator is enough between Kubernetes objects.
        if (written.EndsWith("...\n", StringComparison.Ordinal))
        {
            written = written[..^4];
        }

        return written.EndsWith('\n') ? written : written + "\n";
    }
}
