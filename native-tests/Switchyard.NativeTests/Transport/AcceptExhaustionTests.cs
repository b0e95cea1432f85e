using System.Net.Sockets;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Transport;

/// <summary>
/// Out of file descriptors: accept fails with EMFILE while the connection stays queued. The listener must back off
/// (not spin a core retrying), say so once, count it, and recover by itself once descriptors are free again.
/// </summary>
public sealed class AcceptExhaustionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_listener_out_of_file_descriptors_backs_off_and_recovers_by_itself()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var listen = Ports.GetFreeTcpPort();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("echo", listen, echo.Port, "never"));
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        // Leave the agent a few descriptors: every held connection takes one (and its app connection another).
        int open = Directory.GetFiles($"/proc/{agent.Pid}/fd").Length;
        var prlimit = await ProcessRunner.RunAsync("prlimit", ["--pid", agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), $"--nofile={open + 10}:{open + 10}"], timeout: Timeouts.Short);
        Assert.True(prlimit.ExitCode == 0, prlimit.ToString());

        var held = new List<Socket>();
        try
        {
            for (int i = 0; i < 40; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, listen); // the kernel queue takes it either way
                held.Add(socket);
            }

            AgentLogEntry line = await agent.WaitForLogAsync(e => e.Message.Contains("accept failing", StringComparison.Ordinal), "an accept-failing warning");
            Assert.Contains("TooManyOpenSockets", line.Message, StringComparison.Ordinal);
        }
        finally
        {
            foreach (Socket s in held)
            {
                s.Dispose();
            }
        }

        // Recovery by itself: the queued connections are accepted (and end), the admin listener answers again.
        await agent.WaitReadyAsync();
        double errors = await agent.WaitForMetricAsync("switchyard_accept_errors_total",
            [("port", "echo"), ("error", "TooManyOpenSockets")], v => v >= 1, ">= 1");

        // A loop that retried at once would have failed hundreds of thousands of times in that second; backing off
        // from 5 ms to 1 s, it fails a few dozen times at most.
        Assert.InRange(errors, 1, 200);
        Assert.InRange(agent.Logs.Count(e => e.Message.Contains("accept failing", StringComparison.Ordinal)), 1, 2); // once per 10 s

        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var client = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var stream = new NetworkStream(client, ownsSocket: false);
        await stream.WriteAsync("ping\n"u8.ToArray(), cts.Token);
        var buffer = new byte[5];
        await stream.ReadExactlyAsync(buffer, cts.Token);
        Assert.Equal("ping\n"u8.ToArray(), buffer);
    }
}
