using System.IO.Hashing;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>
/// SPEC.md "Body filters" with the AOT binary on a TLS port (ALPN h2 and http/1.1), HttpClient as the caller over
/// HTTP/1.1 and HTTP/2: a JSON body is routed by the value at a JSONPath; bodies that cannot be evaluated (not JSON,
/// 200 KB over maxBodyBytes, trickled past bodyTimeout) reach the app byte-exact (XxHash128 at both ends), and the
/// agent counts each result in switchyard_body_filter_total.
/// </summary>
public sealed class BodyFilterTests(ITestOutputHelper output)
{
    private sealed record Env(TempDir Dir, KestrelApp App, KestrelApp Developer, AgentProcess Agent, int Listen, PemSet Pem) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Agent.DisposeAsync();
            await App.DisposeAsync();
            await Developer.DisposeAsync();
            Dir.Dispose();
        }
    }

    /// <summary>
    /// `POST /hash` answers "NAME LENGTH XXHASH128" of the body it received; <paramref name="arrived"/>, when given, is
    /// set once the first <paramref name="part"/> body bytes are in.
    /// </summary>
    private static void HashEndpoint(IApplicationBuilder app, string name, long part = 0, TaskCompletionSource? arrived = null) => app.Map("/hash", branch => branch.Run(async context =>
    {
        var hash = new XxHash128();
        var buffer = new byte[16384];
        long total = 0;
        int n;
        if (part == 0)
        {
            arrived?.TrySetResult(); // the head is in
        }

        while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            hash.Append(buffer.AsSpan(0, n));
            total += n;
            if (total >= part)
            {
                arrived?.TrySetResult();
            }
        }

        await context.Response.WriteAsync($"{name} {total} {hash.GetCurrentHashAsUInt128():x32}");
    }));

    /// <param name="part">With <paramref name="arrived"/>: the app sets it once it has this many body bytes.</param>
    /// <param name="appProtocols">What the app speaks (HTTP/1.1 only: HTTP/2 callers' streams are translated).</param>
    private async Task<Env> StartAsync(long part = 0, TaskCompletionSource? arrived = null, HttpProtocols appProtocols = HttpProtocols.Http1AndHttp2)
    {
        var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        var app = await KestrelApp.StartAsync(new KestrelAppOptions
        {
            Certificate = TestPki.Shared.Server, Name = "the-app", Protocols = appProtocols, Pipeline = a => HashEndpoint(a, "the-app", part, arrived),
        });
        var developer = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "alice-laptop", Pipeline = a => HashEndpoint(a, "alice-laptop") });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "auto");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        port["limits"] = new JsonObject { ["bodyTimeout"] = "500ms" }; // maxBodyBytes stays 64 KiB
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(new JsonObject
        {
            ["id"] = "alice",
            ["port"] = "web",
            ["mode"] = "intercept",
            ["match"] = new JsonObject { ["all"] = new JsonArray(
                new JsonObject { ["method"] = "POST" },
                new JsonObject { ["body"] = new JsonObject { ["json"] = "$.customer.id", ["exact"] = "42" } }) },
            ["target"] = $"127.0.0.1:{developer.Port}",
            ["delivery"] = new JsonObject { ["plaintext"] = true },
        });
        var agent = await AgentProcess.StartAsync(output, dir, config);
        return new Env(dir, app, developer, agent, listen, pem);
    }

    /// <summary>Intercept alice on <paramref name="port"/>: a body whose <c>$.customer.id</c> is 42 goes to the developer.</summary>
    private static JsonObject CustomerIntercept(string port, int developerPort, bool plaintextDelivery)
    {
        var intercept = new JsonObject
        {
            ["id"] = "alice",
            ["port"] = port,
            ["match"] = new JsonObject { ["body"] = new JsonObject { ["json"] = "$.customer.id", ["exact"] = "42" } },
            ["target"] = $"127.0.0.1:{developerPort}",
        };
        if (plaintextDelivery)
        {
            intercept["delivery"] = new JsonObject { ["plaintext"] = true };
        }

        return intercept;
    }

    private static HttpClient Client(int listen, Version version) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca),
            ApplicationProtocols = version == HttpVersion.Version20 ? [SslApplicationProtocol.Http2] : [SslApplicationProtocol.Http11],
        },
        ConnectCallback = async (_, ct) => new System.Net.Sockets.NetworkStream(await TlsClient.ConnectAsync(listen, ct), ownsSocket: true),
    })
    {
        BaseAddress = new Uri($"https://localhost:{listen}"),
        DefaultRequestVersion = version,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = Timeouts.Long,
    };

    private static async Task<string> PostAsync(HttpClient client, HttpContent content)
    {
        using var response = await client.PostAsync("/hash", content);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return text;
    }

    private static string Expected(string name, byte[] body) => $"{name} {body.Length} {XxHash128.HashToUInt128(body):x32}";

    private static ByteArrayContent Json(byte[] body, bool chunked = false)
    {
        ByteArrayContent content = chunked ? new UnknownLengthContent(body) : new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    [Theory]
    [InlineData("1.1", false)]
    [InlineData("1.1", true)]
    [InlineData("2.0", false)]
    public async Task A_json_body_is_routed_by_the_value_at_its_path(string version, bool chunked)
    {
        await using var env = await StartAsync();
        using HttpClient client = Client(env.Listen, Version.Parse(version));
        byte[] hers = Encoding.UTF8.GetBytes("""{"order":7,"customer":{"name":"Ann","id":42},"lines":[{"sku":"A-1"}]}""");
        byte[] other = Encoding.UTF8.GetBytes("""{"order":8,"customer":{"name":"Bob","id":420}}""");

        Assert.Equal(Expected("alice-laptop", hers), await PostAsync(client, Json(hers, chunked)));
        Assert.Equal(Expected("the-app", other), await PostAsync(client, Json(other, chunked)));
        Assert.Equal(Expected("alice-laptop", hers), await PostAsync(client, Json(hers, chunked))); // same connection, again

        string metrics = await env.Agent.GetMetricsAsync();
        Assert.Contains("switchyard_body_filter_total{port=\"web\",intercept=\"alice\",result=\"match\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("switchyard_body_filter_total{port=\"web\",intercept=\"alice\",result=\"no_match\"} 1", metrics, StringComparison.Ordinal);
    }

    /// <summary>
    /// curl as a user runs it, over HTTP/1.1 with `Expect: 100-continue` (the agent answers 100 itself, then reads the
    /// body; curl would otherwise wait 30 s) and over HTTP/2.
    /// </summary>
    [Theory]
    [InlineData("--http1.1")]
    [InlineData("--http2")]
    public async Task Curl_posts_are_routed_by_the_json_value(string version)
    {
        await using var env = await StartAsync();
        string file = Path.Combine(env.Dir.Path, "order.json");
        await File.WriteAllTextAsync(file, """{ "customer": { "id": 42, "tier": "gold" } }""");
        string[] common = ["--cacert", env.Pem.CaCert, version, "-H", "content-type: application/json; charset=utf-8", "-H", "Expect: 100-continue", "--expect100-timeout", "30"];
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        var hers = await Curl.HttpsAsync(env.Listen, "/hash", [.. common, "--data-binary", "@" + file]);
        var other = await Curl.HttpsAsync(env.Listen, "/hash", [.. common, "--data-binary", """{"customer":{"id":"42x"}}"""]);

        Assert.True(hers.Succeeded, hers.ToString());
        Assert.Equal(Expected("alice-laptop", await File.ReadAllBytesAsync(file)), hers.Body);
        Assert.Equal(Expected("the-app", """{"customer":{"id":"42x"}}"""u8.ToArray()), other.Body);
        Assert.Equal(version == "--http2" ? "2" : "1.1", hers.HttpVersion);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}: the 100 Continue did not come");
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Bodies_that_cannot_be_evaluated_reach_the_app_byte_exact(string version)
    {
        await using var env = await StartAsync();
        using HttpClient client = Client(env.Listen, Version.Parse(version));
        var random = new Random(15);

        // Not JSON, though it says so: binary bytes.
        byte[] binary = new byte[3000];
        random.NextBytes(binary);
        Assert.Equal(Expected("the-app", binary), await PostAsync(client, Json(binary)));

        // 200 KB of JSON whose value would match: over maxBodyBytes, so it does not.
        byte[] large = Encoding.UTF8.GetBytes($$"""{"customer":{"id":42},"pad":"{{new string('x', 200_000)}}"}""");
        Assert.Equal(Expected("the-app", large), await PostAsync(client, Json(large)));

        // A matching body trickled in 8 pieces 150 ms apart: slower than bodyTimeout (500 ms), so it does not match.
        byte[] slow = Encoding.UTF8.GetBytes($$"""{"customer":{"id":42},"note":"{{new string('s', 4000)}}"}""");
        var trickle = new TrickleContent(slow, pieces: 8, TimeSpan.FromMilliseconds(150));
        trickle.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        Assert.Equal(Expected("the-app", slow), await PostAsync(client, trickle));

        string metrics = await env.Agent.GetMetricsAsync();
        Assert.Contains("switchyard_body_filter_total{port=\"web\",intercept=\"alice\",result=\"not_json\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("switchyard_body_filter_total{port=\"web\",intercept=\"alice\",result=\"too_large\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("switchyard_body_filter_total{port=\"web\",intercept=\"alice\",result=\"timeout\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("switchyard_body_filter_total{port=\"web\",intercept=\"alice\",result=\"match\"} 0", metrics, StringComparison.Ordinal);
    }

    /// <summary>A body filter through the admin API and the CLI: added, explained with a body, listed as flags.</summary>
    [Fact]
    public async Task The_admin_api_takes_explains_and_lists_a_body_filter()
    {
        await using var env = await StartAsync();
        using var admin = new HttpClient { Timeout = Timeouts.Long };
        const string bob = """{"id":"bob","port":"web","target":"127.0.0.1:1","match":{"body":{"json":"$['order id']","regex":"^B-"}}}""";
        using (var added = await admin.PostAsync(env.Agent.AdminUri("/v1/intercepts"), new StringContent(bob, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        }

        async Task<JsonNode> Explain(string json)
        {
            using var response = await admin.PostAsync(env.Agent.AdminUri("/v1/explain"), new StringContent(json, Encoding.UTF8, "application/json"));
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            return JsonNode.Parse(text)!;
        }

        JsonNode hit = await Explain("""{"method":"PUT","path":"/o","headers":{"content-type":"application/json"},"body":"{\"order id\":\"B-7\"}"}""");
        Assert.Equal("bob", hit["intercept"]!.GetValue<string>());
        JsonNode alice = await Explain("""{"method":"POST","path":"/o","headers":{"content-type":"application/json"},"body":"{\"customer\":{\"id\":42}}"}""");
        Assert.Equal("alice", alice["intercept"]!.GetValue<string>());
        JsonNode none = await Explain("""{"method":"POST","path":"/o","headers":{"content-type":"application/json"}}""");
        Assert.Equal("app", none["route"]!.GetValue<string>());
        Assert.Contains("no body given", none.ToJsonString(), StringComparison.Ordinal);

        var list = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["list", "--agent", $"127.0.0.1:{env.Agent.AdminPort}"]);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("--method POST --body-json '$.customer.id=42'", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("--body-json-regex '$['\\''order id'\\'']=^B-'", list.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Plaintext HTTP/1.1 (the socket pipes): a whole JSON body is routed by value; a matching body trickled in 8 pieces
    /// 150 ms apart is slower than bodyTimeout (300 ms), goes to the app and arrives byte-exact.
    /// </summary>
    [Fact]
    public async Task A_trickled_plaintext_body_goes_to_the_app_byte_exact()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "the-app", Pipeline = a => HashEndpoint(a, "the-app") });
        await using var developer = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "alice-laptop", Pipeline = a => HashEndpoint(a, "alice-laptop") });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("plain", listen, app.Port, "auto");
        port["limits"] = new JsonObject { ["bodyTimeout"] = "300ms" };
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(CustomerIntercept("plain", developer.Port, plaintextDelivery: false));
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        var whole = await Curl.HttpAsync(listen, "/hash", "-H", "content-type: application/json", "--data-binary", """{"customer":{"id":42}}""");
        Assert.Equal(Expected("alice-laptop", """{"customer":{"id":42}}"""u8.ToArray()), whole.Body);

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{listen}"), Timeout = Timeouts.Long };
        byte[] slow = Encoding.UTF8.GetBytes($$"""{"customer":{"id":42},"note":"{{new string('n', 3000)}}"}""");
        var trickle = new TrickleContent(slow, pieces: 8, TimeSpan.FromMilliseconds(150));
        trickle.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        Assert.Equal(Expected("the-app", slow), await PostAsync(client, trickle));

        string metrics = await agent.GetMetricsAsync();
        Assert.Contains("switchyard_body_filter_total{port=\"plain\",intercept=\"alice\",result=\"timeout\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("switchyard_body_filter_total{port=\"plain\",intercept=\"alice\",result=\"match\"} 1", metrics, StringComparison.Ordinal);
    }

    /// <summary>
    /// An HTTP/1.1 caller (TLS or plaintext, with or without `Expect: 100-continue`) sends the head of a matching JSON
    /// body and <paramref name="part"/> of its bytes (500, or none), then nothing while its connection stays open. At
    /// bodyTimeout the agent gives up waiting and forwards the head and those bytes to the app (the app sees them arrive
    /// while the caller still holds the rest: the request reached the app, not the intercept); then the rest follows
    /// and the app's answer comes back; the app received the body byte-exact.
    /// </summary>
    [Theory]
    [InlineData(true, false, 500)]
    [InlineData(false, false, 500)]
    [InlineData(true, true, 500)]
    [InlineData(false, true, 500)]
    [InlineData(true, false, 0)]
    [InlineData(false, false, 0)]
    public async Task A_stalled_http1_body_goes_to_the_app_at_body_timeout_and_arrives_whole(bool tls, bool expect100, int part)
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions
        {
            Certificate = tls ? TestPki.Shared.Server : null,
            Name = "the-app",
            Pipeline = a => HashEndpoint(a, "the-app", part, arrived),
        });
        await using var developer = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "alice-laptop", Pipeline = a => HashEndpoint(a, "alice-laptop") });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "auto");
        if (tls)
        {
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
            port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        }

        port["limits"] = new JsonObject { ["bodyTimeout"] = "300ms" };
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(CustomerIntercept("web", developer.Port, plaintextDelivery: true));
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        byte[] body = Encoding.UTF8.GetBytes($$"""{"customer":{"id":42},"note":"{{new string('n', 1000)}}"}""");
        using var socket = await TlsClient.ConnectAsync(listen);
        await using Stream stream = tls
            ? await TlsClient.AuthenticateAsync(socket, TestPki.Shared.Ca, ["http/1.1"])
            : new System.Net.Sockets.NetworkStream(socket, ownsSocket: false);
        var reader = new ByteReader(stream);
        string head = $"POST /hash HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n" +
            (expect100 ? "Expect: 100-continue\r\n" : "") + "Connection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.FlushAsync();
        using var cts = new CancellationTokenSource(Timeouts.Short);
        if (expect100)
        {
            Assert.Equal("HTTP/1.1 100 Continue", await reader.ReadLineAsync(cts.Token)); // from the agent, which holds the body
            Assert.Equal("", await reader.ReadLineAsync(cts.Token));
        }

        if (part > 0)
        {
            await stream.WriteAsync(body.AsMemory(0, part));
            await stream.FlushAsync();
        }

        await arrived.Task.WaitAsync(Timeouts.Short); // bodyTimeout passed: the app has the head and the part; the caller sent nothing since

        await stream.WriteAsync(body.AsMemory(part));
        await stream.FlushAsync();
        string status;
        do
        {
            status = await reader.ReadLineAsync(cts.Token) ?? throw new IOException("the agent closed before answering");
            while (await reader.ReadLineAsync(cts.Token) is { Length: > 0 })
            {
            }
        }
        while (status.StartsWith("HTTP/1.1 100", StringComparison.Ordinal)); // the app's own 100 Continue is passed on too

        Assert.Equal("HTTP/1.1 200 OK", status);
        Assert.Contains(Expected("the-app", body), Encoding.ASCII.GetString(await reader.ReadToEndAsync(cts.Token)), StringComparison.Ordinal);
        string metrics = await agent.GetMetricsAsync();
        Assert.Contains("switchyard_body_filter_total{port=\"web\",intercept=\"alice\",result=\"timeout\"} 1", metrics, StringComparison.Ordinal);
    }

    /// <summary>
    /// HTTP/2 (HttpClient, h2 to the app): a matching body whose DATA stop after 500 bytes, the stream open, goes to the
    /// app at bodyTimeout with those 500 bytes (the app has them before the caller sends on), and arrives whole.
    /// </summary>
    [Theory]
    [InlineData(HttpProtocols.Http1AndHttp2, 500)]
    [InlineData(HttpProtocols.Http1, 500)] // the stream translated to HTTP/1.1 toward the app
    [InlineData(HttpProtocols.Http1, 0)] // no DATA at all before the stall: the translated head alone goes at bodyTimeout
    public async Task A_stalled_http2_body_goes_to_the_app_at_body_timeout_and_arrives_whole(HttpProtocols appProtocols, int part)
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var env = await StartAsync(part, arrived, appProtocols);
        using HttpClient client = Client(env.Listen, HttpVersion.Version20);
        byte[] body = Encoding.UTF8.GetBytes($$"""{"customer":{"id":42},"note":"{{new string('n', 1000)}}"}""");
        var stalled = new StalledContent(body, part, arrived.Task);
        stalled.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        Assert.Equal(Expected("the-app", body), await PostAsync(client, stalled));
        string metrics = await env.Agent.GetMetricsAsync();
        Assert.Contains("switchyard_body_filter_total{port=\"web\",intercept=\"alice\",result=\"timeout\"} 1", metrics, StringComparison.Ordinal);
    }

    /// <summary>The first <c>part</c> bytes of the body, then nothing until <c>resume</c> completes (at most Timeouts.Short), then the rest.</summary>
    private sealed class StalledContent(byte[] body, int part, Task resume) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            if (part > 0)
            {
                await stream.WriteAsync(body.AsMemory(0, part));
                await stream.FlushAsync();
            }

            await resume.WaitAsync(Timeouts.Short); // the app has the part: the agent stopped waiting for the rest
            await stream.WriteAsync(body.AsMemory(part));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }

    /// <summary>A body without a length (HTTP/1.1: chunked).</summary>
    private sealed class UnknownLengthContent(byte[] body) : ByteArrayContent(body)
    {
        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>The load of a slow caller: the body in pieces with a pause between them (Content-Length known).</summary>
    private sealed class TrickleContent(byte[] body, int pieces, TimeSpan pause) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            int size = (body.Length + pieces - 1) / pieces;
            for (int offset = 0; offset < body.Length; offset += size)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(size, body.Length - offset)));
                await stream.FlushAsync();
                await Task.Delay(pause);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
