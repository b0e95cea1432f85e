using System.Net.Http;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Switchyard.Cli;

/// <summary>
/// `switchyard intercept`: registers an intercept (or wiretap) without a target through the admin API, then keeps the
/// developer tunnel open (<see cref="TunnelClient"/>) until Ctrl-C, which removes the intercept again. Exit codes:
/// 0 after Ctrl-C/SIGTERM, 1 when the agent cannot be reached at start, 2 when it refuses (token, validation, conflict).
/// </summary>
internal static class InterceptCommand
{
    public static async Task<int> RunAsync(System.CommandLine.ParseResult args)
    {
        InterceptOptions options = InterceptOptions.From(args, Environment.GetEnvironmentVariable("USER"));
        string? token = null;
        if (options.TokenFile is not null)
        {
            try
            {
                token = (await File.ReadAllTextAsync(options.TokenFile).ConfigureAwait(false)).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail(2, $"--token-file: cannot read {options.TokenFile}: {(e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message)}");
            }
        }

        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var client = new AgentClient(options.Agent, token);

        AdminAnswer answer;
        AgentStatus? status;
        try
        {
            (answer, status) = await client.GetStatusAsync(stop.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            return Fail(1, $"cannot reach the agent at {options.Agent}: {Innermost(e)}");
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        if (status is null)
        {
            return Fail(2, $"the agent at {options.Agent} refused: {answer.Message}{(answer.Status == System.Net.HttpStatusCode.Unauthorized ? " (check --token-file)" : string.Empty)}");
        }

        string? port = options.Port;
        if (port is null)
        {
            if (status.Ports.Count != 1)
            {
                return Fail(2, $"the agent has {status.Ports.Count} ports ({string.Join(", ", status.Ports)}): choose one with --port");
            }

            port = status.Ports[0];
        }

        string? tunnel = options.Tunnel;
        if (tunnel is null)
        {
            if (status.TunnelListen is null || !Config.Endpoints.TryParseHostPort(status.TunnelListen, out _, out int tunnelPort))
            {
                return Fail(2, $"the agent at {options.Agent} has no tunnel: set \"tunnel\": {{ \"listen\": \"127.0.0.1:9902\" }} in its config (or pass --tunnel)");
            }

            Config.Endpoints.TryParseHostPort(options.Agent, out string agentHost, out _);
            tunnel = (agentHost.Contains(':') ? $"[{agentHost}]" : agentHost) + ":" + tunnelPort;
        }

        string body = InterceptBody(options, port);
        AdminAnswer added;
        try
        {
            added = await client.AddInterceptAsync(body, stop.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            return Fail(1, $"cannot reach the agent at {options.Agent}: {Innermost(e)}");
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        if (!added.Ok)
        {
            return Fail(2, $"the agent refused the {(options.Wiretap ? "wiretap" : "intercept")}: {added.Message}");
        }

        Console.Out.WriteLine($"switchyard: {(options.Wiretap ? "wiretap" : "intercept")} \"{options.Id}\" on port {port} ({options.Filter?.ToString() ?? "global: every connection"}) -> {options.To} " +
            $"through the tunnel {tunnel} ({(options.Plaintext ? "plaintext" : "TLS when the caller used TLS")}); Ctrl-C to stop");
        var session = new TunnelClient(options, tunnel, token, () => client.AddInterceptAsync(body, stop.Token));
        int code = await session.RunAsync(stop.Token).ConfigureAwait(false);

        // Ctrl-C (or a fatal refusal): take the intercept away at once instead of waiting for the agent's grace period.
        try
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.RemoveInterceptAsync(options.Id, cleanup.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            // The agent is gone; it forgets the intercept with the tunnel.
        }

        Console.Out.WriteLine($"switchyard: {(options.Wiretap ? "wiretap" : "intercept")} \"{options.Id}\" removed");
        return code;
    }

    /// <summary>The POST /v1/intercepts body: no target (tunnel delivery), the filter, mode and delivery.plaintext.</summary>
    internal static string InterceptBody(InterceptOptions options, string port)
    {
        var output = new MemoryStream();
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteString("id", options.Id);
            writer.WriteString("port", port);
            writer.WriteString("mode", options.Wiretap ? "wiretap" : "intercept");
            if (options.Filter is { } filter)
            {
                // No filter flags: a global intercept, which takes the whole port at transport level (bytes relayed as they are).
                writer.WritePropertyName("match");
                Routing.FilterWriter.Write(writer, filter);
            }
            writer.WriteStartObject("delivery");
            writer.WriteBoolean("plaintext", options.Plaintext);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(output.ToArray());
    }

    internal static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"switchyard: {message}");
        return code;
    }

    internal static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }
}
