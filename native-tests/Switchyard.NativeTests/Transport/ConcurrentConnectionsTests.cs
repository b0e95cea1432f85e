using System.Net.Sockets;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Transport;

/// <summary>Many connections at once through one port: every one gets exactly its own bytes back.</summary>
[Collection(HeavyCollection.Name)]
public sealed class ConcurrentConnectionsTests(ITestOutputHelper output)
{
    private const int Connections = 50;
    private const int BytesEach = 256 * 1024 + 3;

    [Fact]
    public async Task FiftyConcurrentRawConnectionsEachEchoTheirOwnBytes()
    {
        using var dir = new TempDir();
        await using var echo = TcpTestServer.StartEcho();
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("echo", listen, echo.Port, "never");
        port["tls"] = "off";
        port["http"] = "none";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var cts = new CancellationTokenSource(Timeouts.Long);
        var results = await Task.WhenAll(Enumerable.Range(0, Connections).Select(async i =>
        {
            using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var reading = Payload.ReadToEndAsync(stream, cts.Token);
            var sent = await Payload.WriteAsync(stream, BytesEach, seed: i, cts.Token);
            socket.Shutdown(SocketShutdown.Send);
            return (Index: i, Sent: sent, Received: await reading);
        })).WaitAsync(Timeouts.Long);

        var wrong = results.Where(r => r.Sent != r.Received).ToList();
        Assert.True(wrong.Count == 0,
            $"{wrong.Count} of {Connections} connections got other bytes back: " +
            string.Join("; ", wrong.Select(w => $"#{w.Index} sent {w.Sent}, received {w.Received}")));
        await agent.WaitForStatusAsync(
            s => AgentProcess.PortStatus(s, "echo")["connections"]!["total"]!.GetValue<long>() == Connections
                 && AgentProcess.PortStatus(s, "echo")["connections"]!["active"]!.GetValue<long>() == 0,
            $"connections total={Connections} active=0");
    }

    [Fact]
    public async Task FiftyConcurrentTerminatedTlsConnectionsEachEchoTheirOwnBytes()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var echo = TcpTestServer.StartTlsEcho(TestPki.Shared.Server);
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("echo-tls", listen, echo.Port, "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var cts = new CancellationTokenSource(Timeouts.Long);
        var results = await Task.WhenAll(Enumerable.Range(0, Connections).Select(async i =>
        {
            using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
            await using var tls = await TlsClient.AuthenticateAsync(socket, TestPki.Shared.Ca, cancellationToken: cts.Token);
            var reading = Payload.ReadToEndAsync(tls, cts.Token);
            var sent = await Payload.WriteAsync(tls, BytesEach, seed: 1000 + i, cts.Token);
            await tls.ShutdownAsync();
            return (Index: i, Sent: sent, Received: await reading);
        })).WaitAsync(Timeouts.Long);

        var wrong = results.Where(r => r.Sent != r.Received).ToList();
        Assert.True(wrong.Count == 0,
            $"{wrong.Count} of {Connections} connections got other bytes back: " +
            string.Join("; ", wrong.Select(w => $"#{w.Index} sent {w.Sent}, received {w.Received}")));
        await agent.WaitForMetricAsync("switchyard_connections_total",
            [("port", "echo-tls"), ("path", "terminate")], v => v >= Connections, $">= {Connections}");
    }
}
