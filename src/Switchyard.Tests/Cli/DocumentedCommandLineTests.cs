using System.CommandLine;
using Switchyard.Cli;
using static Switchyard.Tests.Cli.DocumentedCommands;

namespace Switchyard.Tests.Cli;

/// <summary>
/// Every `switchyard ...` command line in README.md and docs/*.md, in code blocks and inline code, goes through the
/// real parser, so the docs cannot drift from the CLI again (issue 14): a concrete line parses without an error, or,
/// when the doc shows the error it prints (`switchyard: ...` on the next lines), gives exactly that error and pointer;
/// a synopsis line (`[--flag X]`, `ready|live`) names only commands and flags that exist.
/// native-tests/Cli/DocumentedCommandTests runs the ones that need nothing but the repository.
/// </summary>
public sealed class DocumentedCommandLineTests
{
    public static TheoryData<string> Concrete()
    {
        var data = new TheoryData<string>();
        foreach (Example e in Examples().Where(e => !IsSynopsis(e.Text)))
        {
            data.Add(e.ToString());
        }

        return data;
    }

    public static TheoryData<string> Synopses()
    {
        var data = new TheoryData<string>();
        foreach (Example e in Examples().Where(e => IsSynopsis(e.Text)))
        {
            data.Add(e.ToString());
        }

        return data;
    }

    private static Example Find(string display) => Examples().First(e => e.ToString() == display);

    [Fact]
    public void The_docs_show_enough_command_lines_to_check()
    {
        List<Example> examples = Examples();

        Assert.True(examples.Count >= 40, $"only {examples.Count} documented command lines found");
        string[] commands = ["agent", "demo", "generate", "inject", "intercept", "list", "probe", "version", "completion"];
        Assert.All(commands, c => Assert.Contains(examples, e => Words(e.Text).Skip(1).FirstOrDefault() == c));
    }

    [Theory]
    [MemberData(nameof(Concrete))]
    public void A_documented_command_line_parses_or_gives_the_error_the_doc_shows(string example)
    {
        Example e = Find(example);
        List<string> words = Words(e.Text);

        ParseResult result = CommandLine.Parse(words.Skip(1).ToArray());
        Errors.Error? error = Errors.Describe(result);

        if (!e.Output.Any(l => l.StartsWith("Run 'switchyard", StringComparison.Ordinal)))
        {
            Assert.True(error is null, $"{e}: {error?.Message}");
        }
        else
        {
            Assert.NotNull(error);
            Assert.Equal(e.Output[0], $"switchyard: {error.Message}");
            Assert.Equal(e.Output.Count > 1 ? e.Output[1] : null, Errors.Pointer(error.Command));
        }
    }

    [Theory]
    [MemberData(nameof(Synopses))]
    public void A_synopsis_names_only_commands_and_flags_that_exist(string example)
    {
        Example e = Find(example);
        List<string> words = Words(e.Text.Replace("[", " ", StringComparison.Ordinal).Replace("]", " ", StringComparison.Ordinal));
        string? name = words.Skip(1).FirstOrDefault();
        Command command = name is null || name.StartsWith('-') || name.Equals(name.ToUpperInvariant(), StringComparison.Ordinal)
            ? CommandLine.Root
            : Assert.Single(CommandLine.Root.Subcommands, c => c.Name == name || c.Aliases.Contains(name));
        var flags = command.Options.Concat(CommandLine.Root.Options.Where(o => o.Recursive))
            .SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet(StringComparer.Ordinal);

        foreach (string word in words.Skip(2))
        {
            foreach (string alternative in word.Split('|'))
            {
                if (alternative.StartsWith('-') && alternative.Length > 1 && alternative != "-")
                {
                    string flag = alternative.Split('=')[0];
                    Assert.True(flags.Contains(flag), $"{e}: {command.Name} has no option {flag}");
                }
            }
        }
    }
}
