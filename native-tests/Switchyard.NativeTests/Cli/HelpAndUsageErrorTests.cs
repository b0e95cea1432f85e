using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Cli;

/// <summary>
/// The published binary's command line as a new user meets it: --help / -h of every command (stdout, exit 0, at most
/// 80 columns), one-line usage errors with the closest name and a pointer to --help (exit 2), shell completion.
/// </summary>
public sealed class HelpAndUsageErrorTests
{
    private static readonly string[] Commands = ["agent", "demo", "generate", "inject", "probe", "intercept", "list", "version", "completion"];

    public static TheoryData<string, string> HelpCommandLines()
    {
        var data = new TheoryData<string, string>();
        foreach (string command in Commands.Append(string.Empty))
        {
            data.Add(command, "--help");
            data.Add(command, "-h");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HelpCommandLines))]
    public async Task HelpOfEveryCommandIsOnStdoutFitsEightyColumnsAndExitsZero(string command, string flag)
    {
        string[] args = command.Length == 0 ? [flag] : [command, flag];

        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), args);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Empty, result.Stderr);
        Assert.StartsWith(command.Length == 0 ? "usage: switchyard " : $"usage: switchyard {command}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("-h, --help", result.Stdout, StringComparison.Ordinal);
        Assert.All(result.Stdout.Split('\n'), line => Assert.True(line.Length <= 80, $"{line.Length} columns: {line}\n{result}"));
    }

    [Fact]
    public async Task InterceptHelpDescribesEveryFlag()
    {
        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["intercept", "--help"]);

        foreach (string flag in new[] { "--agent", "--to", "--header", "--header-regex", "--path-equal", "--path-prefix", "--path-regex", "--method",
                     "--wiretap", "--plaintext", "--id", "--port", "--tunnel", "--token-file", "--quiet" })
        {
            Assert.Matches($@"(?m)^  (-\w, )?{flag}( [A-Z=:/|]+)?  +\S", result.Stdout);
        }
    }

    [Theory]
    [InlineData(new[] { "agnt" }, "switchyard: unknown command 'agnt' (did you mean 'agent'?)", "switchyard --help")]
    [InlineData(new[] { "frobnicate" }, "switchyard: unknown command 'frobnicate'", "switchyard --help")]
    [InlineData(new[] { "agent", "--confg", "/etc/sy.json" }, "switchyard: agent: unknown option '--confg' (did you mean '--config'?)", "switchyard agent --help")]
    [InlineData(new[] { "intercept", "--agent", "127.0.0.1:9901", "--too", "127.0.0.1:8080" }, "switchyard: intercept: unknown option '--too' (did you mean '--to'?)", "switchyard intercept --help")]
    [InlineData(new[] { "list", "--agnet", "127.0.0.1:9901" }, "switchyard: list: unknown option '--agnet' (did you mean '--agent'?)", "switchyard list --help")]
    [InlineData(new[] { "generate", "-f" }, "switchyard: -f needs a value", "switchyard generate --help")]
    [InlineData(new[] { "agent", "--drain-timeout", "soon" }, "switchyard: --drain-timeout: expected a duration such as 25s or 500ms, found \"soon\"", "switchyard agent --help")]
    [InlineData(new[] { "completion", "tcsh" }, "switchyard: completion: unknown shell 'tcsh' (expected bash, zsh or fish)", "switchyard completion --help")]
    public async Task AUsageErrorIsOneLineNamingItThenAPointerToHelpAndExitsTwo(string[] args, string line, string help)
    {
        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(string.Empty, result.Stdout);
        string[] lines = result.Stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 2, result.ToString());
        Assert.Equal(line, lines[0]);
        Assert.Contains($"'{help}'", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBashCompletionScriptCompletesCommandsFlagsAndValues()
    {
        using var dir = new TempDir();
        var script = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["completion", "bash"]);
        Assert.True(script.ExitCode == 0, script.ToString());
        string path = dir.File("switchyard.bash");
        await File.WriteAllTextAsync(path, script.Stdout);

        // As bash calls it on TAB: COMP_WORDS/COMP_CWORD set, the function fills COMPREPLY.
        const string probe = """
            source "$1"
            complete -p switchyard
            ask() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _switchyard; echo "${COMPREPLY[*]}"; }
            ask switchyard ag
            ask switchyard agent --con
            ask switchyard probe ''
            ask switchyard intercept --agent 127.0.0.1:9901 --header-
            ask switchyard completion ''
            """;
        var result = await ProcessRunner.RunAsync("bash", ["-c", probe, "bash", path]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            ["complete -F _switchyard switchyard", "agent", "--config", "ready live", "--header-regex", "bash zsh fish"],
            result.Stdout.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task TheFishScriptCompletesCommandsFlagsAndValues()
    {
        using var dir = new TempDir();
        string path = await ScriptAsync(dir, "fish");

        // fish's own completion engine: `complete -C` prints the candidates for a command line, a tab before the description.
        const string probe = """
            source $argv[1]
            complete -C'switchyard ag'
            complete -C'switchyard agent --con'
            complete -C'switchyard probe '
            """;
        var result = await ProcessRunner.RunAsync("fish", ["--no-config", "-c", probe, path]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            ["agent\tRun the sidecar", "--config\tThe agent's config file", "live", "ready"],
            result.Stdout.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task TheZshScriptParsesAndRegistersItsCompletionFunction()
    {
        using var dir = new TempDir();
        string path = await ScriptAsync(dir, "zsh");

        var syntax = await ProcessRunner.RunAsync("zsh", ["-n", path]);
        const string probe = """
            autoload -U compinit && compinit -u -D
            source "$1"
            print -r -- "${_comps[switchyard]}"
            """;
        var loaded = await ProcessRunner.RunAsync("zsh", ["-f", "-c", probe, "zsh", path]);

        Assert.True(syntax.ExitCode == 0, syntax.ToString());
        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        Assert.Equal("_switchyard\n", loaded.Stdout);
        Assert.Equal(string.Empty, loaded.Stderr);
    }

    private static async Task<string> ScriptAsync(TempDir dir, string shell)
    {
        var script = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["completion", shell]);
        Assert.True(script.ExitCode == 0, script.ToString());
        string path = dir.File("switchyard." + shell);
        await File.WriteAllTextAsync(path, script.Stdout);
        return path;
    }
}
