using System.Net.Sockets;
using System.Text;
using Switchyard.Transport;

namespace Switchyard.Cli;

/// <summary>
/// The developer's side of the tunnel: one control connection (heartbeats both ways; the agent's request events are
/// printed) and <see cref="InterceptOptions.PoolSize"/> idle data connections. A data connection is relayed byte for
/// byte to --to once the agent sends its first bytes (a TLS ClientHello, an h2 preface or an HTTP/1 request: the
/// agent always speaks first), and a replacement is opened at once. When the agent goes away the CLI reconnects with
/// backoff (0.5 s doubling to 5 s) and registers the intercept again if the agent no longer knows it.
/// </summary>
internal sealed class TunnelClient(InterceptOptions options, string tunnel, string? token, Func<Task<AdminAnswer>> register)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ControlSilence = TimeSpan.FromSeconds(10);

    private readonly Lock _console = new();
    private int _exitCode;

    public async Task<int> RunAsync(CancellationToken stop)
    {
        using var fatal = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var tasks = new List<Task> { ControlLoopAsync(fatal) };
        for (int i = 0; i < InterceptOptions.PoolSize; i++)
        {
            tasks.Add(DataLoopAsync(fatal.Token));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        return _exitCode;
    }

    private async Task ControlLoopAsync(CancellationTokenSource fatal)
    {
        CancellationToken stop = fatal.Token;
        TimeSpan backoff = TimeSpan.FromMilliseconds(500);
        bool connectedBefore = false;
        string? lastProblem = null;
        while (!stop.IsCancellationRequested)
        {
            string? problem;
            try
            {
                using Socket socket = await ConnectAsync(stop).ConfigureAwait(false);
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                string answer = await HelloAsync(stream, "control", stop).ConfigureAwait(false);
                if (answer.StartsWith("ERR unknown intercept", StringComparison.Ordinal))
                {
                    // The agent restarted (or expired the intercept): register it again, then connect again.
                    AdminAnswer added = await register().ConfigureAwait(false);
                    if (!added.Ok)
                    {
                        problem = $"the agent refused to register the intercept again: {added.Message}";
                        if (added.Status is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.BadRequest or System.Net.HttpStatusCode.Conflict)
                        {
                            Fatal(problem, fatal);
                            return;
                        }
                    }
                    else
                    {
                        Say($"switchyard: intercept \"{options.Id}\" registered again");
                        backoff = TimeSpan.FromMilliseconds(100);
                        problem = null;
                    }
                }
                else if (answer.StartsWith("ERR", StringComparison.Ordinal))
                {
                    Fatal($"the agent's tunnel at {tunnel} refused: {answer[4..]}", fatal);
                    return;
                }
                else
                {
                    if (connectedBefore || lastProblem is not null)
                    {
                        Say($"switchyard: tunnel to {tunnel} connected again");
                    }

                    connectedBefore = true;
                    lastProblem = null;
                    backoff = TimeSpan.FromMilliseconds(500);
                    problem = await ServeControlAsync(stream, stop).ConfigureAwait(false);
                    if (!stop.IsCancellationRequested)
                    {
                        Say($"switchyard: lost the tunnel to the agent ({problem}); reconnecting");
                    }

                    lastProblem = problem;
                    continue;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException || ConnectionErrors.IsExpected(e))
            {
                problem = $"cannot reach the agent's tunnel at {tunnel}: {InterceptCommand.Innermost(e)}";
            }

            if (problem is not null && problem != lastProblem)
            {
                Say($"switchyard: {problem}; retrying");
            }

            lastProblem = problem ?? lastProblem;
            try
            {
                await Task.Delay(backoff, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    /// <summary>Reads the agent's lines (heartbeats, request events) and heartbeats back; returns why the connection ended.</summary>
    private async Task<string> ServeControlAsync(NetworkStream stream, CancellationToken stop)
    {
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(stop);
        Task heartbeats = HeartbeatAsync(stream, ended.Token);
        try
        {
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
            while (true)
            {
                using var silence = CancellationTokenSource.CreateLinkedTokenSource(stop);
                silence.CancelAfter(ControlSilence);
                string? line;
                try
                {
                    line = await reader.ReadLineAsync(silence.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    return $"no heartbeat for {ControlSilence.TotalSeconds:0} s";
                }

                if (line is null)
                {
                    return "the agent closed the connection";
                }

                if (line.StartsWith("REQ ", StringComparison.Ordinal) && !options.Quiet)
                {
                    string[] f = line.Split(' ');
                    if (f.Length == 5)
                    {
                        Say($"{f[1]} {f[2]} -> {f[3]} ({f[4]} ms)");
                    }
                }
            }
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            return InterceptCommand.Innermost(e);
        }
        finally
        {
            await ended.CancelAsync().ConfigureAwait(false);
            await heartbeats.ConfigureAwait(false);
            if (stop.IsCancellationRequested)
            {
                await SayByeAsync(stream).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Ctrl-C: tells the agent this developer leaves on purpose, so it removes the intercept at once and logs no loss.</summary>
    private static async Task SayByeAsync(NetworkStream stream)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await stream.WriteAsync("BYE\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            // The agent is gone already; the DELETE that follows (or its grace period) removes the intercept.
        }
    }

    private static async Task HeartbeatAsync(NetworkStream stream, CancellationToken ended)
    {
        try
        {
            while (true)
            {
                await Task.Delay(Heartbeat, ended).ConfigureAwait(false);
                await stream.WriteAsync("HB\n"u8.ToArray(), ended).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
        }
    }

    /// <summary>Keeps one idle data connection at the agent; relays each one the agent starts using, and opens the next.</summary>
    private async Task DataLoopAsync(CancellationToken stop)
    {
        TimeSpan backoff = TimeSpan.FromMilliseconds(250);
        var first = new byte[16 * 1024];
        while (!stop.IsCancellationRequested)
        {
            Socket? socket = null;
            try
            {
                socket = await ConnectAsync(stop).ConfigureAwait(false);
                var stream = new NetworkStream(socket, ownsSocket: true);
                string answer = await HelloAsync(stream, "data", stop).ConfigureAwait(false);
                if (answer != "OK")
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                    socket = null;
                    await Task.Delay(backoff, stop).ConfigureAwait(false);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
                    continue;
                }

                backoff = TimeSpan.FromMilliseconds(250);
                int read = await stream.ReadAsync(first, stop).ConfigureAwait(false);
                if (read == 0)
                {
                    await stream.DisposeAsync().ConfigureAwait(false); // the agent dropped an idle connection
                    socket = null;
                    continue;
                }

                byte[] opening = first[..read];
                _ = RelayAsync(stream, opening);
                socket = null;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                socket?.Dispose();
                return;
            }
            catch (Exception e) when (ConnectionErrors.IsExpected(e))
            {
                socket?.Dispose();
                try
                {
                    await Task.Delay(backoff, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }

    /// <summary>Byte-for-byte relay between a used data connection and --to (the CLI never decrypts); half-closes are passed on.</summary>
    private async Task RelayAsync(NetworkStream agent, byte[] opening)
    {
        await using (agent.ConfigureAwait(false))
        {
            Config.Endpoints.TryParseHostPort(options.To, out string host, out int port);
            using var local = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await local.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                Say($"switchyard: cannot reach --to {options.To}: {InterceptCommand.Innermost(e)}");
                agent.Socket.LingerState = new LingerOption(true, 0);
                return;
            }

            await using var app = new NetworkStream(local, ownsSocket: false);
            try
            {
                await app.WriteAsync(opening).ConfigureAwait(false);
                Task up = PumpAsync(agent, app, local);
                Task down = PumpAsync(app, agent, agent.Socket);
                await Task.WhenAll(up, down).ConfigureAwait(false);
            }
            catch (Exception e) when (ConnectionErrors.IsExpected(e))
            {
                // Either side reset: both are closed below.
            }
        }
    }

    private static async Task PumpAsync(NetworkStream from, NetworkStream to, Socket toSocket)
    {
        try
        {
            await from.CopyToAsync(to).ConfigureAwait(false);
            toSocket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            from.Socket.Close(0);
            toSocket.Close(0);
        }
    }

    private async Task<Socket> ConnectAsync(CancellationToken stop)
    {
        Config.Endpoints.TryParseHostPort(tunnel, out string host, out int port);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the hello and reads the agent's one-line answer byte by byte (nothing after it is consumed).</summary>
    private async Task<string> HelloAsync(NetworkStream stream, string role, CancellationToken stop)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{Upstream.Tunnel.TunnelHello.Magic} {role} {options.Id} {token ?? "-"}\n"), stop).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var line = new StringBuilder();
        var one = new byte[1];
        while (line.Length < 1024)
        {
            if (await stream.ReadAsync(one, timeout.Token).ConfigureAwait(false) == 0)
            {
                throw new IOException("the agent closed the tunnel connection before answering");
            }

            if (one[0] == (byte)'\n')
            {
                return line.ToString();
            }

            line.Append((char)one[0]);
        }

        throw new IOException("the agent's answer is too long");
    }

    private void Fatal(string message, CancellationTokenSource fatal)
    {
        lock (_console)
        {
            Console.Error.WriteLine("switchyard: " + message);
        }

        _exitCode = 2;
        fatal.Cancel();
    }

    private void Say(string line)
    {
        lock (_console)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
