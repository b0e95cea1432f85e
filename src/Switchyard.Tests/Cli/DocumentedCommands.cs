using System.Text;
using System.Text.RegularExpressions;

namespace Switchyard.Tests.Cli;

/// <summary>
/// The `switchyard ...` command lines of README.md and docs/*.md, in code blocks and inline code (issue 14: the docs'
/// shell examples are checked by tests). Shared with native-tests (linked), which runs the ones that need nothing but
/// the repository; DocumentedCommandLineTests puts every one through the parser.
/// </summary>
public static partial class DocumentedCommands
{
    public sealed record Example(string File, int Line, string Text, IReadOnlyList<string> Output)
    {
        public override string ToString() => $"{File}:{Line}: {Text}";
    }

    [GeneratedRegex(@"`([^`\n]*\bswitchyard [^`\n]*)`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^(?:\S*/)?switchyard$")]
    private static partial Regex Binary();

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "aot.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("aot.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every documented command line, with the `switchyard: ...` lines a code block shows right after it (its output; a usage error ends with the pointer line).</summary>
    public static List<Example> Examples()
    {
        string root = RepositoryRoot();
        var files = new List<string> { Path.Combine(root, "README.md") };
        files.AddRange(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal));
        var examples = new List<Example>();
        foreach (string file in files)
        {
            string name = Path.GetRelativePath(root, file);
            string[] lines = File.ReadAllLines(file);
            bool inBlock = false;
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i];
                if (line.StartsWith("```", StringComparison.Ordinal))
                {
                    inBlock = !inBlock;
                    continue;
                }

                if (inBlock)
                {
                    string text = line.StartsWith("$ ", StringComparison.Ordinal) ? line[2..] : line;
                    int first = i;
                    while (text.EndsWith('\\') && i + 1 < lines.Length)
                    {
                        text = text[..^1] + " " + lines[++i].Trim();
                    }

                    var output = new List<string>();
                    for (int j = i + 1; j < lines.Length && !lines[j].StartsWith("```", StringComparison.Ordinal) && !lines[j].StartsWith("$ ", StringComparison.Ordinal)
                        && lines[j].StartsWith("switchyard: ", StringComparison.Ordinal) | lines[j].StartsWith("Run 'switchyard", StringComparison.Ordinal); j++)
                    {
                        output.Add(lines[j]);
                    }

                    foreach (string command in Commands(text))
                    {
                        examples.Add(new Example(name, first + 1, command, output));
                    }
                }
                else
                {
                    foreach (Match m in InlineCode().Matches(line))
                    {
                        // "switchyard intercept from HOST:PORT" is who added an intercept (a log and /v1 text), not a command.
                        foreach (string command in Commands(m.Groups[1].Value).Where(c => !c.Contains(" from ", StringComparison.Ordinal)))
                        {
                            examples.Add(new Example(name, i + 1, command, []));
                        }
                    }
                }
            }
        }

        return examples;
    }

    /// <summary>The switchyard invocations of one shell line: each pipeline or list element whose program is switchyard.</summary>
    private static IEnumerable<string> Commands(string line)
    {
        string code = StripComment(line);
        foreach (string part in Regex.Split(code, @"\s\|\s|&&|;|<\(|\)$|\$\("))
        {
            string command = part.Trim();
            string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > 0 && Binary().IsMatch(words[0]))
            {
                yield return command;
            }
        }
    }

    private static string StripComment(string line)
    {
        char quote = '\0';
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return line[..i].TrimEnd();
            }
        }

        return line;
    }

    /// <summary>Shell words: quotes removed, redirections dropped.</summary>
    public static List<string> Words(string command)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool any = false;
        char quote = '\0';
        foreach (char c in command + " ")
        {
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    word.Append(c);
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                any = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (any || word.Length > 0)
                {
                    words.Add(word.ToString());
                }

                word.Clear();
                any = false;
            }
            else
            {
                word.Append(c);
            }
        }

        var kept = new List<string>();
        for (int i = 0; i < words.Count; i++)
        {
            if (words[i] is ">" or ">>" or "<" or "2>")
            {
                i++; // and its file
            }
            else if (!Regex.IsMatch(words[i], @"^\d?>&?\d*$|^\d?>\S+$"))
            {
                kept.Add(words[i]);
            }
        }

        return kept;
    }

    public static bool IsSynopsis(string command) =>
        command.Contains('[', StringComparison.Ordinal) || Regex.IsMatch(command, @"\b[a-z]+\|[a-z]+\b") || command.Contains("...", StringComparison.Ordinal);
}
