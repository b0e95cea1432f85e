using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Switchyard.Soak;

/// <summary>What /proc says about the agent at one moment.</summary>
internal readonly record struct ProcessSample(long RssKiB, int Fds, IReadOnlyDictionary<string, int> SocketStates)
{
    public string States => SocketStates.Count == 0 ? "none" : string.Join(", ", SocketStates.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"));
}

/// <summary>
/// The published agent as a child process: its stdout/stderr go to a log file, its admin API is polled over plain
/// HTTP/1.1, and /proc gives its RSS, open fds and the TCP state of each of its sockets.
/// </summary>
internal sealed class Agent : IAsyncDisposable
{
    private static readonly HttpClient Admin = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(1) })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();
    private bool _logClosed;
    private bool _disposed;

    private Agent(Process process, StreamWriter log, int adminPort, string logPath)
    {
        _process = process;
        _log = log;
        AdminPort = adminPort;
        LogPath = logPath;
    }

    public int AdminPort { get; }

    /// <summary>Names for the agent's sockets in samples: by local port (its listeners) or by remote port (the targets).</summary>
    public Dictionary<int, string> LocalPortNames { get; } = [];

    public Dictionary<int, string> RemotePortNames { get; } = [];

    public string LogPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static string Binary()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("SWITCHYARD_BIN");
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            return Path.GetFullPath(fromEnv);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "aot.sln")))
            {
                return Path.Combine(dir.FullName, "artifacts", "switchyard", "switchyard");
            }
        }

        return Path.GetFullPath(Path.Combine("artifacts", "switchyard", "switchyard"));
    }

    public static Agent Start(string binary, string configPath, int adminPort, string logPath, IReadOnlyDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(configPath)!,
        };
        psi.ArgumentList.Add("agent");
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(configPath);
        psi.Environment.Remove("SWITCHYARD_CONFIG");
        foreach ((string name, string value) in environment)
        {
            psi.Environment[name] = value;
        }

        var log = new StreamWriter(logPath, append: false) { AutoFlush = false };
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var agent = new Agent(process, log, adminPort, logPath);
        process.OutputDataReceived += (_, e) => agent.Write(e.Data);
        process.ErrorDataReceived += (_, e) => agent.Write(e.Data is null ? null : "stderr: " + e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return agent;
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            if (!_logClosed)
            {
                _log.WriteLine(line);
            }
        }
    }

    public Uri AdminUri(string path) => new($"http://127.0.0.1:{AdminPort}{path}");

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the agent exited with code {_process.ExitCode} before it was ready (log: {LogPath})");
            }

            try
            {
                using HttpResponseMessage response = await Admin.GetAsync(AdminUri("/readyz"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"GET /readyz did not answer 200 within {timeout.TotalSeconds}s (last: {last}; log: {LogPath})");
    }

    public async Task<JsonNode> StatusAsync()
    {
        string body = await Admin.GetStringAsync(AdminUri("/v1/status"));
        return JsonNode.Parse(body) ?? throw new InvalidOperationException("/v1/status is JSON null");
    }

    public async Task<string> ConfigFingerprintAsync() =>
        (await StatusAsync())["config"]?["fingerprint"]?.GetValue<string>() ?? throw new InvalidOperationException("/v1/status has no config.fingerprint");

    public Task<string> MetricsAsync() => Admin.GetStringAsync(AdminUri("/metrics"));

    /// <summary>Sum of the samples of <paramref name="name"/> whose labels include every <paramref name="labels"/> pair.</summary>
    public static double Sum(string metrics, string name, params (string Key, string Value)[] labels)
    {
        double total = 0;
        foreach (string raw in metrics.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            int end = name.Length;
            if (end >= line.Length || (line[end] != '{' && line[end] != ' '))
            {
                continue;
            }

            string labelText = line[end] == '{' ? line[(end + 1)..line.IndexOf('}', end)] : "";
            if (labels.Any(l => !labelText.Contains($"{l.Key}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                continue;
            }

            string value = line[(line.LastIndexOf(' ') + 1)..];
            total += double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return total;
    }

    /// <summary>Labelled samples of a metric as "label=value ... => n" lines (for the report).</summary>
    public static IEnumerable<string> Samples(string metrics, string name) =>
        metrics.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal));

    public ProcessSample Sample()
    {
        long rss = 0;
        foreach (string line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        var inodes = new List<string>();
        int fds = 0;
        foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{Pid}/fd"))
        {
            fds++;
            try
            {
                string? target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(target["socket:[".Length..^1]);
                }
            }
            catch (IOException)
            {
                // closed between the listing and the readlink
            }
        }

        return new ProcessSample(rss, fds, SocketStates(inodes));
    }

    private static readonly string[] TcpStates =
        ["?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"];

    /// <summary>
    /// Sockets by TCP state and peer (from /proc/net/tcp and tcp6), e.g. "CLOSE_WAIT->app": "caller" is a connection
    /// accepted on a named listener, app/developer/tap are connections the agent opened; not TCP counts as "other".
    /// </summary>
    private Dictionary<string, int> SocketStates(List<string> inodes)
    {
        var byInode = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (string line in File.ReadLines(table).Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 9)
                {
                    int state = int.Parse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    string name = state < TcpStates.Length ? TcpStates[state] : f[3];
                    int local = int.Parse(f[1][(f[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    int remote = int.Parse(f[2][(f[2].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    string peer = name == "LISTEN" ? "" :
                        LocalPortNames.TryGetValue(local, out string? l) ? "<-" + l :
                        RemotePortNames.TryGetValue(remote, out string? r) ? "->" + r : "";
                    byInode[f[9]] = name + peer;
                }
            }
        }

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string inode in inodes)
        {
            string state = byInode.GetValueOrDefault(inode, "other");
            counts[state] = counts.GetValueOrDefault(state) + 1;
        }

        return counts;
    }

    /// <summary>SIGTERM, then the exit code (null when it did not exit within <paramref name="timeout"/>).</summary>
    public async Task<int?> StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return _process.ExitCode;
        }

        _ = Kill(_process.Id, 15);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return _process.ExitCode;
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }

        lock (_logLock)
        {
            _logClosed = true;
            _log.Flush();
            _log.Dispose();
        }

        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
