using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Version translation: HTTP/2 streams delivered to a developer server that only speaks HTTP/1.1 (TLS without h2 in
/// ALPN, or plaintext found by the agent's h2c probe), and HTTP/1.1 callers in front of an app that only speaks h2c.
/// Methods, paths, headers, request and response bodies survive the translation.
/// </summary>
public sealed class ProtocolTranslationTests(ITestOutputHelper output)
{
    /// <summary>A plaintext port that takes HTTP/1.1 and h2c callers (http: auto) in front of the h2c-only app.</summary>
    private static void Http1CallersAccepted(System.Text.Json.Nodes.JsonObject port, PemSet pem)
    {
        port.Remove("appProtocol");
        port["tls"] = "off";
        port["http"] = "auto";
    }

    private static readonly string LargeText = string.Concat(Enumerable.Range(0, 12_000).Select(i => $"line {i};"));

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task Http2StreamsReachAnHttp11OnlyDeveloperWithBodiesIntact(FrontTransport transport)
    {
        await using var rig = await Http2Rig.StartAsync(output, transport, developer: o => o with { Protocols = HttpProtocols.Http1 });
        using var caller = rig.Front.NewCaller();

        var get = await caller.GetAsync("/api/items?q=1", "alice");
        var post = await caller.SendAsync(HttpMethod.Post, "/api/items", "alice", LargeText);
        var empty = await caller.SendAsync(HttpMethod.Put, "/api/empty", "alice", "");
        var toApp = await caller.SendAsync(HttpMethod.Post, "/api/items", null, "to the app");

        Assert.Equal(HttpStatusCode.OK, get.Status);
        Assert.Equal(HttpVersion.Version20, get.Version);
        Assert.StartsWith("app=alice-laptop\nmethod=GET\npath=/api/items?q=1\n", get.Body, StringComparison.Ordinal);
        Assert.Equal("HTTP/1.1", get.Echo("protocol"));

        // The developer echoes the ~120 KB body back: the request and the response both crossed the translation.
        Assert.Equal(HttpStatusCode.OK, post.Status);
        Assert.Equal("alice-laptop", post.Echo("app"));
        Assert.Equal("HTTP/1.1", post.Echo("protocol"));
        Assert.Equal(LargeText, post.Echo("body"));

        Assert.Equal("PUT", empty.Echo("method"));
        Assert.Equal("", empty.Echo("body"));

        Assert.Equal("the-app", toApp.Echo("app"));
        Assert.Equal("HTTP/2", toApp.Echo("protocol"));
        Assert.Equal("to the app", toApp.Echo("body"));
        Assert.Equal(1, caller.Connections);
    }

    [Theory]
    [InlineData("auto", "HTTP/2")]
    [InlineData("http1", "HTTP/1.1")]
    [InlineData("http2", "HTTP/2")]
    public async Task DeliveryHttpChoosesTheVersionSpokenToADeveloperThatOffersBoth(string deliveryHttp, string expected)
    {
        // alice's server offers h2 and http/1.1 over TLS; auto follows ALPN, http1/http2 pin the version (SPEC delivery.http).
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls, alice: r => r with { DeliveryHttp = deliveryHttp });
        using var caller = rig.Front.NewCaller();

        var response = await caller.SendAsync(HttpMethod.Post, "/api/pinned", "alice", "pinned-body");

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("alice-laptop", response.Echo("app"));
        Assert.Equal(expected, response.Echo("protocol"));
        Assert.Equal("pinned-body", response.Echo("body"));
    }

    [Fact]
    public async Task Http11CallersInFrontOfAnH2cOnlyAppAreTranslatedToHttp2()
    {
        // The app speaks h2c only; the port is http: auto (appProtocol h2c would declare it HTTP/2-only, where an
        // HTTP/1.1 caller is a bad connection preface), so the agent's probe finds the h2c app.
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.H2c, configurePort: Http1CallersAccepted);
        string file = rig.Front.Dir.File("large.txt");
        await File.WriteAllTextAsync(file, LargeText);

        var toApp = await rig.Front.CurlH1Async("/orders?x=1", "-H", "x-test: kept", "--data-binary", "@" + file);
        var bodiless = await rig.Front.CurlH1Async("/orders/7");
        var chunked = await rig.Front.CurlH1Async("/orders?x=2", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file);

        Assert.True(chunked.Succeeded, chunked.ToString());
        Assert.Equal(LargeText, EchoText.Field(chunked.Body, "body")); // a chunked HTTP/1.1 body becomes DATA frames
        Assert.True(toApp.Succeeded, toApp.ToString());
        Assert.Equal("1.1", toApp.HttpVersion);
        Assert.StartsWith("app=the-app\nmethod=POST\npath=/orders?x=1\nx-test=kept\nprotocol=HTTP/2\n", toApp.Body, StringComparison.Ordinal);
        Assert.Equal(LargeText, EchoText.Field(toApp.Body, "body"));
        Assert.True(bodiless.Succeeded, bodiless.ToString());
        Assert.StartsWith("app=the-app\nmethod=GET\npath=/orders/7\nx-test=\nprotocol=HTTP/2\n", bodiless.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http11CallersAreTranslatedForAnH2cOnlyDeveloperFoundByTheProbe()
    {
        // alice's server speaks h2c only; delivery.http is left at auto, so the agent must probe it (SPEC).
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.H2c, configurePort: Http1CallersAccepted);

        var toDeveloper = await rig.Front.CurlH1Async("/api/orders", "-H", "x-dev: alice", "--data-binary", "dev-order");

        Assert.True(toDeveloper.Succeeded, toDeveloper.ToString());
        Assert.Equal("1.1", toDeveloper.HttpVersion);
        Assert.StartsWith("app=alice-laptop\nmethod=POST\npath=/api/orders\n", toDeveloper.Body, StringComparison.Ordinal);
        Assert.Equal("HTTP/2", EchoText.Field(toDeveloper.Body, "protocol"));
        Assert.Equal("dev-order", EchoText.Field(toDeveloper.Body, "body"));
    }

    [Fact]
    public async Task AKeepAliveHttp11CallerIsTranslatedRequestByRequest()
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.H2c, configurePort: Http1CallersAccepted);
        int connections = 0;
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = 1,
            ConnectCallback = async (_, ct) =>
            {
                Interlocked.Increment(ref connections);
                return new System.Net.Sockets.NetworkStream(await TlsClient.ConnectAsync(rig.Front.Listen, ct), ownsSocket: true);
            },
        };
        using var client = new HttpClient(handler) { Timeout = Timeouts.Short };

        for (int i = 0; i < 6; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{rig.Front.Listen}/seq/{i}")
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new StringContent($"body-{i}"),
            };
            if (i % 2 == 1)
            {
                request.Headers.Add("x-dev", "alice");
            }

            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(HttpVersion.Version11, response.Version);
            Assert.Equal(i % 2 == 1 ? "alice-laptop" : "the-app", EchoText.Field(body, "app"));
            Assert.Equal("HTTP/2", EchoText.Field(body, "protocol"));
            Assert.Equal($"body-{i}", EchoText.Field(body, "body"));
        }

        Assert.Equal(1, connections);
    }
}
