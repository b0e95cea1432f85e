using System.Net;
using System.Net.Security;
using Bogus;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tls;

/// <summary>.NET HttpClient as the caller: many generated requests over one terminating agent, HTTP/1.1 and HTTP/2.</summary>
public sealed class HttpClientThroughAgentTests(ITestOutputHelper output)
{
    private sealed record GeneratedRequest(string Method, string Path, string Header, string Body);

    private static List<GeneratedRequest> Generate(int seed, int count)
    {
        var faker = new Faker<GeneratedRequest>()
            .UseSeed(seed)
            .CustomInstantiator(f => new GeneratedRequest(
                f.PickRandom("GET", "POST", "PUT", "DELETE"),
                "/" + string.Join('/', f.Lorem.Words(f.Random.Int(1, 4))) + "?id=" + f.Random.AlphaNumeric(8),
                f.Random.AlphaNumeric(f.Random.Int(1, 200)),
                f.Lorem.Sentence(f.Random.Int(1, 40))));
        return faker.Generate(count);
    }

    [Theory]
    [InlineData("1.1", 11)]
    [InlineData("2.0", 22)]
    public async Task GeneratedRequestsAllArriveIntactAtTheApp(string httpVersion, int seed)
    {
        await using var env = await ProxiedApp.StartAsync(
            output,
            new KestrelAppOptions { Certificate = TestPki.Shared.Server },
            inspect: "always",
            (port, pem) =>
            {
                port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
                port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            });

        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (_, ct) => new System.Net.Sockets.NetworkStream(await TlsClient.ConnectAsync(env.ListenPort, ct), ownsSocket: true),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca),
            },
        };
        using var client = new HttpClient(handler) { Timeout = Timeouts.Short };

        foreach (var request in Generate(seed, 25))
        {
            using var message = new HttpRequestMessage(new HttpMethod(request.Method), $"https://localhost:{env.ListenPort}{request.Path}")
            {
                Version = Version.Parse(httpVersion),
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            message.Headers.Add("x-test", request.Header);
            if (request.Method is "POST" or "PUT")
            {
                message.Content = new StringContent(request.Body);
            }

            using var response = await client.SendAsync(message);
            var body = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{request} -> {(int)response.StatusCode}\n{body}");
            Assert.Equal(Version.Parse(httpVersion), response.Version);
            Assert.Contains($"method={request.Method}\n", body, StringComparison.Ordinal);
            Assert.Contains($"path={request.Path}\n", body, StringComparison.Ordinal);
            Assert.Contains($"x-test={request.Header}\n", body, StringComparison.Ordinal);
            Assert.Contains($"protocol=HTTP/{(httpVersion == "2.0" ? "2" : "1.1")}\n", body, StringComparison.Ordinal);
            if (message.Content is not null)
            {
                Assert.Contains($"body={request.Body}\n", body, StringComparison.Ordinal);
            }
        }
    }
}
