using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>
/// Writes Kubernetes objects back as one multi-document YAML stream ("---" between documents). The format is a fixed
/// point: reading the output and writing it again gives the same text (the scalar and collection styles read are kept
/// where they are safe, no line folding, two-space indentation). Comments are not kept: the representation model drops them.
/// The output parses under strict YAML 1.2 parsers (js-yaml, libyaml) to the same values: see <see cref="SafeStyle"/>.
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

    /// <summary>
    /// The style a string scalar is written in, chosen from the value alone so that a second pass keeps it
    /// (re-injection is byte-identical). YamlDotNet's emitter treats U+0085, U+2028 and U+2029 as line breaks (YAML
    /// 1.1) and writes a CR inside quotes and block scalars as a raw break, and its block and quoted writers put the
    /// closing quote of a value ending in a line break at column 0; strict YAML 1.2 parsers then read another value
    /// or refuse the document ("deficient indentation"). So:
    /// <list type="bullet">
    /// <item>a value with a character outside printable text (controls, tab, CR, NEL, LS, PS, BOM, astral characters)
    /// is double-quoted: every such character is escaped (<c>\r</c>, <c>\t</c>, <c>\N</c>, <c>\U0001F600</c>, ...);</item>
    /// <item>a value with a line break (the <c>kubectl.kubernetes.io/last-applied-configuration</c> annotation, a
    /// PEM, a script) is a literal block (<c>|</c>, <c>|-</c>, <c>|+</c> by its trailing breaks), unless a line
    /// starts or ends with a blank or the value starts with a break: then double-quoted with <c>\n</c> escapes;</item>
    /// <item>a folded block (<c>&gt;</c>) is written as a literal block under the same rule (the emitter's folding is
    /// not the parsers' unfolding);</item>
    /// <item>a mapping key with a line break is double-quoted;</item>
    /// <item>anything else keeps the style it was read or built with (the emitter quotes what cannot be plain).</item>
    /// </list>
    /// </summary>
    public static ScalarStyle SafeStyle(string value, ScalarStyle style, bool isKey)
    {
        if (value.Length == 0)
        {
            return style;
        }

        if (!IsPrintable(value))
        {
            return ScalarStyle.DoubleQuoted;
        }

        bool multiline = value.Contains('\n', StringComparison.Ordinal);
        if (isKey)
        {
            return multiline || style is ScalarStyle.Literal or ScalarStyle.Folded ? ScalarStyle.DoubleQuoted : style;
        }

        if (multiline || style is ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return IsLiteralSafe(value) ? ScalarStyle.Literal : ScalarStyle.DoubleQuoted;
        }

        return style;
    }

    private static string WriteOne(YamlMappingNode root)
    {
        Normalize(root, isKey: false, new HashSet<YamlNode>(ReferenceEqualityComparer.Instance));
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

    /// <summary>Sets <see cref="SafeStyle"/> on every scalar of the tree (a node reached twice through an alias is visited once).</summary>
    private static void Normalize(YamlNode node, bool isKey, HashSet<YamlNode> seen)
    {
        if (!seen.Add(node))
        {
            return;
        }

        switch (node)
        {
            case YamlScalarNode { Value: { } value } scalar:
                scalar.Style = SafeStyle(value, scalar.Style, isKey);
                break;
            case YamlMappingNode mapping:
                foreach ((YamlNode key, YamlNode child) in mapping.Children)
                {
                    Normalize(key, isKey: true, seen);
                    Normalize(child, isKey: false, seen);
                }

                break;
            case YamlSequenceNode sequence:
                foreach (YamlNode child in sequence.Children)
                {
                    Normalize(child, isKey: false, seen);
                }

                break;
        }
    }

    /// <summary>
    /// Every character may stand for itself in any scalar style: line feed, space to '~', and U+00A0..U+FFFD except
    /// the surrogates, NEL, LS, PS and the BOM (YamlDotNet's own test for "no escape needed", minus what YAML 1.1 and
    /// 1.2 read differently).
    /// </summary>
    private static bool IsPrintable(string value)
    {
        foreach (char c in value)
        {
            bool ok = c == '\n'
                || c is >= ' ' and <= '~'
                || (c is >= '\u00A0' and <= '\uD7FF' && c is not '\u2028' and not '\u2029')
                || (c is >= '\uE000' and <= '\uFFFD' && c != '\uFEFF');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A literal block reads back exactly when no line starts with a blank that the indentation would swallow (the
    /// first line: an indentation indicator would be needed) and no line ends with a blank (the emitter refuses block
    /// style then). Lines after the first may start with spaces: they are more-indented content.
    /// </summary>
    private static bool IsLiteralSafe(string value)
    {
        if (value[0] is ' ' or '\n')
        {
            return false;
        }

        foreach (string line in value.Split('\n'))
        {
            if (line.EndsWith(' '))
            {
                return false;
            }
        }

        return true;
    }
}
