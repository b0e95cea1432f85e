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
    public static InterceptOptions Parse(IReadOnlyList<string> args, string? user)
    {
        string? agent = null, to = null, id = null, port = null, tunnel = null, tokenFile = null;
        bool wiretap = false, plaintext = false, quiet = false;
        var filters = new List<(string Flag, string Value)>();
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i];
            switch (flag)
            {
                case "--agent":
                    agent = HostPort(flag, Value(args, ref i));
                    break;
                case "--to":
                    to = HostPort(flag, Value(args, ref i));
                    break;
                case "--tunnel":
                    tunnel = HostPort(flag, Value(args, ref i));
                    break;
                case "--id":
                    id = Value(args, ref i);
                    if (id.Length == 0 || id.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '/'))
                    {
                        throw new UsageException($"--id: expected a name without spaces or '/', found \"{id}\"");
                    }

                    break;
                case "--port":
                    port = Value(args, ref i);
                    break;
                case "--token-file":
                    tokenFile = Value(args, ref i);
                    break;
                case "--wiretap":
                    wiretap = true;
                    break;
                case "--plaintext":
                    plaintext = true;
                    break;
                case "--quiet" or "-q":
                    quiet = true;
                    break;
                default:
                    if (!FilterParser.IsFilterFlag(flag))
                    {
                        throw new UsageException($"intercept: unknown option '{flag}'");
                    }

                    filters.Add((flag, Value(args, ref i)));
                    break;
            }
        }

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

    private static string Value(IReadOnlyList<string> args, ref int i) =>
        i + 1 < args.Count ? args[++i] : throw new UsageException($"{args[i]} needs a value");
}
