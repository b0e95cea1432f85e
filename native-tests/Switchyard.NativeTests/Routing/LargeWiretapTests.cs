using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>
/// Wiretap copies of any size, streamed: a 20 MiB upload reaches the app and, whole, its tap (XxHash128 equal at the
/// sender, the app and the tap) over HTTP/1.1 and HTTP/2, both directions of translation; a tap that never reads
/// loses the copy (tap_too_slow) and does not slow the caller.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class LargeWiretapTests(ITestOutputHelper output)
{
    private const long TwentyMiB = 20L * 1024 * 1024;

    public enum Flow
    {
        /// <summary>HTTP/1.1 caller (TLS), HTTP/1.1 app (TLS).</summary>
        Http1ToHttp1,

        /// <summary>HTTP/2 caller (TLS), HTTP/2 app (TLS).</summary>
        Http2ToHttp2,

        /// <summary>HTTP/2 caller (TLS), an app that speaks only HTTP/1.1 (TLS): the copy streams through the h2-to-h1 translation.</summary>
        Http2ToHttp1,

        /// <summary>HTTP/1.1 caller (plaintext), an app that speaks only h2c: the copy streams through the h1-to-h2 translation.</summary>
        Http1ToH2c,
    }

    /// <summary>An app that hashes each request body and answers with its digest (header x-received).</summary>
    private static async Task<WebApplication> StartAppAsync(HttpProtocols protocols, bool tls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, 0, l =>
            {
                l.Protocols = protocols;
                if (tls)
                {
                    l.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = TestPki.Shared.Server });
                }
            });
        });
        var app = builder.Build();
        app.Run(async context =>
        {
            var received = await Payload.ReadToEndAsync(context.Request.Body, context.RequestAborted);
            context.Response.Headers["x-received"] = received.ToString();
            context.Response.Headers["x-protocol"] = context.Request.Protocol;
            await context.Response.WriteAsync("ok");
        });
        await app.StartAsync();
        return app;
    }

    /// <summary>An HTTP/1.1 tap (plaintext, or TLS) that hashes each copy's body.</summary>
    private static async Task<WebApplication> StartTapAsync(ConcurrentQueue<string> copies, bool tls = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, 0, l =>
            {
                if (tls)
                {
                    l.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = TestPki.Shared.Server });
                }
            });
        });
        var tap = builder.Build();
        tap.Run(async context =>
        {
            var received = await Payload.ReadToEndAsync(context.Request.Body, context.RequestAborted);
            copies.Enqueue($"{context.Request.Method} {context.Request.Path} {received}");
            await context.Response.WriteAsync("ignored");
        });
        await tap.StartAsync();
        return tap;
    }

    private static JsonObject Wiretap(string target, bool plaintext = true) => new()
    {
        ["id"] = "tap",
        ["port"] = "web",
        ["mode"] = "wiretap",
        ["match"] = new JsonObject { ["header"] = "x-tap", ["exact"] = "on" },
        ["target"] = target,
        ["delivery"] = new JsonObject { ["plaintext"] = plaintext },
    };

    private sealed record Rig(AgentProcess Agent, WebApplication App, HttpClient Caller, Uri Url, Version Version, string AppProtocol) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Caller.Dispose();
            await Agent.DisposeAsync();
            await App.DisposeAsync();
        }
    }

    private async Task<Rig> StartRigAsync(TempDir dir, Flow path, string tapTarget, bool tlsTap = false)
    {
        var pem = PemSet.Write(dir.Path);
        bool tls = path != Flow.Http1ToH2c;
        HttpProtocols appProtocols = path switch
        {
            Flow.Http2ToHttp2 => HttpProtocols.Http2,
            Flow.Http1ToH2c => HttpProtocols.Http2,
            _ => HttpProtocols.Http1,
        };
        var app = await StartAppAsync(appProtocols, tls);
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, new Uri(app.Urls.First()).Port, "auto");
        if (tls)
        {
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
            port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        }

        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(Wiretap(tapTarget, plaintext: !tlsTap));
        var agent = await AgentProcess.StartAsync(output, dir, config);
        Version version = path is Flow.Http2ToHttp2 or Flow.Http2ToHttp1 ? HttpVersion.Version20 : HttpVersion.Version11;
        var caller = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca) },
            ConnectCallback = async (_, ct) => new NetworkStream(await TlsClient.ConnectAsync(listen, ct), ownsSocket: true),
        })
        {
            Timeout = Timeouts.Long,
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var url = new Uri($"{(tls ? "https" : "http")}://localhost:{listen}/upload");
        return new Rig(agent, app, caller, url, version, appProtocols == HttpProtocols.Http2 ? "HTTP/2" : "HTTP/1.1");
    }

    /// <summary>Uploads <see cref="TwentyMiB"/> (seed 1), copied or not; returns how long the caller took.</summary>
    private static async Task<TimeSpan> UploadAsync(Rig rig, bool copied, bool chunked)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, rig.Url)
        {
            Content = new StreamingContent(TwentyMiB, seed: 1, chunked),
            Version = rig.Version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (copied)
        {
            request.Headers.Add("x-tap", "on");
        }

        using var response = await rig.Caller.SendAsync(request);
        var elapsed = Stopwatch.GetElapsedTime(started);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(rig.Version, response.Version);
        Assert.Equal(rig.AppProtocol, response.Headers.GetValues("x-protocol").Single()); // the leg the copy streamed through
        Assert.Equal(Payload.Expected(TwentyMiB, seed: 1).ToString(), response.Headers.GetValues("x-received").Single());
        return elapsed;
    }

    [Theory]
    [InlineData(Flow.Http1ToHttp1, true)]
    [InlineData(Flow.Http1ToHttp1, false)]
    [InlineData(Flow.Http2ToHttp2, true)]
    [InlineData(Flow.Http2ToHttp2, false)]
    [InlineData(Flow.Http2ToHttp1, true)]
    [InlineData(Flow.Http1ToH2c, true)]
    [InlineData(Flow.Http1ToHttp1, true, true)]
    [InlineData(Flow.Http2ToHttp2, false, true)]
    public async Task ATwentyMiBUploadReachesTheAppAndWholeItsWiretap(Flow path, bool chunked, bool tlsTap = false)
    {
        var copies = new ConcurrentQueue<string>();
        await using var tap = await StartTapAsync(copies, tlsTap);
        using var dir = new TempDir();
        await using var rig = await StartRigAsync(dir, path, $"127.0.0.1:{new Uri(tap.Urls.First()).Port}", tlsTap);

        await UploadAsync(rig, copied: true, chunked);

        await rig.Agent.WaitForMetricAsync("switchyard_wiretap_copies_total", [("wiretap", "tap")], v => v == 1, "== 1");
        Assert.Equal([$"POST /upload {Payload.Expected(TwentyMiB, seed: 1)}"], copies.ToArray());
        Assert.DoesNotContain("switchyard_wiretap_drops_total{", await rig.Agent.GetMetricsAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Flow.Http1ToHttp1)]
    [InlineData(Flow.Http2ToHttp2)]
    public async Task AStalledTapLosesTheCopyAsTapTooSlowAndDoesNotSlowTheCaller(Flow path)
    {
        // The tap accepts each connection and never reads from it.
        using var stalled = new TcpListener(IPAddress.Loopback, 0);
        stalled.Server.ReceiveBufferSize = 4096;
        stalled.Start();
        var held = new ConcurrentBag<Socket>();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await stalled.AcceptSocketAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        });

        using var dir = new TempDir();
        await using var rig = await StartRigAsync(dir, path, $"127.0.0.1:{((IPEndPoint)stalled.LocalEndpoint).Port}");

        // The same upload without a copy (before and after, the slower counts) and with one to the stalled tap.
        await UploadAsync(rig, copied: false, chunked: true); // warm-up: connections, JIT of the caller
        TimeSpan before = await UploadAsync(rig, copied: false, chunked: true);
        TimeSpan tapped = await UploadAsync(rig, copied: true, chunked: true);
        TimeSpan after = await UploadAsync(rig, copied: false, chunked: true);
        TimeSpan untapped = before > after ? before : after;
        output.WriteLine($"20 MiB upload: {before.TotalMilliseconds:F0} ms and {after.TotalMilliseconds:F0} ms without a copy, {tapped.TotalMilliseconds:F0} ms with a copy to a stalled tap");

        await rig.Agent.WaitForMetricAsync("switchyard_wiretap_drops_total", [("wiretap", "tap"), ("reason", "tap_too_slow")], v => v == 1, "== 1");
        var accepted = Stopwatch.StartNew();
        while (held.IsEmpty && accepted.Elapsed < Timeouts.Short)
        {
            await Task.Delay(20); // the test's accept loop may lag behind the kernel's accept on a loaded machine
        }

        Assert.Single(held); // the copy's request was under way when the tap fell behind
        Assert.Contains("switchyard_wiretap_copies_total{wiretap=\"tap\"} 0\n", await rig.Agent.GetMetricsAsync(), StringComparison.Ordinal);
        // Generous: the copy costs the caller a memory copy of the first MiB, nothing like a wait for the tap (which
        // would never end). Three times the slower plain run, plus two seconds of slack for a loaded 2-core machine.
        Assert.True(tapped <= (untapped * 3) + TimeSpan.FromSeconds(2),
            $"with a stalled tap the upload took {tapped.TotalMilliseconds:F0} ms, without {untapped.TotalMilliseconds:F0} ms");
        foreach (Socket socket in held)
        {
            socket.Dispose();
        }
    }

    private sealed class StreamingContent(long length, int seed, bool chunked) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            Payload.WriteAsync(stream, length, seed, CancellationToken.None);

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            return !chunked; // no length: HttpClient sends Transfer-Encoding: chunked (HTTP/2: no content-length)
        }
    }
}
