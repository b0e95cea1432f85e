using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Switchyard.Tests.TestSupport;

/// <summary>
/// The product's own entry point (`switchyard agent --config FILE`) run in a child process, for the few checks
/// whose failure mode is the death of the process: such a failure must not take the test host down with it.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AgentProcess(Process process)
    {
        _process = process;
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the agent wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static AgentProcess Start(string configPath)
    {
        string host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "switchyard.dll"));
        start.ArgumentList.Add("agent");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configPath);
        start.Environment.Remove("SWITCHYARD_CONFIG");

        var process = new Process { StartInfo = start };
        var agent = new AgentProcess(process);
        process.OutputDataReceived += (_, e) => agent.Append(e.Data);
        process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return agent;
    }

    /// <summary>Connects to a port of the agent once it listens; the caller owns the connected socket.</summary>
    public async Task<Socket> ConnectAsync(int port, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
                return socket;
            }
            catch (SocketException) when (clock.Elapsed < within && !_process.HasExited)
            {
                socket.Dispose();
                await Task.Delay(100);
            }
            catch
            {
                socket.Dispose();
                throw new InvalidOperationException($"the agent did not listen on {port} within {within}:\n{Output}");
            }
        }
    }

    /// <summary>True when the process ended within the time given.</summary>
    public async Task<bool> ExitsWithinAsync(TimeSpan time)
    {
        using var cts = new CancellationTokenSource(time);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
