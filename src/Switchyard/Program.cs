using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Switchyard.Admin;
using Switchyard.Cli;
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

    public static async Task<int> Main(string[] args)
    {
        Transport.TransportOptions.UseEventLoopThreads();
        try
        {
            // The command tree, help, completion and usage errors: Cli/CommandLine.cs.
            return await Cli.CommandLine.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            return UsageError(e.Message, Cli.CommandLine.CommandOf(args));
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

    internal static int PrintVersion()
    {
        Console.Out.WriteLine($"switchyard {Version} (commit {Diagnostics.BuildInfo.Commit}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier})");
        return 0;
    }

    /// <summary>A mistake in a value: one line naming the flag, then where the usage is; exit 2.</summary>
    private static int UsageError(string message, System.CommandLine.Command command)
    {
        Console.Error.WriteLine($"switchyard: {message}");
        Console.Error.WriteLine(Cli.Errors.Pointer(command));
        return 2;
    }

    internal static async Task<int> AgentCommandAsync(System.CommandLine.ParseResult args)
    {
        string configPath = args.Value(CommandLine.AgentConfig)
            ?? (Environment.GetEnvironmentVariable("SWITCHYARD_CONFIG") is { Length: > 0 } env ? env : ConfigLoader.DefaultPath);
        TimeSpan drain = TimeSpan.FromSeconds(25);
        if (args.Value(CommandLine.AgentDrainTimeout) is { } text && !Duration.TryParse(text, out drain))
        {
            throw new UsageException($"--drain-timeout: expected a duration such as 25s or 500ms, found \"{text}\"");
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
        _ = agent.WarmTlsAsync(); // after ready: the certificate contexts and the system CA store (never throws)
        string signal = await stop.Task.ConfigureAwait(false);
        watcher.Dispose(); // no reload during the drain
        if (stopping is not null)
        {
            await stopping().ConfigureAwait(false);
        }

        await agent.DrainAsync(signal, drain).ConfigureAwait(false);
        return 0;
    }
}

/// <summary>A command-line mistake: printed with the usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
