using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>Reads multi-document Kubernetes YAML from files or stdin ("-") with YamlDotNet's representation model (no reflection).</summary>
public static class ManifestReader
{
    /// <summary>The command-line checks generate and inject share: at least one -f, standard input at most once.</summary>
    internal static void CheckFiles(string command, List<string> files)
    {
        if (files.Count == 0)
        {
            throw new UsageException($"{command}: at least one -f FILE is required (-f - reads standard input)");
        }

        if (files.Count(f => f == "-") > 1)
        {
            throw new UsageException($"{command}: standard input (-f -) can be read once only");
        }
    }

    /// <summary>The documents of every file, in order. A file may be read once only ("-" included).</summary>
    public static List<ManifestDocument> Read(IReadOnlyList<string> files, TextReader stdin)
    {
        var documents = new List<ManifestDocument>();
        foreach (string file in files)
        {
            documents.AddRange(Read(file, file == "-" ? stdin.ReadToEnd() : ReadFile(file)));
        }

        return documents;
    }

    /// <summary>Parses one file's text. Empty documents and lists (kind: List) are handled: a List's items are documents of their own.</summary>
    public static List<ManifestDocument> Read(string file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new KubeInputException(file, null, $"line {e.Start.Line}, column {e.Start.Column}", $"invalid YAML: {e.Message}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException or OverflowException)
        {
            // YamlDotNet's scanner fails some malformed input with these instead of a YamlException (found by
            // fuzzing: ": [\n0" throws InvalidOperationException from Scanner.ScanPlainScalar). Still bad input: exit 2
            // with one line, never an unhandled exception. Only the parse is guarded, not our own code below.
            throw new KubeInputException(file, null, "$", $"invalid YAML: the YAML parser gave up ({e.GetType().Name})");
        }

        var documents = new List<ManifestDocument>();
        for (int i = 0; i < stream.Documents.Count; i++)
        {
            YamlNode root = stream.Documents[i].RootNode;
            if (root is YamlScalarNode { Value: null or "" or "~" or "null" })
            {
                continue; // "---" followed by nothing, or a comment-only document
            }

            if (root is not YamlMappingNode map)
            {
                throw new KubeInputException(file, i, "$", "expected a Kubernetes object (a YAML mapping)");
            }

            var document = new ManifestDocument(file, i, map);
            if (document.Kind == "List" && ManifestDocument.Child(map, "items") is YamlSequenceNode items)
            {
                foreach (YamlNode item in items)
                {
                    if (item is YamlMappingNode itemMap)
                    {
                        documents.Add(new ManifestDocument(file, i, itemMap));
                    }
                }
            }
            else
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    private static string ReadFile(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KubeInputException(file, null, "-f", "file not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KubeInputException(file, null, "-f", $"cannot read file: {e.Message}");
        }
    }
}
