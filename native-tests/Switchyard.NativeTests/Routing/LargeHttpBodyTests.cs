using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>64 MiB request and response bodies through the HTTP/1 path, byte-exact (XxHash128 on both ends).</summary>
[Collection(HeavyCollection.Name)]
public sealed class LargeHttpBodyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SixtyFourMiBEachWayArriveByteExact(bool chunkedRequest)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = TestPki.Shared.Server }));
        });
        await using var app = builder.Build();
        app.Run(async context =>
        {
            // The app hashes what it received, then answers with 64 MiB of its own (seed 2).
            var received = await Payload.ReadToEndAsync(context.Request.Body, context.RequestAborted);
            context.Response.Headers["x-received"] = received.ToString();
            context.Response.ContentLength = Payload.SixtyFourMiB;
            await Payload.WriteAsync(context.Response.Body, Payload.SixtyFourMiB, seed: 2, context.RequestAborted);
        });
        await app.StartAsync();

        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, new Uri(app.Urls.First()).Port, "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        using var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca) },
            ConnectCallback = async (_, ct) => new System.Net.Sockets.NetworkStream(await TlsClient.ConnectAsync(listen, ct), ownsSocket: true),
        }) { Timeout = Timeouts.Long };

        Digest expectedUp = Payload.Expected(Payload.SixtyFourMiB, seed: 1);
        var content = new StreamingContent(Payload.SixtyFourMiB, seed: 1, chunkedRequest);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"https://localhost:{listen}/bulk") { Content = content };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        Digest down = await Payload.ReadToEndAsync(body, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expectedUp.ToString(), response.Headers.GetValues("x-received").Single());
        Assert.Equal(Payload.Expected(Payload.SixtyFourMiB, seed: 2), down);
    }

    private sealed class StreamingContent(long length, int seed, bool chunked) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            Payload.WriteAsync(stream, length, seed, CancellationToken.None);

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            return !chunked; // no length: HttpClient sends Transfer-Encoding: chunked
        }
    }
}
