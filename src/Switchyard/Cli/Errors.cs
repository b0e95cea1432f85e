using System.CommandLine;
using System.CommandLine.Parsing;

namespace Switchyard.Cli;

/// <summary>
/// Usage errors of the parser in our words: one line naming the unknown command or flag, with the closest valid
/// name when one is close ("did you mean"), or the flag that lacks its value. The library's own messages are not
/// used (the binary is built with UseSystemResourceKeys, where they would be resource keys).
/// </summary>
internal static class Errors
{
    /// <param name="Command">The command whose --help the pointer names.</param>
    internal sealed record Error(Command Command, string Message);

    public static Error? Describe(ParseResult result)
    {
        if (result.Errors.Count == 0)
        {
            return null;
        }

        Command command = result.CommandResult.Command;
        string prefix = command is RootCommand ? string.Empty : command.Name + ": ";
        if (result.UnmatchedTokens.Count > 0)
        {
            string token = result.UnmatchedTokens[0];
            if (token.Length > 1 && token[0] == '-')
            {
                return new Error(command, $"{prefix}unknown option '{token}'{Suggestion(token, OptionNames(command))}");
            }

            if (command is RootCommand)
            {
                return new Error(command, $"unknown command '{token}'{Suggestion(token, command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}");
            }

            string expected = command.Arguments.FirstOrDefault(a => CommandLine.ArgumentValues.ContainsKey(a)) is { } argument
                ? $" (expected {string.Join(" or ", CommandLine.ArgumentValues[argument])})"
                : string.Empty;
            return new Error(command, $"{prefix}unexpected argument '{token}'{expected}");
        }

        foreach (ParseError error in result.Errors)
        {
            OptionResult? option = error.SymbolResult switch
            {
                OptionResult o => o,
                ArgumentResult { Parent: OptionResult o } => o,
                _ => null,
            };
            if (option is null)
            {
                continue;
            }

            string flag = option.IdentifierToken?.Value ?? option.Option.Name;
            if (option.Tokens.Count == 0)
            {
                return new Error(command, CommandLine.MissingValue.TryGetValue(option.Option, out string? message) ? message : $"{flag} needs a value");
            }

            if (option.Tokens.Count > option.Option.Arity.MaximumNumberOfValues)
            {
                return new Error(command, $"{flag} is given more than once");
            }
        }

        return new Error(command, $"{prefix}{result.Errors[0].Message}");
    }

    /// <summary>The line after an error: where the usage is.</summary>
    public static string Pointer(Command command) => $"Run '{CommandLine.FullName(command)} --help' for usage.";

    /// <summary>" (did you mean 'NAME'?)" for the closest candidate when it is close enough, else empty.</summary>
    public static string Suggestion(string typed, IEnumerable<string> candidates)
    {
        string bare = typed.TrimStart('-');
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates)
        {
            string name = candidate.TrimStart('-');
            int distance = bare.Length >= 2 && name.StartsWith(bare, StringComparison.Ordinal) ? 0 : Distance(bare, name);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        int allowed = Math.Max(1, Math.Min(3, bare.Length / 3));
        return best is not null && bestDistance <= allowed ? $" (did you mean '{best}'?)" : string.Empty;
    }

    private static IEnumerable<string> OptionNames(Command command)
    {
        IEnumerable<Option> options = command.Options.Concat(CommandLine.Root.Options.Where(o => o.Recursive));
        return options.Where(o => !o.Hidden).SelectMany(o => new[] { o.Name }.Concat(o.Aliases)).Where(n => n.StartsWith("--", StringComparison.Ordinal));
    }

    /// <summary>Optimal string alignment distance (Levenshtein with adjacent transpositions).</summary>
    internal static int Distance(string a, string b)
    {
        int[,] d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
