using Switchyard.Routing;

namespace Switchyard.Cli;

/// <summary>
/// `switchyard intercept` arguments (SPEC.md "Commands"):
/// <c>--agent HOST:PORT --to HOST:PORT [filters] [--wiretap] [--plaintext] [--id ID] [--port PORT] [--tunnel HOST:PORT] [--token-file F] [--quiet]</c>.
/// </summary>
internal sealed record InterceptOptions(string Agent, string To, Filter? Filter, string Id, string? Port, bool Wiretap, bool Plaintext, string? Tunnel, string? TokenFile, bool Quiet)
{
    /// <summary>Reverse data connections the CLI keeps idle at the agent.</summary>
    public const int PoolSize = 4;

    /// <summary>Parses the arguments after `intercept`; a mistake throws <see cref="UsageException"/> naming the flag.</summary>
    /// <param name="user">$USER, the default intercept id.</param>
    public static InterceptOptions Parse(IReadOnlyList<string> args, string? user) => From(CommandLine.ParseCommand("intercept", args), user);

    /// <summary>The options of a parsed `intercept` command line; a mistake in a value throws <see cref="UsageException"/> naming the flag.</summary>
    /// <param name="user">$USER, the default intercept id.</param>
    public static InterceptOptions From(System.CommandLine.ParseResult args, string? user)
    {
        string? agent = CommandLine.Value(args, CommandLine.InterceptAgent) is { } a ? HostPort("--agent", a) : null;
        string? to = CommandLine.Value(args, CommandLine.InterceptTo) is { } t ? HostPort("--to", t) : null;
        string? tunnel = CommandLine.Value(args, CommandLine.InterceptTunnel) is { } tu ? HostPort("--tunnel", tu) : null;
        string? id = CommandLine.Value(args, CommandLine.InterceptId);
        if (id is not null && (id.Length == 0 || id.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '/')))
        {
            throw new UsageException($"--id: expected a name without spaces or '/', found \"{id}\"");
        }

        string? port = CommandLine.Value(args, CommandLine.InterceptPort);
        string? tokenFile = CommandLine.Value(args, CommandLine.InterceptTokenFile);
        bool wiretap = args.GetValue(CommandLine.InterceptWiretap);
        bool plaintext = args.GetValue(CommandLine.InterceptPlaintext);
        bool quiet = args.GetValue(CommandLine.InterceptQuiet);
        List<(string Flag, string Value)> filters = args.InOrder(CommandLine.InterceptFilters);
        if (agent is null)
        {
            throw new UsageException("intercept: --agent HOST:PORT is required (the agent's admin address, e.g. through kubectl port-forward)");
        }

        if (to is null)
        {
            throw new UsageException("intercept: --to HOST:PORT is required (your local server)");
        }

        Filter? filter;
        try
        {
            filter = FilterParser.FromFlags(filters);
        }
        catch (FilterException e)
        {
            throw new UsageException($"{e.JsonPath}: {e.Reason}");
        }

        return new InterceptOptions(agent, to, filter, id ?? DefaultId(user), port, wiretap, plaintext, tunnel, tokenFile, quiet);
    }

    private static string DefaultId(string? user) =>
        user is { Length: > 0 } u && !u.Any(c => char.IsWhiteSpace(c) || c == '/')
            ? u
            : "dev-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));

    private static string HostPort(string flag, string value) =>
        Config.Endpoints.TryParseHostPort(value, out _, out _) ? value : throw new UsageException($"{flag}: expected HOST:PORT, found \"{value}\"");
}
