using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Switchyard.Admin;
using Switchyard.Config;
using Switchyard.Demo;
using Switchyard.Diagnostics;
using Switchyard.Kubernetes;
using Switchyard.Proxy;

namespace Switchyard;

/// <summary>Composition root: command-line parsing, signals and the drain.</summary>
public static class Program
{
    public const string Version = "0.1.0";

    private const string Usage = """
        usage:
          switchyard agent [--config PATH] [--drain-timeout DURATION]   run the sidecar (PATH default /etc/switchyard/config.json, env SWITCHYARD_CONFIG; drain default 25s)
          switchyard demo [--listen N] [--admin N] [--tunnel N]          self-contained demo: certificates, a TLS app, the agent in front of it
                                                                         and `switchyard intercept` sending x-dev: alice through the tunnel
          switchyard generate -f FILE [-f FILE...] [--workload KIND/NAME] [--base-port N] [-o OUT]
                                                                         Kubernetes YAML (- for stdin) -> agent config JSON (stdout, or OUT)
          switchyard inject -f FILE [-f FILE...] [--image IMAGE]         Kubernetes YAML (-f - reads stdin) -> the same YAML with the switchyard sidecar
          switchyard probe ready|live [--admin HOST:PORT]                exit 0 when the agent's /readyz or /healthz answers 200 (the sidecar's exec probes)
          switchyard intercept --agent HOST:PORT --to HOST:PORT [filters] [--wiretap] [--plaintext] [--id ID] [--port PORT] [--tunnel HOST:PORT] [--token-file F] [--quiet]
                                                                         take your requests (filters: --header NAME=VALUE, --header-regex NAME=REGEX, --path-equal P,
                                                                         --path-prefix P, --path-regex R, --method M) to your local server through the agent's tunnel
          switchyard version                                             print the version
        """;

    public static async Task<int> Main(string[] args)
    {
        Transport.TransportOptions.UseEventLoopThreads();
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return args[0] switch
            {
                "agent" => await AgentCommandAsync(args[1..]).ConfigureAwait(false),
                "demo" => await DemoCommand.RunAsync(args[1..]).ConfigureAwait(false),
                "version" or "--version" => PrintVersion(),
                "generate" => GenerateCommand.Run(args[1..], Console.In, Console.OpenStandardOutput(), Console.Error),
                "inject" => InjectCommand.Run(args[1..], Console.In, Console.Out, Console.Error),
                "probe" => await ProbeCommand.RunAsync(args[1..], Console.Error).ConfigureAwait(false),
                "intercept" => await Cli.InterceptCommand.RunAsync(args[1..]).ConfigureAwait(false),
                _ => UsageError($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            return UsageError(e.Message);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        catch (KubeInputException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    private static int PrintVersion()
    {
        Console.Out.WriteLine($"switchyard {Version} (commit {Diagnostics.BuildInfo.Commit}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier})");
        return 0;
    }

    private static int UsageError(string message)
    {
        Console.Error.WriteLine($"switchyard: {message}");
        Console.Error.WriteLine(Usage);
        return 2;
    }

    private static async Task<int> AgentCommandAsync(string[] args)
    {
        string configPath = Environment.GetEnvironmentVariable("SWITCHYARD_CONFIG") is { Length: > 0 } env ? env : ConfigLoader.DefaultPath;
        TimeSpan drain = TimeSpan.FromSeconds(25);
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config" or "-c":
                    configPath = Value(args, ref i);
                    break;
                case "--drain-timeout":
                    string text = Value(args, ref i);
                    if (!Duration.TryParse(text, out drain))
                    {
                        throw new UsageException($"--drain-timeout: expected a duration such as 25s or 500ms, found \"{text}\"");
                    }

                    break;
                default:
                    throw new UsageException($"agent: unknown option '{args[i]}'");
            }
        }

        AgentSettings settings = ConfigLoader.Load(configPath);
        using ILoggerFactory loggers = Logging.Create(Logging.LevelFromEnvironment());
        return await RunAgentAsync(settings, loggers, drain, ready: null).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs an agent until SIGTERM or SIGINT, then drains. Shared by `agent` and `demo`: <paramref name="ready"/> runs
    /// once it listens, <paramref name="stopping"/> after the signal and before the drain (the admin API still answers).
    /// </summary>
    internal static async Task<int> RunAgentAsync(
        AgentSettings settings, ILoggerFactory loggers, TimeSpan drain, Action<Agent, AdminServer>? ready, Func<Task>? stopping = null)
    {
        var stop = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        // .NET 10 has no default SIGTERM handling for a plain console app: register it, and cancel the default
        // termination so that the drain below decides when the process exits.
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult("SIGTERM"); });
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult("SIGINT"); });

        ILogger logger = loggers.CreateLogger("Switchyard.Agent");
        await using var agent = new Agent(settings, loggers);
        using var admin = new AdminServer(agent, loggers.CreateLogger("Switchyard.Admin"));
        try
        {
            agent.Start();
            try
            {
                admin.Start(settings.AdminListen);
            }
            catch (SocketException e)
            {
                throw ConfigException.Listen(settings.FilePath, "$.admin.listen", ConfigException.Address(settings.AdminListen), e);
            }

            logger.AdminListening(Endpoints.Format(admin.LocalEndPoint!));
        }
        catch (ConfigException e)
        {
            // A listen address in use is a config error (SPEC "Exit codes"): one line naming file, path and address.
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        TimeSpan poll = FileWatch.PollIntervalFromEnvironment();
        var watcher = new ConfigWatcher(settings.FilePath, settings.Fingerprint, agent.Apply, agent.Metrics, logger, poll);
        agent.Metrics.ConfigChecks = () => watcher.Checks;
        logger.WatchingFiles(settings.FilePath, agent.Certificates.Count, (long)poll.TotalMilliseconds);
        ready?.Invoke(agent, admin);
        string signal = await stop.Task.ConfigureAwait(false);
        watcher.Dispose(); // no reload during the drain
        if (stopping is not null)
        {
            await stopping().ConfigureAwait(false);
        }

        await agent.DrainAsync(signal, drain).ConfigureAwait(false);
        return 0;
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new UsageException($"{args[i]} needs a value");
        }

        return args[++i];
    }
}

/// <summary>A command-line mistake: printed with the usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
