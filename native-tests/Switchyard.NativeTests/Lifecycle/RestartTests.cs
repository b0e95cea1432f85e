using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Lifecycle;

/// <summary>
/// A restarted sidecar (container restart in the same pod network namespace) must bind its ports again at
/// once, even while connections the previous process closed first are still in TIME_WAIT on those ports.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class RestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AgentRestartedOnTheSamePortsStartsWhileTheOldConnectionsAreInTimeWait()
    {
        using var dir = new TempDir();
        // The app says goodbye and closes; the agent passes the close on first, so when the caller closes too
        // the agent's end of the connection (local port = the listen port) goes to TIME_WAIT.
        await using var app = TcpTestServer.Start(async (socket, ct) =>
        {
            await socket.SendAsync("bye\n"u8.ToArray(), SocketFlags.None, ct);
            socket.Shutdown(SocketShutdown.Send);
            var drain = new byte[256];
            while (await socket.ReceiveAsync(drain, SocketFlags.None, ct) > 0)
            {
            }
        });
        var listen = Ports.GetFreeTcpPort();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", listen, app.Port, "never"));

        await using (var first = await AgentProcess.StartAsync(output, dir, config))
        {
            var greeting = await ReadUntilServerClosesAsync(listen);
            Assert.Equal("bye\n", greeting);
            await first.WaitForStatusAsync(
                s => AgentProcess.PortStatus(s, "web")["connections"]!["active"]!.GetValue<long>() == 0
                     && AgentProcess.PortStatus(s, "web")["connections"]!["total"]!.GetValue<long>() >= 1,
                "the connection finished");
            first.SendSigterm();
            Assert.Equal(0, await first.WaitForExitAsync(Timeouts.Short));
        }

        Assert.True(HasTimeWaitOnLocalPort(listen),
            $"precondition: a TIME_WAIT socket on local port {listen} after the agent closed first\n{File.ReadAllText("/proc/net/tcp")}");

        using var secondDir = new TempDir();
        await using var second = await AgentProcess.StartAsync(output, secondDir, config);
        Assert.Equal("bye\n", await ReadUntilServerClosesAsync(listen));
    }

    private static async Task<string> ReadUntilServerClosesAsync(int port)
    {
        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = await TlsClient.ConnectAsync(port, cts.Token);
        var received = new StringBuilder();
        var buffer = new byte[256];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
        {
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return received.ToString();
    }

    /// <summary>Reads /proc/net/tcp: state 06 is TIME_WAIT; local_address is HEXIP:HEXPORT.</summary>
    private static bool HasTimeWaitOnLocalPort(int port)
    {
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(f => f.Length > 3 && f[1].EndsWith(hexPort, StringComparison.Ordinal) && f[3] == "06");
    }
}
