using System.CommandLine;
using System.CommandLine.Help;
using System.Text;

namespace Switchyard.Cli;

/// <summary>
/// The help of a command, written from the command tree and wrapped to <see cref="Width"/> columns (an 80-column
/// terminal): usage, what it does, arguments, flags, and for the root the commands.
/// </summary>
internal static class HelpText
{
    public const int Width = 80;

    /// <summary>The first column (flag names) is at most this wide; a longer label gets its description on the next line.</summary>
    private const int MaxLabel = 28;

    public static void Write(Command command, TextWriter output)
    {
        output.Write(Render(command));
        output.Flush();
    }

    public static string Render(Command command)
    {
        var text = new StringBuilder();
        (string synopsis, string details) = CommandLine.Texts.TryGetValue(command, out var t) ? t : (CommandLine.FullName(command), string.Empty);
        Synopsis(text, "usage: ", synopsis);
        text.Append('\n');
        Paragraphs(text, command.Description ?? string.Empty);
        if (details.Length > 0)
        {
            Paragraphs(text, details);
        }

        var arguments = command.Arguments.Where(a => !a.Hidden).Select(a => (a.HelpName ?? a.Name, a.Description ?? string.Empty)).ToList();
        Section(text, "arguments:", arguments);

        var options = command.Options.Where(o => !o.Hidden).ToList();
        if (!options.OfType<HelpOption>().Any())
        {
            options.Add(CommandLine.Root.Options.OfType<HelpOption>().Single());
        }

        Section(text, "flags:", options.Select(o => (Label(o), o.Description ?? string.Empty)).ToList());
        if (command is RootCommand)
        {
            Section(text, "commands:", command.Subcommands.Where(c => !c.Hidden).Select(c => (c.Name, c.Description ?? string.Empty)).ToList());
        }

        return text.ToString();
    }

    /// <summary>"-c, --config PATH": the short names first, then the value's name when the flag takes one.</summary>
    public static string Label(Option option)
    {
        IEnumerable<string> names = new[] { option.Name }.Concat(option.Aliases).Distinct().OrderBy(n => n.StartsWith("--", StringComparison.Ordinal) ? 1 : 0);
        string label = string.Join(", ", names);
        return TakesValue(option) && option.HelpName is { } value ? $"{label} {value}" : label;
    }

    /// <summary>A flag followed by a value (a bool flag stands alone, though the parser would take "true"/"false" after it).</summary>
    public static bool TakesValue(Option option) => option.ValueType != typeof(bool) && option.Arity.MaximumNumberOfValues > 0;

    private static void Synopsis(StringBuilder text, string lead, string synopsis)
    {
        // Break between words outside [...] groups, continuation lines indented under the command.
        var words = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i <= synopsis.Length; i++)
        {
            if (i == synopsis.Length || (synopsis[i] == ' ' && depth == 0))
            {
                if (i > start)
                {
                    words.Add(synopsis[start..i]);
                }

                start = i + 1;
            }
            else if (synopsis[i] == '[')
            {
                depth++;
            }
            else if (synopsis[i] == ']')
            {
                depth--;
            }
        }

        string indent = new(' ', lead.Length + 4);
        var line = new StringBuilder(lead);
        foreach (string word in words)
        {
            if (line.Length > indent.Length && line.Length + 1 + word.Length > Width)
            {
                text.Append(line.ToString().TrimEnd()).Append('\n');
                line.Clear().Append(indent);
            }
            else if (line.Length > 0 && line[^1] != ' ')
            {
                line.Append(' ');
            }

            line.Append(word);
        }

        text.Append(line).Append('\n');
    }

    /// <summary>Each line of <paramref name="source"/> wrapped on its own; an indented line (an example) is kept as it is. A blank line after.</summary>
    private static void Paragraphs(StringBuilder text, string source)
    {
        foreach (string paragraph in source.Split('\n'))
        {
            int lead = paragraph.Length - paragraph.TrimStart(' ').Length;
            if (lead > 0)
            {
                text.Append(paragraph).Append('\n');
                continue;
            }

            foreach (string line in Wrap(paragraph.TrimStart(' '), Width - lead))
            {
                text.Append(' ', lead).Append(line).Append('\n');
            }
        }

        text.Append('\n');
    }

    private static void Section(StringBuilder text, string title, List<(string Label, string Description)> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        text.Append(title).Append('\n');
        int column = Math.Min(rows.Max(r => r.Label.Length), MaxLabel) + 4;
        foreach ((string label, string description) in rows)
        {
            List<string> lines = Wrap(description, Width - column);
            int first = 0;
            if (label.Length + 4 > column)
            {
                text.Append("  ").Append(label).Append('\n');
            }
            else
            {
                text.Append("  ").Append(label.PadRight(column - 2)).Append(lines.Count > 0 ? lines[0] : string.Empty).Append('\n');
                first = 1;
            }

            foreach (string line in lines.Skip(first))
            {
                text.Append(' ', column).Append(line).Append('\n');
            }
        }

        text.Append('\n');
    }

    /// <summary>Greedy word wrap; a word longer than the width gets a line of its own.</summary>
    public static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }

            if (line.Length > 0)
            {
                line.Append(' ');
            }

            line.Append(word);
        }

        if (line.Length > 0)
        {
            lines.Add(line.ToString());
        }

        return lines;
    }
}
