using System.Net.Sockets;
using System.Text;
using Switchyard.Config;

namespace Switchyard.Admin;

/// <summary>
/// <c>switchyard probe ready|live [--admin HOST:PORT]</c>: the sidecar's exec probes. The admin API listens on loopback,
/// which the kubelet's httpGet cannot reach, so the probe runs inside the container: GET /readyz or /healthz with a
/// 2 s budget, exit 0 on 200, else exit 1 with one line on stderr.
/// </summary>
public static class ProbeCommand
{
    public const string DefaultAdmin = "127.0.0.1:9901";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    internal static Task<int> RunAsync(string[] args, TextWriter stderr) => RunAsync(Cli.CommandLine.ParseCommand("probe", args), stderr);

    internal static async Task<int> RunAsync(System.CommandLine.ParseResult args, TextWriter stderr)
    {
        string? what = args.GetValue(Cli.CommandLine.ProbeWhat);
        string admin = Cli.CommandLine.Value(args, Cli.CommandLine.ProbeAdmin) ?? DefaultAdmin;
        if (what is null)
        {
            throw new UsageException("probe: say what to probe: ready or live");
        }

        if (what is not ("ready" or "live"))
        {
            throw new UsageException($"probe: unexpected argument '{what}' (expected ready or live, then [--admin HOST:PORT])");
        }

        if (!Endpoints.TryParseHostPort(admin, out string host, out int port))
        {
            throw new UsageException($"--admin: expected HOST:PORT such as {DefaultAdmin}, found \"{admin}\"");
        }

        string path = what == "ready" ? "/readyz" : "/healthz";
        string? failure = await ProbeAsync(host, port, path).ConfigureAwait(false);
        if (failure is null)
        {
            return 0;
        }

        await stderr.WriteLineAsync($"switchyard: probe {what}: {admin}{path}: {failure}").ConfigureAwait(false);
        return 1;
    }

    /// <summary>One GET over a fresh connection; null when the answer is 200, else why not.</summary>
    public static async Task<string?> ProbeAsync(string host, int port, string path)
    {
        using var budget = new CancellationTokenSource(Timeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, budget.Token).ConfigureAwait(false);
            string request = $"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: switchyard-probe\r\nConnection: close\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, budget.Token).ConfigureAwait(false);

            // The status line is all we need: "HTTP/1.1 200 OK\r\n".
            byte[] buffer = new byte[512];
            int filled = 0;
            while (filled < buffer.Length)
            {
                int read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, budget.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
                if (Array.IndexOf(buffer, (byte)'\n', 0, filled) >= 0)
                {
                    break;
                }
            }

            string head = Encoding.ASCII.GetString(buffer, 0, filled);
            int end = head.IndexOf('\r');
            string statusLine = end >= 0 ? head[..end] : head;
            string[] parts = statusLine.Split(' ', 3);
            if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
            {
                return filled == 0 ? "connection closed without an answer" : "not an HTTP answer";
            }

            return parts[1] == "200" ? null : $"status {string.Join(' ', parts[1..])}";
        }
        catch (OperationCanceledException)
        {
            return $"no answer within {Timeout.TotalSeconds:0} s";
        }
        catch (SocketException e)
        {
            return Diagnostics.ErrorText.Socket(e.SocketErrorCode);
        }
    }
}
