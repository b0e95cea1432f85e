using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>A WebSocket upgrade is routed with its request; after 101 the connection is a tunnel to that destination.</summary>
public sealed class WebSocketUpgradeTests(ITestOutputHelper output)
{
    private static async Task<WebApplication> StartEchoSocketServerAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = TestPki.Shared.Server })));
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[4096];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }

                var reply = Encoding.UTF8.GetBytes($"{name}:{Encoding.UTF8.GetString(buffer, 0, received.Count)}");
                await socket.SendAsync(reply, WebSocketMessageType.Text, true, CancellationToken.None);
            }
        });
        await app.StartAsync();
        return app;
    }

    [Theory]
    [InlineData(null, "the-app")]
    [InlineData("alice", "alice-laptop")]
    public async Task TheUpgradeGoesWhereItsRequestIsRoutedAndCarriesMessagesBothWays(string? dev, string expected)
    {
        await using var app = await StartEchoSocketServerAsync("the-app");
        await using var developer = await StartEchoSocketServerAsync("alice-laptop");
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, new Uri(app.Urls.First()).Port, "auto");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(new JsonObject
        {
            ["id"] = "alice",
            ["port"] = "web",
            ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
            ["target"] = $"127.0.0.1:{new Uri(developer.Urls.First()).Port}",
        });
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        using var client = new ClientWebSocket();
        client.Options.HttpVersion = System.Net.HttpVersion.Version11;
        if (dev is not null)
        {
            client.Options.SetRequestHeader("x-dev", dev);
        }

        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca) },
            ConnectCallback = async (_, ct) => new System.Net.Sockets.NetworkStream(await TlsClient.ConnectAsync(listen, ct), ownsSocket: true),
        });
        await client.ConnectAsync(new Uri($"wss://localhost:{listen}/ws"), invoker, cts.Token);

        var buffer = new byte[4096];
        foreach (var message in new[] { "one", "two", new string('x', 3000) })
        {
            await client.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, cts.Token);
            var received = await client.ReceiveAsync(buffer, cts.Token);
            Assert.Equal($"{expected}:{message}", Encoding.UTF8.GetString(buffer, 0, received.Count));
        }

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }
}
