using System.Net.Sockets;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Transport;

/// <summary>
/// 64 MiB each way through the agent, hashed with XxHash128 at both ends: the client sends, half-closes and
/// reads; the server reads to the end, then answers with its own seeded 64 MiB and closes.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class LargeTransferTests(ITestOutputHelper output)
{
    private const int ClientSeed = 1001;
    private const int ServerSeed = 2002;

    [Fact]
    public async Task RawPathCarries64MiBEachWayOfPlainTcpByteExact()
    {
        using var dir = new TempDir();
        await using var server = BulkServer.StartPlain(Payload.SixtyFourMiB, ServerSeed);
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("bulk", listen, server.Port, "never");
        port["tls"] = "off";
        port["http"] = "none";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var cts = new CancellationTokenSource(Timeouts.Long);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reading = Payload.ReadToEndAsync(stream, cts.Token);
        var sent = await Payload.WriteAsync(stream, Payload.SixtyFourMiB, ClientSeed, cts.Token);
        socket.Shutdown(SocketShutdown.Send);
        var received = await reading.WaitAsync(Timeouts.Long);
        var exchange = await server.WaitForExchangeAsync(Payload.SixtyFourMiB, Timeouts.Short);

        AssertExchange(sent, received, exchange);
        await agent.WaitForMetricAsync("switchyard_bytes_total",
            [("port", "bulk"), ("direction", "downstream_to_app")], v => v >= Payload.SixtyFourMiB, ">= 64 MiB");
        await agent.WaitForMetricAsync("switchyard_bytes_total",
            [("port", "bulk"), ("direction", "app_to_downstream")], v => v >= Payload.SixtyFourMiB, ">= 64 MiB");
    }

    [Fact]
    public async Task RawPathCarries64MiBEachWayOfTlsItNeverDecrypts()
    {
        using var dir = new TempDir();
        var pki = TestPki.Shared;
        await using var server = BulkServer.StartTls(Payload.SixtyFourMiB, ServerSeed, pki.Server);
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("https", listen, server.Port, "never");
        port["http"] = "none";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var cts = new CancellationTokenSource(Timeouts.Long);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var tls = await TlsClient.AuthenticateAsync(socket, pki.Ca, cancellationToken: cts.Token);
        var reading = Payload.ReadToEndAsync(tls, cts.Token);
        var sent = await Payload.WriteAsync(tls, Payload.SixtyFourMiB, ClientSeed, cts.Token);
        await tls.ShutdownAsync();
        socket.Shutdown(SocketShutdown.Send);
        var received = await reading.WaitAsync(Timeouts.Long);
        var exchange = await server.WaitForExchangeAsync(Payload.SixtyFourMiB, Timeouts.Short);

        AssertExchange(sent, received, exchange);
        await agent.WaitForMetricAsync("switchyard_connections_total",
            [("port", "https"), ("path", "raw")], v => v >= 1, ">= 1");
    }

    [Fact]
    public async Task TerminatePathCarries64MiBEachWayThroughBothTlsHops()
    {
        using var dir = new TempDir();
        var pki = TestPki.Shared;
        var pem = PemSet.Write(dir.Path);
        await using var server = BulkServer.StartTls(Payload.SixtyFourMiB, ServerSeed, pki.Server);
        var listen = Ports.GetFreeTcpPort();
        // http stays "auto": a port declared "http": "none" has nothing to inspect and is forwarded raw even
        // with inspect always, and this test is about the terminating relay.
        var port = AgentConfig.Port("bulk-tls", listen, server.Port, "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var cts = new CancellationTokenSource(Timeouts.Long);
        using var socket = await TlsClient.ConnectAsync(listen, cts.Token);
        await using var tls = await TlsClient.AuthenticateAsync(socket, pki.Ca, cancellationToken: cts.Token);
        var reading = Payload.ReadToEndAsync(tls, cts.Token);
        var sent = await Payload.WriteAsync(tls, Payload.SixtyFourMiB, ClientSeed, cts.Token);
        await tls.ShutdownAsync();
        var received = await reading.WaitAsync(Timeouts.Long);
        var exchange = await server.WaitForExchangeAsync(Payload.SixtyFourMiB, Timeouts.Short);

        AssertExchange(sent, received, exchange);
        await agent.WaitForMetricAsync("switchyard_connections_total",
            [("port", "bulk-tls"), ("path", "terminate")], v => v >= 1, ">= 1");
    }

    private static void AssertExchange(Digest sent, Digest received, BulkExchange exchange)
    {
        Assert.Equal(Payload.SixtyFourMiB, sent.Length);
        Assert.Equal(sent, exchange.Received);
        Assert.Equal(Payload.Expected(Payload.SixtyFourMiB, ServerSeed), exchange.Sent);
        Assert.Equal(exchange.Sent, received);
    }
}
