using System.Diagnostics;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Lifecycle;

/// <summary>SIGTERM: stop accepting, let open connections finish up to --drain-timeout, exit 0.</summary>
[Collection(HeavyCollection.Name)]
public sealed class SigtermDrainTests(ITestOutputHelper output)
{
    private static async Task<(AgentProcess Agent, int Listen)> StartEchoAgentAsync(
        ITestOutputHelper output, TempDir dir, TcpTestServer echo, string drainTimeout)
    {
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("slow", listen, echo.Port, "never");
        port["tls"] = "off";
        port["http"] = "none";
        var agent = await AgentProcess.StartAsync(
            output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port), ["--drain-timeout", drainTimeout]);
        return (agent, listen);
    }

    [Fact]
    public async Task SigtermLetsAnOpenTransferFinishByteExactRefusesNewConnectionsAndExitsZero()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var (agentProcess, listen) = await StartEchoAgentAsync(output, dir, echo, "20s");
        await using var agent = agentProcess;

        using var cts = new CancellationTokenSource(Timeouts.Long);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reading = Payload.ReadToEndAsync(stream, cts.Token);

        var random = new Random(77);
        var hash = new XxHash128();
        var chunk = new byte[32 * 1024];
        long sent = 0;
        Task? refused = null;
        Task<string?>? draining = null;
        for (var i = 0; i < 40; i++)
        {
            random.NextBytes(chunk);
            hash.Append(chunk);
            await stream.WriteAsync(chunk, cts.Token);
            sent += chunk.Length;
            if (i == 5)
            {
                agent.SendSigterm();
                refused = WaitUntilConnectionsAreRefusedAsync(listen);
                draining = ObserveDrainingAsync(agent);
            }

            await Task.Delay(100, cts.Token);
        }

        await refused!.WaitAsync(Timeouts.Short);
        var drainingProblem = await draining!.WaitAsync(Timeouts.Short);
        Assert.False(agent.HasExited, $"the agent exited while a connection was still open\n{agent.Dump()}");
        socket.Shutdown(SocketShutdown.Send);
        var received = await reading.WaitAsync(Timeouts.Short);

        Assert.Equal(new Digest(sent, hash.GetCurrentHashAsUInt128()), received);
        Assert.Equal(0, await agent.WaitForExitAsync(Timeouts.Short));

        // Checked last so a failure here does not hide the outcome of the transfer and the exit code.
        Assert.True(drainingProblem is null, drainingProblem);
    }

    [Fact]
    public async Task SigtermOnAnIdleAgentExitsZeroPromptly()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var (agentProcess, _) = await StartEchoAgentAsync(output, dir, echo, "20s");
        await using var agent = agentProcess;

        var clock = Stopwatch.StartNew();
        agent.SendSigterm();
        var code = await agent.WaitForExitAsync(Timeouts.Short);

        Assert.Equal(0, code);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"an idle agent took {clock.Elapsed} to exit\n{agent.Dump()}");
    }

    [Fact]
    public async Task ConnectionOutlastingTheDrainTimeoutIsClosedAndTheAgentStillExitsZero()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var (agentProcess, listen) = await StartEchoAgentAsync(output, dir, echo, "1s");
        await using var agent = agentProcess;

        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync("ping"u8.ToArray(), cts.Token);
        var echoed = new byte[4];
        await stream.ReadExactlyAsync(echoed, cts.Token);
        Assert.Equal("ping"u8.ToArray(), echoed);

        var clock = Stopwatch.StartNew();
        agent.SendSigterm();
        var code = await agent.WaitForExitAsync(Timeouts.Short);
        var elapsed = clock.Elapsed;

        Assert.Equal(0, code);
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(700), $"the agent should wait for the open connection up to the drain timeout; exited after {elapsed}");
        Assert.True(elapsed < TimeSpan.FromSeconds(8), $"the 1s drain timeout was not enforced; exited after {elapsed}");
        int read;
        try
        {
            read = await stream.ReadAsync(new byte[16], cts.Token);
        }
        catch (IOException)
        {
            read = 0;
        }

        Assert.Equal(0, read);
    }

    private static async Task WaitUntilConnectionsAreRefusedAsync(int port)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        var accepted = 0;
        while (DateTime.UtcNow < deadline)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
                accepted++;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // Caught in the listen backlog while the listener was closing; not yet a clean refusal: poll again.
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException($"the agent still accepted new connections 5s after SIGTERM ({accepted} accepted)");
    }

    /// <summary>
    /// While draining, GET /readyz must answer 503 and /v1/status must say draining=true, ready=false.
    /// Returns null when seen within 5 s, else what was seen instead.
    /// </summary>
    private static async Task<string?> ObserveDrainingAsync(AgentProcess agent)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var (status, body, _) = await agent.GetAsync("/readyz");
                last = $"/readyz answered {(int)status} {body.Trim()}";
                if (status == HttpStatusCode.ServiceUnavailable)
                {
                    var statusJson = await agent.GetStatusAsync();
                    return statusJson["draining"]?.GetValue<bool>() == true && statusJson["ready"]?.GetValue<bool>() == false
                        ? null
                        : $"/readyz answered 503 but /v1/status while draining was {statusJson.ToJsonString()}";
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                last = $"admin request failed: {e.GetType().Name}: {e.Message}";
            }

            await Task.Delay(100);
        }

        return $"/readyz did not answer 503 within 5 s of SIGTERM while a connection was draining (last: {last})";
    }
}
