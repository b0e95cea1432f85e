using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace Switchyard.Cli;

/// <summary>
/// The command tree of `switchyard` (SPEC.md "Commands") on System.CommandLine: every command and flag with its
/// description. The library tokenizes and matches; value checks stay in each command with its own messages
/// (<see cref="UsageException"/>). Help (<see cref="HelpText"/>), the "did you mean" errors (<see cref="Errors"/>) and
/// the completion scripts (<see cref="Completion"/>) are written from this tree, so they cannot drift from it.
/// </summary>
internal static class CommandLine
{
    public const string Name = "switchyard";

    /// <summary>No response files (`@file`) and no bundling: an argument is taken as it is written.</summary>
    public static ParserConfiguration Parser { get; } = new() { EnablePosixBundling = false, ResponseFileTokenReplacer = null };

    // agent
    public static readonly Option<string> AgentConfig = new("--config", "-c")
    {
        HelpName = "PATH",
        Description = $"The agent's config file. Default: $SWITCHYARD_CONFIG, else {Config.ConfigLoader.DefaultPath}.",
    };

    public static readonly Option<string> AgentDrainTimeout = new("--drain-timeout")
    {
        HelpName = "DURATION",
        Description = "How long SIGTERM waits for in-flight requests before exiting (25s, 500ms, 1m30s). Default: 25s.",
    };

    // demo
    public static readonly Option<string> DemoListen = new("--listen") { HelpName = "PORT", Description = "The agent's TLS port on 127.0.0.1. Default: 9443." };
    public static readonly Option<string> DemoAdmin = new("--admin") { HelpName = "PORT", Description = "The admin API port on 127.0.0.1. Default: 9901." };
    public static readonly Option<string> DemoTunnel = new("--tunnel") { HelpName = "PORT", Description = "The developer tunnel port on 127.0.0.1. Default: 9902." };

    // generate and inject
    public static readonly Option<string[]> GenerateFiles = Files();
    public static readonly Option<string> GenerateWorkload = new("--workload", "-w")
    {
        HelpName = "KIND/NAME",
        Description = "The workload to write the config for, as kubectl writes it (deployment/shop, deploy/shop, sts/db). " +
            "Needed when the input holds more than one workload.",
    };

    public static readonly Option<string> GenerateBasePort = new("--base-port")
    {
        HelpName = "N",
        Description = "The first agent listen port; the next ones count up from it, skipping the admin and tunnel ports and the pod's own ports. Default: 9900.",
    };

    public static readonly Option<string> GenerateOutput = new("--output", "-o")
    {
        HelpName = "OUT",
        Description = "Write the config to this file instead of standard output.",
    };

    public static readonly Option<string[]> InjectFiles = Files();
    public static readonly Option<string> InjectImage = new("--image")
    {
        HelpName = "IMAGE",
        Description = $"The sidecar's image. Default: ghcr.io/switchyard/switchyard:{Program.Version}.",
    };

    // probe
    public static readonly Argument<string?> ProbeWhat = new("what")
    {
        HelpName = "ready|live",
        Arity = ArgumentArity.ZeroOrOne,
        Description = "ready: GET /readyz (every port listens, config valid); live: GET /healthz.",
    };

    public static readonly Option<string> ProbeAdmin = new("--admin")
    {
        HelpName = "HOST:PORT",
        Description = $"The agent's admin address. Default: {Admin.ProbeCommand.DefaultAdmin}.",
    };

    // intercept
    public static readonly Option<string> InterceptAgent = Agent();
    public static readonly Option<string> InterceptTo = new("--to")
    {
        HelpName = "HOST:PORT",
        Description = "Required. Your local server, which gets the matching requests (or copies, with --wiretap).",
    };

    public static readonly Option<string[]>[] InterceptFilters =
    [
        Filter("--header", "NAME=VALUE", "Header NAME equals VALUE (curl style \"NAME: VALUE\" works too)."),
        Filter("--header-regex", "NAME=REGEX", "A value of header NAME matches the .NET regex REGEX (unanchored)."),
        Filter("--path-equal", "P", "The path, without the query string, is P."),
        Filter("--path-prefix", "P", "The path starts with P."),
        Filter("--path-regex", "R", "The path matches the regex R (unanchored)."),
        Filter("--method", "M", "The request method is M (GET, POST, ...)."),
        Filter("--body-json", "JSONPATH=VALUE", "The JSON body's value at JSONPATH ($.a.b, $.items[0], $['a b']) is VALUE (a number or boolean as written)."),
        Filter("--body-json-regex", "JSONPATH=REGEX", "The JSON body's value at JSONPATH matches the regex REGEX (unanchored)."),
    ];

    public static readonly Option<bool> InterceptWiretap = new("--wiretap")
    {
        Description = "Take a copy of each matching request (its response is discarded); the original still goes to the app.",
    };

    public static readonly Option<bool> InterceptPlaintext = new("--plaintext")
    {
        Description = "Deliver to --to without TLS even when the caller used TLS.",
    };

    public static readonly Option<string> InterceptId = new("--id")
    {
        HelpName = "ID",
        Description = "The intercept's name at the agent (no spaces or '/'). Default: $USER, else dev-XXXXXX.",
    };

    public static readonly Option<string> InterceptPort = new("--port")
    {
        HelpName = "PORT",
        Description = "The agent port to intercept, by name or listen number. Needed when the agent has more than one.",
    };

    public static readonly Option<string> InterceptTunnel = new("--tunnel")
    {
        HelpName = "HOST:PORT",
        Description = "The agent's tunnel address. Default: --agent's host with the port of the agent's tunnel.listen.",
    };

    public static readonly Option<string> InterceptTokenFile = TokenFile();
    public static readonly Option<bool> InterceptQuiet = new("--quiet", "-q") { Description = "Do not print a line per delivered request." };

    // list
    public static readonly Option<string> ListAgent = Agent();
    public static readonly Option<string> ListTokenFile = TokenFile();

    // completion
    public static readonly Argument<string?> CompletionShell = new("shell")
    {
        HelpName = "bash|zsh|fish",
        Arity = ArgumentArity.ZeroOrOne,
        Description = "The shell to write the script for.",
    };

    // the root
    public static readonly Option<bool> RootVersion = new("--version") { Description = "Print the version (same as `switchyard version`)." };

    /// <summary>Per-option message for a flag given without its value, where today's wording is more precise than "needs a value".</summary>
    public static readonly Dictionary<Option, string> MissingValue = new()
    {
        [DemoListen] = "--listen needs a port number (1-65535)",
        [DemoAdmin] = "--admin needs a port number (1-65535)",
        [DemoTunnel] = "--tunnel needs a port number (1-65535)",
    };

    /// <summary>Options whose value is a file (completion offers file names).</summary>
    public static readonly HashSet<Option> FileOptions = [AgentConfig, GenerateFiles, GenerateOutput, InjectFiles, InterceptTokenFile, ListTokenFile];

    /// <summary>The fixed values of positional arguments (completion offers them).</summary>
    public static readonly Dictionary<Argument, string[]> ArgumentValues = new()
    {
        [ProbeWhat] = ["ready", "live"],
        [CompletionShell] = ["bash", "zsh", "fish"],
    };

    private static readonly Lazy<RootCommand> LazyRoot = new(Build);

    public static RootCommand Root => LazyRoot.Value;

    /// <summary>A command's usage synopsis and the longer text of its help (the one-line description is Command.Description).</summary>
    internal static Dictionary<Command, (string Synopsis, string Details)> Texts { get; } = [];

    /// <summary>Parses a whole command line (the arguments after the program name).</summary>
    public static ParseResult Parse(IReadOnlyList<string> args) => Root.Parse(args, Parser);

    /// <summary>
    /// Parses the arguments of one command (as a command's unit-test entry point receives them); a mistake throws
    /// <see cref="UsageException"/> with the same message as the command line prints.
    /// </summary>
    public static ParseResult ParseCommand(string command, IReadOnlyList<string> args)
    {
        ParseResult result = Parse([command, .. args]);
        if (Errors.Describe(result) is { } error)
        {
            throw new UsageException(error.Message);
        }

        return result;
    }

    /// <summary>Runs a command line: help, usage errors (exit 2, one line and a pointer to --help), else the command's action.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ParseResult result = Parse(args);
        if (result.Action is not HelpPrinter && Errors.Describe(result) is { } error)
        {
            await stderr.WriteLineAsync($"{Name}: {error.Message}").ConfigureAwait(false);
            await stderr.WriteLineAsync(Errors.Pointer(error.Command)).ConfigureAwait(false);
            return 2;
        }

        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            EnableDefaultExceptionHandler = false, // our exceptions reach Program.Main's handlers (exit codes per SPEC)
            ProcessTerminationTimeout = null, // the agent and the intercept CLI handle SIGTERM/SIGINT themselves (drain)
        };
        return await result.InvokeAsync(invocation).ConfigureAwait(false);
    }

    /// <summary>The command a command line names (for the pointer to its --help), the root when none.</summary>
    public static Command CommandOf(IReadOnlyList<string> args) =>
        args.Count > 0 && Root.Subcommands.FirstOrDefault(c => c.Name == args[0]) is { } command ? command : Root;

    /// <summary>The full name of a command: "switchyard" or "switchyard agent".</summary>
    public static string FullName(Command command) => command is RootCommand ? Name : $"{Name} {command.Name}";

    private static RootCommand Build()
    {
        var root = new RootCommand("Switchyard: a TLS-intercepting sidecar that sends chosen requests to a developer's machine.");
        foreach (Option option in root.Options.Where(o => o is VersionOption).ToList())
        {
            root.Options.Remove(option);
        }

        HelpOption help = root.Options.OfType<HelpOption>().Single();
        help.Description = "Show this help and exit.";
        foreach (string alias in help.Aliases.Where(a => a != "-h").ToList())
        {
            help.Aliases.Remove(alias); // -h and --help only: "/h", "-?" and "/?" could be a value (a path) of another flag
        }

        help.Action = new HelpPrinter();
        root.Options.Add(RootVersion);
        Texts[root] = ($"{Name} COMMAND [FLAGS]", "Run `switchyard COMMAND --help` for the flags of a command. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.");
        root.SetAction(r =>
        {
            if (r.GetValue(RootVersion))
            {
                return Program.PrintVersion();
            }

            // No command: the usage on stdout, exit 2 (as before the command tree).
            HelpText.Write(root, r.InvocationConfiguration.Output);
            return 2;
        });

        Add(root, "agent", "Run the sidecar.",
            $"{Name} agent [--config PATH] [--drain-timeout DURATION]",
            "Listens on the ports of the config file, forwards to the app and routes intercepted requests. The config file " +
            "is watched: a new valid version applies without dropping connections. SIGTERM drains and exits 0.",
            [AgentConfig, AgentDrainTimeout],
            (r, _) => Program.AgentCommandAsync(r));

        Add(root, "demo", "Self-contained demo (a TLS app, the agent and an intercept).",
            $"{Name} demo [--listen PORT] [--admin PORT] [--tunnel PORT]",
            "Makes certificates in a temp directory, starts an mTLS demo app, the agent in front of it and " +
            "`switchyard intercept` sending x-dev: alice through the tunnel, then prints curl lines to try. Ctrl-C stops it.",
            [DemoListen, DemoAdmin, DemoTunnel],
            (r, _) => Demo.DemoCommand.RunAsync(r));

        Add(root, "generate", "Kubernetes YAML -> agent config JSON.",
            $"{Name} generate -f FILE [-f FILE...] [--workload KIND/NAME] [--base-port N] [-o OUT]",
            "Reads Deployments, StatefulSets, ..., Services and their TLS annotations (kubectl get -o yaml or a rendered " +
            "chart) and writes the agent config for one workload. Warnings go to standard error.",
            [GenerateFiles, GenerateWorkload, GenerateBasePort, GenerateOutput],
            (r, _) => Task.FromResult(Kubernetes.GenerateCommand.Run(r, Console.In, Console.OpenStandardOutput(), Console.Error)));

        Add(root, "inject", "Kubernetes YAML -> the same YAML with the sidecar.",
            $"{Name} inject -f FILE [-f FILE...] [--image IMAGE]",
            "Adds the switchyard container, its config volume and the secret volumes of the TLS annotations to every " +
            "workload a Service of the input selects; the result goes to standard output.",
            [InjectFiles, InjectImage],
            (r, _) => Task.FromResult(Kubernetes.InjectCommand.Run(r, Console.In, Console.Out, Console.Error)));

        Command probe = Add(root, "probe", "Exit 0 when the agent is ready (or live).",
            $"{Name} probe ready|live [--admin HOST:PORT]",
            "The sidecar's exec probes: GET /readyz or /healthz on the admin API within 2 s; exit 0 on 200, else exit 1 " +
            "with one line on standard error.",
            [ProbeAdmin],
            (r, _) => Admin.ProbeCommand.RunAsync(r, Console.Error));
        probe.Arguments.Add(ProbeWhat);

        Add(root, "intercept", "Send matching requests to your local server.",
            $"{Name} intercept --agent HOST:PORT --to HOST:PORT [filters] [--wiretap] [--plaintext] [--id ID] " +
            "[--port PORT] [--tunnel HOST:PORT] [--token-file F] [--quiet]",
            "Registers an intercept at the agent and keeps its tunnel open until Ctrl-C, which removes it. Filter flags " +
            "are ANDed; without any, the whole port is taken (a global intercept). Example:\n" +
            "  switchyard intercept --agent 127.0.0.1:9901 --to 127.0.0.1:8080 \\\n" +
            "      --header x-dev=alice",
            [InterceptAgent, InterceptTo, .. InterceptFilters, InterceptWiretap, InterceptPlaintext, InterceptId, InterceptPort, InterceptTunnel,
             InterceptTokenFile, InterceptQuiet],
            (r, _) => InterceptCommand.RunAsync(r));

        Add(root, "list", "Show the intercepts and wiretaps of an agent.",
            $"{Name} list --agent HOST:PORT [--token-file F]",
            "One line per intercept or wiretap: id, port, mode, filter (as intercept flags), where it delivers (a target " +
            "or the tunnel) and how many requests it took.",
            [ListAgent, ListTokenFile],
            (r, _) => ListCommand.RunAsync(r));

        Add(root, "version", "Print the version.", $"{Name} version", string.Empty, [], (_, _) => Task.FromResult(Program.PrintVersion()));

        Command completion = Add(root, "completion", "Print a shell completion script.",
            $"{Name} completion bash|zsh|fish",
            "Load it in your shell, for example:\n" +
            "  bash: source <(switchyard completion bash)\n" +
            "        (or save it as /etc/bash_completion.d/switchyard)\n" +
            "  zsh:  source <(switchyard completion zsh)\n" +
            "  fish: switchyard completion fish | source",
            [],
            (r, _) => Task.FromResult(Completion.Run(r)));
        completion.Arguments.Add(CompletionShell);

        var helpCommand = new Command("help", "Show the help of a command.") { Hidden = true };
        var helpTopic = new Argument<string?>("command") { Arity = ArgumentArity.ZeroOrOne };
        helpCommand.Arguments.Add(helpTopic);
        helpCommand.SetAction(r =>
        {
            string? topic = r.GetValue(helpTopic);
            Command? command = topic is null ? root : root.Subcommands.FirstOrDefault(c => c.Name == topic && !c.Hidden);
            if (command is null)
            {
                throw new UsageException($"help: unknown command '{topic}'{Errors.Suggestion(topic!, root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}");
            }

            HelpText.Write(command, r.InvocationConfiguration.Output);
            return 0;
        });
        root.Subcommands.Add(helpCommand);
        return root;
    }

    private static Command Add(
        RootCommand root, string name, string description, string synopsis, string details, IEnumerable<Option> options,
        Func<ParseResult, CancellationToken, Task<int>> action)
    {
        var command = new Command(name, description);
        foreach (Option option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction(action);
        Texts[command] = (synopsis, details);
        root.Subcommands.Add(command);
        return command;
    }

    private static Option<string[]> Files() => new("-f", "--filename")
    {
        HelpName = "FILE",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        Description = "A Kubernetes YAML file (several documents allowed); - reads standard input. Repeat for more files.",
    };

    private static Option<string> Agent() => new("--agent")
    {
        HelpName = "HOST:PORT",
        Description = "Required. The agent's admin address (admin.listen), e.g. through kubectl port-forward.",
    };

    private static Option<string> TokenFile() => new("--token-file")
    {
        HelpName = "F",
        Description = "A file holding the admin API bearer token (when the agent sets admin.tokenFile).",
    };

    private static Option<string[]> Filter(string name, string helpName, string description) => new(name)
    {
        HelpName = helpName,
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        Description = description + " Repeatable.",
    };

    /// <summary>A string option's value, null when the flag was not given.</summary>
    public static string? Value(this ParseResult result, Option<string> option) => result.GetResult(option) is null ? null : result.GetValue(option);

    /// <summary>
    /// The values of several repeatable options in command-line order, each with the flag as written
    /// (the filter flags are ANDed in the order given).
    /// </summary>
    public static List<(string Flag, string Value)> InOrder(this ParseResult result, IReadOnlyList<Option> options)
    {
        var values = new List<(string, string)>();
        Option? pending = null;
        foreach (Token token in result.Tokens)
        {
            if (token.Type == TokenType.Option)
            {
                pending = options.FirstOrDefault(o => o.Name == token.Value || o.Aliases.Contains(token.Value));
            }
            else if (token.Type == TokenType.Argument && pending is not null)
            {
                values.Add((pending.Name, token.Value));
                pending = null;
            }
            else
            {
                pending = null;
            }
        }

        return values;
    }
}

/// <summary>--help / -h of every command: <see cref="HelpText"/> on stdout, exit 0.</summary>
internal sealed class HelpPrinter : SynchronousCommandLineAction
{
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        HelpText.Write(parseResult.CommandResult.Command, parseResult.InvocationConfiguration.Output);
        return 0;
    }
}
