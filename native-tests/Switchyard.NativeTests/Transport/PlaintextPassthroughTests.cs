using System.Net.Sockets;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Transport;

/// <summary>Plaintext ports with inspect never/auto: bytes are forwarded as they are.</summary>
public sealed class PlaintextPassthroughTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("never")]
    [InlineData("auto")]
    public async Task CurlOverPlainHttpReachesThePlaintextApp(string inspect)
    {
        await using var env = await ProxiedApp.StartAsync(
            output, new KestrelAppOptions { Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1 }, inspect);

        var result = await Curl.HttpAsync(env.ListenPort, "/plain?inspect=" + inspect, "-H", "x-test: plain", "--data-binary", "hello");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("method=POST\n", result.Body, StringComparison.Ordinal);
        Assert.Contains($"path=/plain?inspect={inspect}\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("x-test=plain\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("scheme=http\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("body=hello\n", result.Body, StringComparison.Ordinal);
        await env.Agent.WaitForMetricAsync("switchyard_connections_total",
            [("port", "web"), ("path", "raw")], v => v >= 1, ">= 1");
    }

    [Theory]
    [InlineData("never")]
    [InlineData("auto")]
    public async Task RawTcpEchoRoundTripsEveryByteAndTheHalfClose(string inspect)
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var listen = Ports.GetFreeTcpPort();
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("echo", listen, echo.Port, inspect));
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reading = Payload.ReadToEndAsync(stream, cts.Token);
        var sent = await Payload.WriteAsync(stream, 1024 * 1024 + 17, seed: 42, cts.Token);
        socket.Shutdown(SocketShutdown.Send);
        var received = await reading.WaitAsync(Timeouts.Short);

        Assert.Equal(sent, received);
        await agent.WaitForMetricAsync("switchyard_bytes_total",
            [("port", "echo"), ("direction", "downstream_to_app")], v => v >= sent.Length, $">= {sent.Length}");
        await agent.WaitForMetricAsync("switchyard_bytes_total",
            [("port", "echo"), ("direction", "app_to_downstream")], v => v >= sent.Length, $">= {sent.Length}");
    }

    [Fact]
    public async Task ConnectionToAnUnreachableAppIsClosedAndCountedAsAppUnreachable()
    {
        using var dir = new TempDir();
        var listen = Ports.GetFreeTcpPort();
        var closedAppPort = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("down", listen, closedAppPort, "never");
        port["tls"] = "off";
        port["http"] = "none";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var buffer = new byte[16];
        int read;
        try
        {
            await stream.WriteAsync("hello"u8.ToArray(), cts.Token);
            read = await stream.ReadAsync(buffer, cts.Token);
        }
        catch (IOException)
        {
            read = 0;
        }

        Assert.Equal(0, read);
        await agent.WaitForMetricAsync("switchyard_connection_ends_total",
            [("port", "down"), ("reason", "app_unreachable")], v => v >= 1, ">= 1");
    }
}
