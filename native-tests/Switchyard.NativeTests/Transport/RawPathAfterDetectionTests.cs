using System.Net.Sockets;
using System.Text;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Transport;

/// <summary>
/// The raw path once the port's protocol is known (the first connection usually races the probe, so these
/// tests wait for detection first), graceful closes on the admin listener, and a port already in use.
/// </summary>
public sealed class RawPathAfterDetectionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("never")]
    [InlineData("auto")]
    public async Task EveryConnectionAfterDetectionRoundTripsItsBytes(string inspect)
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var listen = Ports.GetFreeTcpPort();
        await using var agent = await AgentProcess.StartAsync(output, dir,
            AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("echo", listen, echo.Port, inspect)));

        await EchoAsync(listen, 1000, seed: 1); // triggers the probe
        await agent.WaitForStatusAsync(s => AgentProcess.PortStatus(s, "echo")["detected"]?["tls"]?.GetValue<bool>() == false, "echo port detected as plaintext");

        for (int i = 0; i < 5; i++)
        {
            await EchoAsync(listen, 64 * 1024 + i, seed: 10 + i);
        }

        await agent.WaitForMetricAsync("switchyard_connection_ends_total", [("port", "echo"), ("reason", "completed")], v => v >= 6, ">= 6");
        Assert.DoesNotContain(agent.Logs, l => l.LogLevel is "Error" or "Critical");
    }

    [Fact]
    public async Task ATlsClientOnAKnownPlaintextRawPortIsCountedAsAMismatchAndStillForwarded()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("plain", listen, echo.Port, "never");
        port["tls"] = "off";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        // A TLS record header (handshake, TLS 1.0 record version) is all it takes to look like a ClientHello.
        byte[] hello = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await socket.SendAsync(hello, cts.Token);
        var echoed = new byte[hello.Length];
        int got = 0;
        while (got < echoed.Length)
        {
            int n = await socket.ReceiveAsync(echoed.AsMemory(got), cts.Token);
            Assert.True(n > 0, "the raw path closed instead of forwarding");
            got += n;
        }

        Assert.Equal(hello, echoed);
        await agent.WaitForMetricAsync("switchyard_protocol_mismatches_total", [("port", "plain"), ("reason", "tls_on_plaintext_port")], v => v == 1, "== 1");
        await agent.WaitForLogAsync(l => l.Message.Contains("TLS ClientHello arrived on a plaintext port", StringComparison.Ordinal), "the mismatch log line");
    }

    [Fact]
    public async Task AdminResponsesWithConnectionCloseArriveWholeEveryTime()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        await using var agent = await AgentProcess.StartAsync(output, dir,
            AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("echo", Ports.GetFreeTcpPort(), echo.Port)));

        for (int i = 0; i < 40; i++)
        {
            using var cts = new CancellationTokenSource(Timeouts.Short);
            using var socket = await TlsClient.ConnectAsync(agent.AdminPort, cts.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), cts.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            string response = await reader.ReadToEndAsync(cts.Token);

            Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
            int headEnd = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            string lengthLine = response[..headEnd].Split("\r\n").Single(l => l.StartsWith("Content-Length:", StringComparison.Ordinal));
            int length = int.Parse(lengthLine["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(length, Encoding.UTF8.GetByteCount(response[(headEnd + 4)..]));
            Assert.Contains("switchyard_ready 1", response, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ASecondAgentOnAPortInUseExitsWithTwoAndNamesThePathAndAddress()
    {
        using var dir = new TempDir();
        using var dir2 = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var listen = Ports.GetFreeTcpPort();
        await using var first = await AgentProcess.StartAsync(output, dir,
            AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("echo", listen, echo.Port)));

        await using var second = await AgentProcess.StartAsync(output, dir2,
            AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("echo", listen, echo.Port)), waitUntilReady: false);

        Assert.Equal(2, await second.WaitForExitAsync(Timeouts.Process));
        Assert.Contains(second.StderrLines, l => l.EndsWith($"config.json: $.ports[0].listen: 127.0.0.1:{listen} is already in use", StringComparison.Ordinal));
        Assert.False(first.HasExited);
    }

    private static async Task EchoAsync(int listen, long length, int seed)
    {
        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reading = Payload.ReadToEndAsync(stream, cts.Token);
        var sent = await Payload.WriteAsync(stream, length, seed, cts.Token);
        socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(sent, await reading.WaitAsync(Timeouts.Short));
    }
}
