using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>One JSON-lines log record written by the agent on stdout.</summary>
public sealed record AgentLogEntry(string LogLevel, string Message, string Raw);

/// <summary>
/// The published agent running as a child process with its own config file. Captures stdout and stderr
/// completely, talks to its admin API, sends it signals, and kills it on dispose (printing the captured
/// output to the test log so a failure shows what the agent said).
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private static readonly HttpClient AdminClient = new(new SocketsHttpHandler
    {
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromSeconds(1),
    })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly Process _process;
    private readonly ITestOutputHelper _output;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly string _commandLine;

    private AgentProcess(Process process, ITestOutputHelper output, string configPath, int adminPort, string commandLine)
    {
        _process = process;
        _output = output;
        ConfigPath = configPath;
        AdminPort = adminPort;
        _commandLine = commandLine;
    }

    public string ConfigPath { get; }

    public int AdminPort { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public Uri AdminUri(string path) => new($"http://127.0.0.1:{AdminPort}{path}");

    /// <summary>
    /// Writes <paramref name="config"/> to DIR/config.json, starts `switchyard agent --config DIR/config.json`
    /// (or passes the path in SWITCHYARD_CONFIG when <paramref name="configFromEnvironment"/>) and, by default,
    /// waits until GET /readyz answers 200.
    /// </summary>
    public static async Task<AgentProcess> StartAsync(
        ITestOutputHelper output,
        TempDir dir,
        JsonObject config,
        IEnumerable<string>? extraArguments = null,
        bool waitUntilReady = true,
        bool configFromEnvironment = false)
    {
        var configPath = dir.File("config.json");
        await File.WriteAllTextAsync(configPath, config.ToJsonString(Indented));
        var listen = config["admin"]?["listen"]?.GetValue<string>()
            ?? throw new ArgumentException("the test config needs admin.listen", nameof(config));
        var adminPort = int.Parse(listen[(listen.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

        List<string> arguments = configFromEnvironment ? ["agent"] : ["agent", "--config", configPath];
        arguments.AddRange(extraArguments ?? []);
        var environment = configFromEnvironment
            ? new Dictionary<string, string> { ["SWITCHYARD_CONFIG"] = configPath }
            : [];
        var agent = Launch(output, dir, arguments, environment, configPath, adminPort);
        return waitUntilReady ? await ReadyOrDisposedAsync(agent) : agent;
    }

    /// <summary>
    /// Starts `switchyard agent --config CONFIGPATH` for a config file the test laid out itself (a kubelet
    /// <c>..data</c> volume, say), with extra environment variables (SWITCHYARD_CONFIG_POLL), and waits until ready.
    /// </summary>
    public static async Task<AgentProcess> StartWithConfigFileAsync(
        ITestOutputHelper output,
        TempDir dir,
        string configPath,
        int adminPort,
        Dictionary<string, string> environment)
    {
        return await ReadyOrDisposedAsync(Launch(output, dir, ["agent", "--config", configPath], environment, configPath, adminPort));
    }

    private static async Task<AgentProcess> ReadyOrDisposedAsync(AgentProcess agent)
    {
        try
        {
            await agent.WaitReadyAsync();
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }

        return agent;
    }

    /// <summary>Starts the binary with arbitrary arguments (e.g. `demo`) in <paramref name="dir"/>; no config, no admin port.</summary>
    public static AgentProcess StartCommand(ITestOutputHelper output, TempDir dir, params string[] arguments) =>
        Launch(output, dir, arguments, [], configPath: "", adminPort: 0);

    private static AgentProcess Launch(
        ITestOutputHelper output,
        TempDir dir,
        IEnumerable<string> arguments,
        Dictionary<string, string> environment,
        string configPath,
        int adminPort)
    {
        var psi = new ProcessStartInfo(RepoPaths.RequireAgentBinary())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = dir.Path,
        };
        psi.Environment.Remove("SWITCHYARD_CONFIG");
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }

        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var agent = new AgentProcess(process, output, configPath, adminPort, psi.FileName + " " + string.Join(' ', psi.ArgumentList));
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                agent._stdout.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                agent._stderr.Enqueue(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return agent;
    }

    /// <summary>Polls GET /readyz until it answers 200; fails early when the agent exits.</summary>
    public async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + Timeouts.AgentReady;
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the agent exited with code {_process.ExitCode} before it was ready\n{Dump()}");
            }

            try
            {
                using var response = await AdminClient.GetAsync(AdminUri("/readyz"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            catch (TaskCanceledException e)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"GET /readyz did not answer 200 within {Timeouts.AgentReady.TotalSeconds}s (last: {last})\n{Dump()}");
    }

    /// <summary>GET an admin path; returns status and body.</summary>
    public async Task<(HttpStatusCode Status, string Body, string? ContentType)> GetAsync(string path)
    {
        using var response = await AdminClient.GetAsync(AdminUri(path));
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body, response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>GET /v1/status, parsed; asserts 200.</summary>
    public async Task<JsonNode> GetStatusAsync()
    {
        var (status, body, _) = await GetAsync("/v1/status");
        if (status != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET /v1/status answered {(int)status}: {body}");
        }

        return JsonNode.Parse(body) ?? throw new InvalidOperationException("GET /v1/status returned JSON null");
    }

    /// <summary>GET /metrics text; asserts 200.</summary>
    public async Task<string> GetMetricsAsync()
    {
        var (status, body, _) = await GetAsync("/metrics");
        if (status != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET /metrics answered {(int)status}: {body}");
        }

        return body;
    }

    /// <summary>The entry of status.ports with the given name.</summary>
    public static JsonNode PortStatus(JsonNode status, string name) =>
        status["ports"]?.AsArray().FirstOrDefault(p => p?["name"]?.GetValue<string>() == name)
        ?? throw new InvalidOperationException($"no port named {name} in status: {status.ToJsonString()}");

    /// <summary>Polls /v1/status until <paramref name="condition"/> holds; returns that status.</summary>
    public async Task<JsonNode> WaitForStatusAsync(Func<JsonNode, bool> condition, string description, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeouts.Short;
        var deadline = DateTime.UtcNow + limit;
        string last = "none";
        while (true)
        {
            try
            {
                var status = await GetStatusAsync();
                last = status.ToJsonString(Indented);
                if (condition(status))
                {
                    return status;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException
                                          or NullReferenceException or JsonException or FormatException)
            {
                last = $"{last}\n(last poll: {e.GetType().Name}: {e.Message})";
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"/v1/status never showed {description} within {limit.TotalSeconds}s; last status:\n{last}\n{Dump()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Polls /metrics until the summed sample satisfies <paramref name="condition"/>; returns the value.</summary>
    public async Task<double> WaitForMetricAsync(
        string name,
        (string Key, string Value)[] labels,
        Func<double, bool> condition,
        string description,
        TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeouts.Short;
        var deadline = DateTime.UtcNow + limit;
        string last = "";
        while (true)
        {
            try
            {
                last = await GetMetricsAsync();
                var value = PrometheusText.Sum(last, name, labels);
                if (condition(value))
                {
                    return value;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or FormatException)
            {
                last = $"{last}\n(last poll: {e.GetType().Name}: {e.Message})";
            }

            if (DateTime.UtcNow > deadline)
            {
                var selector = name + "{" + string.Join(',', labels.Select(l => $"{l.Key}=\"{l.Value}\"")) + "}";
                throw new TimeoutException($"metric {selector} never became {description} within {limit.TotalSeconds}s; last /metrics:\n{last}\n{Dump()}");
            }

            await Task.Delay(100);
        }
    }

    public IReadOnlyList<string> StdoutLines => [.. _stdout];

    public IReadOnlyList<string> StderrLines => [.. _stderr];

    /// <summary>Stdout lines that parse as JSON objects, as (LogLevel, Message).</summary>
    public IReadOnlyList<AgentLogEntry> Logs
    {
        get
        {
            var entries = new List<AgentLogEntry>();
            foreach (var line in _stdout)
            {
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    var level = doc.RootElement.TryGetProperty("LogLevel", out var l) ? l.ToString() : "";
                    var message = doc.RootElement.TryGetProperty("Message", out var m) ? m.ToString() : "";
                    entries.Add(new AgentLogEntry(level, message, line));
                }
                catch (JsonException)
                {
                }
            }

            return entries;
        }
    }

    /// <summary>Waits until a log record satisfies <paramref name="condition"/>.</summary>
    public async Task<AgentLogEntry> WaitForLogAsync(Func<AgentLogEntry, bool> condition, string description, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeouts.Short;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var match = Logs.FirstOrDefault(condition);
            if (match is not null)
            {
                return match;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no agent log line {description} within {limit.TotalSeconds}s\n{Dump()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends a POSIX signal (SIGTERM = 15) with libc kill(2); Process.Kill would send SIGKILL.</summary>
    public void SendSignal(int signal)
    {
        if (NativeMethods.Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public void SendSigterm() => SendSignal(NativeMethods.SIGTERM);

    /// <summary>Waits for the agent to exit by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the agent did not exit within {timeout.TotalSeconds}s\n{Dump()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Everything the agent wrote so far, for assertion messages.</summary>
    public string Dump()
    {
        var sb = new StringBuilder();
        sb.Append("agent: ").AppendLine(_commandLine);
        sb.Append("exit: ").AppendLine(_process.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "running");
        sb.AppendLine("--- agent stdout ---");
        foreach (var line in _stdout)
        {
            sb.AppendLine(line);
        }

        sb.AppendLine("--- agent stderr ---");
        foreach (var line in _stderr)
        {
            sb.AppendLine(line);
        }

        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }

        try
        {
            _output.WriteLine(Dump());
        }
        catch (InvalidOperationException)
        {
            // No active test any more (dispose after the test finished); nothing to print to.
        }

        _process.Dispose();
    }

    private static class NativeMethods
    {
        public const int SIGTERM = 15;

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
