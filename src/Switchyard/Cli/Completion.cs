using System.CommandLine;
using System.Text;

namespace Switchyard.Cli;

/// <summary>
/// `switchyard completion bash|zsh|fish`: a completion script written from the command tree: the commands, each
/// command's flags, file names after flags that take a file, and the fixed values of arguments (probe ready|live).
/// </summary>
internal static class Completion
{
    public static int Run(ParseResult result)
    {
        string? shell = result.GetValue(CommandLine.CompletionShell);
        string script = shell switch
        {
            "bash" => Bash(),
            "zsh" => Zsh(),
            "fish" => Fish(),
            null => throw new UsageException("completion: say which shell: bash, zsh or fish"),
            _ => throw new UsageException($"completion: unknown shell '{shell}' (expected bash, zsh or fish){Errors.Suggestion(shell, ["bash", "zsh", "fish"])}"),
        };
        result.InvocationConfiguration.Output.Write(script);
        result.InvocationConfiguration.Output.Flush();
        return 0;
    }

    private static IEnumerable<Command> Commands => CommandLine.Root.Subcommands.Where(c => !c.Hidden);

    private static IEnumerable<Option> Options(Command command) =>
        command.Options.Where(o => !o.Hidden).Concat(CommandLine.Root.Options.Where(o => o.Recursive && !command.Options.Contains(o)));

    private static IEnumerable<string> Names(Option option) => new[] { option.Name }.Concat(option.Aliases).Distinct();

    private static bool TakesValue(Option option) => HelpText.TakesValue(option);

    private static IEnumerable<string> Values(Command command) =>
        command.Arguments.SelectMany(a => CommandLine.ArgumentValues.TryGetValue(a, out string[]? values) ? values : []);

    /// <summary>In a single-quoted zsh word: ' ends the quote, so it is written '\''.</summary>
    private static string ZshQuoted(string text) => text.Replace("'", "'\\''", StringComparison.Ordinal);

    /// <summary>In a single-quoted fish word: \' is a quote.</summary>
    private static string FishQuoted(string text) => text.Replace("'", "\\'", StringComparison.Ordinal);

    /// <summary>The first sentence of a description, without characters the scripts would have to escape (a colon becomes a comma).</summary>
    private static string Summary(string? description)
    {
        string text = description ?? string.Empty;
        int end = text.IndexOf(". ", StringComparison.Ordinal);
        text = (end >= 0 ? text[..end] : text).TrimEnd('.');
        return new string(text.Where(c => c is not ('"' or '[' or ']' or '\\' or '`' or '$')).Select(c => c == ':' ? ',' : c).ToArray());
    }

    public static string Bash()
    {
        var s = new StringBuilder();
        s.Append("# bash completion for switchyard: source <(switchyard completion bash)\n");
        s.Append("_switchyard() {\n");
        s.Append("    local cur prev cmd i words values flags\n");
        s.Append("    COMPREPLY=()\n");
        s.Append("    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n");
        s.Append("    prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n");
        s.Append("    cmd=\"\"\n");
        s.Append("    for ((i = 1; i < COMP_CWORD; i++)); do\n");
        s.Append("        case \"${COMP_WORDS[i]}\" in\n");
        s.Append("            -*) ;;\n");
        s.Append("            *) cmd=\"${COMP_WORDS[i]}\"; break ;;\n");
        s.Append("        esac\n");
        s.Append("    done\n");
        var allOptions = Commands.SelectMany(Options).Distinct().ToList();
        string files = string.Join('|', allOptions.Where(CommandLine.FileOptions.Contains).SelectMany(Names).Distinct());
        string values = string.Join('|', allOptions.Where(o => TakesValue(o) && !CommandLine.FileOptions.Contains(o)).SelectMany(Names).Distinct());
        s.Append("    case \"$prev\" in\n");
        s.Append("        ").Append(files).Append(") COMPREPLY=($(compgen -f -- \"$cur\")); return 0 ;;\n");
        s.Append("        ").Append(values).Append(") return 0 ;;\n");
        s.Append("    esac\n");
        // A word starting with '-' completes the command's flags, any other word its commands or argument values.
        s.Append("    case \"$cmd\" in\n");
        s.Append("        \"\") values=\"").Append(string.Join(' ', Commands.Select(c => c.Name)))
            .Append("\"; flags=\"").Append(string.Join(' ', Options(CommandLine.Root).SelectMany(Names))).Append("\" ;;\n");
        foreach (Command command in Commands)
        {
            s.Append("        ").Append(command.Name).Append(") values=\"").Append(string.Join(' ', Values(command)))
                .Append("\"; flags=\"").Append(string.Join(' ', Options(command).SelectMany(Names))).Append("\" ;;\n");
        }

        s.Append("        *) values=\"\"; flags=\"\" ;;\n");
        s.Append("    esac\n");
        s.Append("    if [[ \"$cur\" == -* ]]; then words=\"$flags\"; else words=\"$values\"; fi\n");
        s.Append("    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n");
        s.Append("}\n");
        s.Append("complete -F _switchyard switchyard\n");
        return s.ToString();
    }

    public static string Zsh()
    {
        var s = new StringBuilder();
        s.Append("#compdef switchyard\n");
        s.Append("# zsh completion for switchyard: source <(switchyard completion zsh), or save as _switchyard in $fpath\n");
        s.Append("_switchyard() {\n");
        s.Append("    local -a commands\n");
        s.Append("    commands=(\n");
        foreach (Command command in Commands)
        {
            s.Append("        '").Append(command.Name).Append(':').Append(ZshQuoted(Summary(command.Description))).Append("'\n");
        }

        s.Append("    )\n");
        s.Append("    if (( CURRENT == 2 )); then\n");
        s.Append("        _describe -t commands 'switchyard command' commands\n");
        s.Append("        return\n");
        s.Append("    fi\n");
        s.Append("    shift words\n");
        s.Append("    (( CURRENT-- ))\n");
        s.Append("    case \"${words[1]}\" in\n");
        foreach (Command command in Commands)
        {
            s.Append("        ").Append(command.Name).Append(")\n");
            s.Append("            _arguments");
            foreach (Option option in Options(command))
            {
                string[] names = Names(option).ToArray();
                string repeat = option.Arity.MaximumNumberOfValues > 1 ? "*" : names.Length > 1 ? $"({string.Join(' ', names)})" : string.Empty;
                string nameSpec = names.Length > 1 ? "{" + string.Join(',', names) + "}" : names[0];
                string value = !TakesValue(option) ? string.Empty
                    : ":" + Summary(option.HelpName ?? "value") + ":" + (CommandLine.FileOptions.Contains(option) ? "_files" : " ");
                s.Append(" \\\n                ");
                s.Append(repeat.Length > 0 ? $"'{repeat}'" : string.Empty).Append(nameSpec).Append("'[").Append(ZshQuoted(Summary(option.Description))).Append(']').Append(value).Append('\'');
            }

            string[] values = Values(command).ToArray();
            if (values.Length > 0)
            {
                s.Append(" \\\n                '1:").Append(command.Arguments[0].Name).Append(":(").Append(string.Join(' ', values)).Append(")'");
            }

            s.Append("\n            ;;\n");
        }

        s.Append("    esac\n");
        s.Append("}\n");
        s.Append("if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n");
        s.Append("    _switchyard \"$@\"\n");
        s.Append("else\n");
        s.Append("    compdef _switchyard switchyard\n");
        s.Append("fi\n");
        return s.ToString();
    }

    public static string Fish()
    {
        var s = new StringBuilder();
        s.Append("# fish completion for switchyard: switchyard completion fish | source\n");
        s.Append("complete -c switchyard -f\n");
        string all = string.Join(' ', Commands.Select(c => c.Name));
        foreach (Command command in Commands)
        {
            s.Append("complete -c switchyard -n 'not __fish_seen_subcommand_from ").Append(all).Append("' -a ").Append(command.Name)
                .Append(" -d '").Append(FishQuoted(Summary(command.Description))).Append("'\n");
        }

        foreach (Command command in Commands)
        {
            string when = $"-n '__fish_seen_subcommand_from {command.Name}'";
            foreach (Option option in Options(command))
            {
                s.Append("complete -c switchyard ").Append(when);
                foreach (string name in Names(option))
                {
                    s.Append(name.StartsWith("--", StringComparison.Ordinal) ? " -l " + name[2..] : name.Length == 2 ? " -s " + name[1..] : " -o " + name[1..]);
                }

                if (TakesValue(option))
                {
                    s.Append(CommandLine.FileOptions.Contains(option) ? " -r -F" : " -r");
                }

                s.Append(" -d '").Append(FishQuoted(Summary(option.Description))).Append("'\n");
            }

            string[] values = Values(command).ToArray();
            if (values.Length > 0)
            {
                s.Append("complete -c switchyard ").Append(when).Append(" -a '").Append(string.Join(' ', values)).Append("'\n");
            }
        }

        return s.ToString();
    }
}
