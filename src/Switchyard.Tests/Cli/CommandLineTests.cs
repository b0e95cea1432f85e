using System.CommandLine;
using Switchyard.Cli;
using Switchyard.Routing;

namespace Switchyard.Tests.Cli;

public sealed class CommandLineTests
{
    public static TheoryData<string> Commands() => [.. CommandLine.Root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).Append(string.Empty)];

    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_fits_80_columns_and_describes_every_flag(string name)
    {
        Command command = name.Length == 0 ? CommandLine.Root : CommandLine.Root.Subcommands.Single(c => c.Name == name);

        string help = HelpText.Render(command);

        Assert.All(help.Split('\n'), line => Assert.True(line.Length <= 80, $"{line.Length} columns: {line}"));
        Assert.StartsWith($"usage: {CommandLine.FullName(command)}", help, StringComparison.Ordinal);
        foreach (Option option in command.Options)
        {
            Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{option.Name} has no description");
            Assert.Contains(HelpText.Label(option), help, StringComparison.Ordinal);
        }

        Assert.Contains("-h, --help", help, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("agent --help")]
    [InlineData("intercept -h")]
    [InlineData("intercept --agent 127.0.0.1:9901 --bogus --help")]
    [InlineData("list --help")]
    [InlineData("completion --help")]
    public void Help_flags_select_the_help_action_even_beside_mistakes(string commandLine)
    {
        ParseResult result = CommandLine.Parse(commandLine.Split(' '));

        Assert.IsType<HelpPrinter>(result.Action);
    }

    [Theory]
    [InlineData("agnt", "unknown command 'agnt' (did you mean 'agent'?)", "switchyard")]
    [InlineData("intercpt --agent 127.0.0.1:9901", "unknown command 'intercpt' (did you mean 'intercept'?)", "switchyard")]
    [InlineData("frobnicate", "unknown command 'frobnicate'", "switchyard")]
    [InlineData("--verison", "unknown option '--verison' (did you mean '--version'?)", "switchyard")]
    [InlineData("agent --confg x.json", "agent: unknown option '--confg' (did you mean '--config'?)", "switchyard agent")]
    [InlineData("agent --drain 5s", "agent: unknown option '--drain' (did you mean '--drain-timeout'?)", "switchyard agent")]
    [InlineData("intercept --agent 127.0.0.1:9901 --heder x-dev=a", "intercept: unknown option '--heder' (did you mean '--header'?)", "switchyard intercept")]
    [InlineData("list --agent 127.0.0.1:9901 --xyzzy", "list: unknown option '--xyzzy'", "switchyard list")]
    [InlineData("inject -f", "-f needs a value", "switchyard inject")]
    [InlineData("generate --filename", "--filename needs a value", "switchyard generate")]
    [InlineData("agent extra", "agent: unexpected argument 'extra'", "switchyard agent")]
    [InlineData("completion bash zsh", "completion: unexpected argument 'zsh' (expected bash or zsh or fish)", "switchyard completion")]
    [InlineData("agent --config a.json --config b.json", "--config is given more than once", "switchyard agent")]
    public void A_usage_error_is_one_line_naming_it_and_the_closest_name(string commandLine, string message, string help)
    {
        ParseResult result = CommandLine.Parse(commandLine.Split(' '));

        Errors.Error? error = Errors.Describe(result);

        Assert.NotNull(error);
        Assert.Equal(message, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal($"Run '{help} --help' for usage.", Errors.Pointer(error.Command));
    }

    [Fact]
    public void A_misspelt_flag_gets_the_nearest_flag_of_its_command()
    {
        Errors.Error? error = Errors.Describe(CommandLine.Parse(["intercept", "--agent", "127.0.0.1:9901", "--too", "127.0.0.1:8080"]));

        Assert.Equal("intercept: unknown option '--too' (did you mean '--to'?)", error!.Message);
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("agent --config /etc/sy.json --drain-timeout 5s")]
    [InlineData("agent -c /etc/sy.json")]
    [InlineData("demo --listen 10443 --admin 10901 --tunnel 10902")]
    [InlineData("generate -f - -f b.yaml --workload deploy/shop --base-port 9000 -o out.json")]
    [InlineData("generate --filename a.yaml -w sts/db --output out.json")]
    [InlineData("inject -f a.yaml --image registry.local/sy:dev")]
    [InlineData("probe ready --admin 127.0.0.1:9901")]
    [InlineData("probe live")]
    [InlineData("intercept --agent 127.0.0.1:9901 --to 127.0.0.1:8080 --header x-dev=alice --path-prefix /api/ --wiretap --plaintext --id a --port https --tunnel 127.0.0.1:9902 --token-file t --quiet")]
    [InlineData("intercept --agent 127.0.0.1:9901 --to 127.0.0.1:8080 -q")]
    [InlineData("list --agent 127.0.0.1:9901 --token-file t")]
    [InlineData("version")]
    [InlineData("--version")]
    [InlineData("completion bash")]
    [InlineData("completion zsh")]
    [InlineData("completion fish")]
    public void Every_command_line_of_the_spec_parses(string commandLine)
    {
        ParseResult result = CommandLine.Parse(commandLine.Split(' '));

        Assert.Null(Errors.Describe(result));
    }

    [Fact]
    public void Values_are_taken_as_written_no_response_files_and_stdin_dash()
    {
        ParseResult result = CommandLine.ParseCommand("generate", ["-f", "@files.txt", "-f", "-"]);

        Assert.Equal(["@files.txt", "-"], result.GetValue(CommandLine.GenerateFiles)!);
    }

    [Fact]
    public void Filter_flags_keep_their_order_and_accept_the_equals_form()
    {
        InterceptOptions o = InterceptOptions.Parse(
            ["--agent", "127.0.0.1:9901", "--method", "POST", "--to", "127.0.0.1:8080", "--header=x-dev=alice", "--path-prefix", "/api/", "--header", "x-team: blue"], null);

        Assert.Equal(
            FilterParser.Parse("""{"all":[{"method":"POST"},{"header":"x-dev","exact":"alice"},{"path":{"prefix":"/api/"}},{"header":"x-team","exact":"blue"}]}"""),
            o.Filter);
    }

    [Fact]
    public void The_bash_script_completes_commands_flags_files_and_argument_values()
    {
        string script = Completion.Bash();

        Assert.Contains("complete -F _switchyard switchyard", script, StringComparison.Ordinal);
        Assert.Contains("\"\") values=\"agent demo generate inject probe intercept list version completion\"", script, StringComparison.Ordinal);
        Assert.Contains("probe) values=\"ready live\"; flags=\"--admin", script, StringComparison.Ordinal);
        Assert.Contains("--token-file", script, StringComparison.Ordinal);
    }

    [Fact]
    public void The_zsh_and_fish_scripts_name_every_command()
    {
        string zsh = Completion.Zsh();
        string fish = Completion.Fish();

        Assert.StartsWith("#compdef switchyard\n", zsh, StringComparison.Ordinal);
        foreach (Command command in CommandLine.Root.Subcommands.Where(c => !c.Hidden))
        {
            Assert.Contains($"'{command.Name}:", zsh, StringComparison.Ordinal);
            Assert.Contains($"-a {command.Name} -d '", fish, StringComparison.Ordinal);
        }

        Assert.Contains("-n '__fish_seen_subcommand_from agent' -l config -s c -r -F -d 'The agent\\'s config file'", fish, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("agnt", "agent", 1)]
    [InlineData("agetn", "agent", 1)]
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 3)]
    public void Distance_counts_edits_and_transpositions(string a, string b, int expected) =>
        Assert.Equal(expected, Errors.Distance(a, b));
}
