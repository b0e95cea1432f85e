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
        // A port that parses HTTP: an accepted caller that sends nothing holds its descriptor (and dials nothing), so
        // the descriptors run out at accept itself.
        await using var env = await ProxiedApp.StartAsync(output, new KestrelAppOptions { Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1 }, "always");
        AgentProcess agent = env.Agent;
        int listen = env.ListenPort;

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
            [("port", "web"), ("error", "TooManyOpenSockets")], v => v >= 1, ">= 1");

        // A loop that retried at once would have failed hundreds of thousands of times in that second; backing off
        // from 5 ms to 1 s, it fails a few dozen times at most.
        Assert.InRange(errors, 1, 200);
        Assert.InRange(agent.Logs.Count(e => e.Message.Contains("accept failing", StringComparison.Ordinal)), 1, 2); // once per 10 s

        CurlResult served = await Curl.HttpAsync(listen, "/after-exhaustion");
        Assert.True(served.Succeeded, served.ToString());
        Assert.Contains("path=/after-exhaustion", served.Body, StringComparison.Ordinal);
    }
}
