using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Upstream.Tunnel;

namespace Switchyard.Tests.Upstream.Tunnel;

/// <summary>The tunnel checks the admin token in force at each hello, so a reloaded token file applies to the next connection.</summary>
public sealed class TunnelServerTokenTests
{
    private static async Task<string> HelloAsync(IPEndPoint tunnel, string token)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(tunnel);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"SWITCHYARD-TUNNEL/1 data alice {token}\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return await reader.ReadLineAsync(timeout.Token) ?? "<closed>";
    }

    [Fact]
    public async Task A_changed_token_applies_to_the_next_hello()
    {
        string? token = "first-secret";
        var registry = new TunnelRegistry(id => id == "alice", _ => { }, NullLogger.Instance);
        using var server = new TunnelServer(new IPEndPoint(IPAddress.Loopback, 0), () => token, registry, NullLogger.Instance);
        server.Start();

        Assert.Equal("OK", await HelloAsync(server.LocalEndPoint!, "first-secret"));

        token = "second-secret"; // what a config reload with a rewritten admin.tokenFile does
        Assert.StartsWith("ERR unauthorized", await HelloAsync(server.LocalEndPoint!, "first-secret"), StringComparison.Ordinal);
        Assert.Equal("OK", await HelloAsync(server.LocalEndPoint!, "second-secret"));
    }
}

/// <summary>A tunnel open to the network without a token is allowed (the contract's example config has one) but warned about.</summary>
public sealed class TunnelFactoryTests
{
    private static Switchyard.Config.AgentSettings Settings(string tunnel, string? token) =>
        new("c.json", "0", new IPEndPoint(IPAddress.Loopback, 9901), token, [], []) { TunnelListen = IPEndPoint.Parse(tunnel) };

    [Theory]
    [InlineData("0.0.0.0:9902", null, true)]
    [InlineData("0.0.0.0:9902", "secret", false)]
    [InlineData("127.0.0.1:9902", null, false)]
    public void A_non_loopback_tunnel_without_a_token_is_warned_about(string tunnel, string? token, bool warned)
    {
        var loggers = new Switchyard.Tests.TestSupport.CapturingLoggerFactory();

        using TunnelServer? server = TunnelFactory.Create(Settings(tunnel, token), () => token, _ => true, _ => { }, loggers);

        Assert.NotNull(server);
        Assert.Equal(warned, loggers.Logger.Messages(8008).Any());
    }
}
