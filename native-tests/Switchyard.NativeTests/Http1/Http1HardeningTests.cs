using System.Text;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http1;

/// <summary>
/// Issue 12: HTTP/1 edge cases on a plaintext inspected port, against a raw-socket app that never closes an idle
/// keep-alive connection and records every byte it gets: malformed chunked framing, replays, HTTP/1.0 callers,
/// trailers, absolute-form targets, fragments, CONNECT.
/// </summary>
public sealed class Http1HardeningTests(ITestOutputHelper output)
{
    private sealed record Env(TempDir Dir, ScriptedHttp1App App, AgentProcess Agent, int Listen) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Agent.DisposeAsync();
            await App.DisposeAsync();
            Dir.Dispose();
        }
    }

    private async Task<Env> StartAsync(Func<AppRequest, Task<byte[]?>>? script = null)
    {
        var dir = new TempDir();
        var app = ScriptedHttp1App.Start(script ?? (r => Task.FromResult<byte[]?>(ScriptedHttp1App.Ok(r))));
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("plain", listen, app.Port, "always");
        port["tls"] = "off";
        port["http"] = "http1";
        var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));
        return new Env(dir, app, agent, listen);
    }

    private static async Task<RawResponse> ExchangeAsync(int listen, string request, CancellationToken ct)
    {
        using var caller = await RawHttp1Caller.ConnectAsync(listen, ct);
        await caller.SendAsync(request, ct);
        return await caller.ReadResponseAsync(ct);
    }

    public static TheoryData<string, bool> MalformedChunks()
    {
        var data = new TheoryData<string, bool>();
        foreach (bool samePacket in new[] { true, false })
        {
            data.Add("10000000000000005\r\nhello\r\n0\r\n\r\n", samePacket); // 17 hex digits
            data.Add("0x5\r\nhello\r\n0\r\n\r\n", samePacket);
            data.Add("5 \r\nhello\r\n0\r\n\r\n", samePacket);
            data.Add("5\nhello\n0\n\n", samePacket);
            data.Add("5;" + new string('e', 100_000) + "\r\nhello\r\n0\r\n\r\n", samePacket);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MalformedChunks))]
    public async Task MalformedChunkFramingIsAnswered400AtOnceAndTheAppConnectionIsClosedNotReused(string body, bool samePacket)
    {
        await using var env = await StartAsync();
        using var cts = new CancellationTokenSource(Timeouts.Short);

        // A pooled keep-alive connection to the app (which never closes it by itself).
        RawResponse warm = await ExchangeAsync(env.Listen, "GET /warm HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token);
        Assert.Equal(200, warm.Status);
        await env.Agent.WaitForMetricAsync("switchyard_requests_total", [("port", "plain"), ("route", "app")], v => v == 1, "== 1");

        using var caller = await RawHttp1Caller.ConnectAsync(env.Listen, cts.Token);
        const string head = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        if (samePacket)
        {
            await caller.SendAsync(head + body, cts.Token);
        }
        else
        {
            await caller.SendAsync(head, cts.Token);
            // The head was routed (the request counted) before the body's first byte is sent.
            await env.Agent.WaitForMetricAsync("switchyard_requests_total", [("port", "plain"), ("route", "app")], v => v == 2, "== 2");
            await caller.SendAsync(body, cts.Token);
        }

        RawResponse response = await caller.ReadResponseAsync(cts.Token);
        Assert.Equal(400, response.Status);
        Assert.StartsWith("bad request: ", response.BodyText, StringComparison.Ordinal);
        Assert.True(await caller.IsClosedByPeerAsync(cts.Token), "the caller's connection stays open after the 400");
        await env.App.WaitUntilNoneOpenAsync("the app connection that carried the cut request must be closed, not pooled");
        Assert.DoesNotContain(env.App.Requests, r => r.Method == "POST");

        // The next caller is served on a fresh app connection.
        RawResponse after = await ExchangeAsync(env.Listen, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token);
        Assert.Equal(200, after.Status);
    }

    [Fact]
    public async Task ANonIdempotentRequestIsNeverReplayedButAnIdempotentOneIs()
    {
        int posts = 0;
        int flaky = 0;
        await using var env = await StartAsync(r =>
        {
            if (r.Method is "POST" or "PATCH" && Interlocked.Increment(ref posts) >= 1)
            {
                return Task.FromResult<byte[]?>(null); // closes the connection without answering
            }

            if (r.Target == "/flaky" && Interlocked.Increment(ref flaky) == 1)
            {
                return Task.FromResult<byte[]?>(null);
            }

            return Task.FromResult<byte[]?>(ScriptedHttp1App.Ok(r));
        });
        using var cts = new CancellationTokenSource(Timeouts.Short);

        foreach (string method in new[] { "POST", "PATCH" })
        {
            using var caller = await RawHttp1Caller.ConnectAsync(env.Listen, cts.Token);
            await caller.SendAsync("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token);
            Assert.Equal(200, (await caller.ReadResponseAsync(cts.Token)).Status);
            int before = env.App.Requests.Count(r => r.Method == method);

            await caller.SendAsync($"{method} /pay HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token); // on the pooled connection
            RawResponse response = await caller.ReadResponseAsync(cts.Token);

            Assert.Equal(502, response.Status);
            Assert.Equal(before + 1, env.App.Requests.Count(r => r.Method == method));
        }

        // GET is idempotent: on a pooled connection closed before any answer byte, it is sent again and answered.
        using (var caller = await RawHttp1Caller.ConnectAsync(env.Listen, cts.Token))
        {
            await caller.SendAsync("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token);
            Assert.Equal(200, (await caller.ReadResponseAsync(cts.Token)).Status);
            await caller.SendAsync("GET /flaky HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token);
            RawResponse response = await caller.ReadResponseAsync(cts.Token);
            Assert.Equal(200, response.Status);
            Assert.Equal(2, env.App.Requests.Count(r => r.Target == "/flaky"));
        }
    }

    [Fact]
    public async Task AnHttp10KeepAliveCallerNeverGetsChunkedAndGetsKeepAliveWhenTheLengthIsKnownAndAHostIsAdded()
    {
        await using var env = await StartAsync(r => Task.FromResult<byte[]?>(r.Target == "/chunky"
            ? Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            : ScriptedHttp1App.Ok(r)));
        using var cts = new CancellationTokenSource(Timeouts.Short);

        // Known length: kept alive, announced, and a second request on the same connection is answered.
        using (var caller = await RawHttp1Caller.ConnectAsync(env.Listen, cts.Token))
        {
            await caller.SendAsync("GET /sized HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", cts.Token);
            RawResponse sized = await caller.ReadResponseAsync(cts.Token);
            Assert.Equal(200, sized.Status);
            Assert.Equal("keep-alive", sized.Header("Connection"));
            Assert.Null(sized.Header("Transfer-Encoding"));
            await caller.SendAsync("GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", cts.Token);
            Assert.Equal("method=GET target=/again\n", (await caller.ReadResponseAsync(cts.Token)).BodyText);
        }

        AppRequest forwarded = await env.App.WaitForRequestAsync(r => r.Target == "/sized", "GET /sized");
        Assert.Equal($"127.0.0.1:{env.App.Port}", forwarded.Header("Host"));

        // Unknown length (the app answers chunked): close-delimited, never chunked, and the connection closes.
        using (var caller = await RawHttp1Caller.ConnectAsync(env.Listen, cts.Token))
        {
            await caller.SendAsync("GET /chunky HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", cts.Token);
            RawResponse chunky = await caller.ReadResponseAsync(cts.Token); // no framing field: read until close
            Assert.Equal(200, chunky.Status);
            Assert.Null(chunky.Header("Transfer-Encoding"));
            Assert.Equal("close", chunky.Header("Connection"));
            Assert.Equal("hello world", chunky.BodyText);
        }
    }

    [Fact]
    public async Task FramingRoutingAndConnectionFieldsInATrailerSectionAreDropped()
    {
        await using var env = await StartAsync();
        using var cts = new CancellationTokenSource(Timeouts.Short);

        RawResponse response = await ExchangeAsync(env.Listen,
            "POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n" +
            "X-Sum: 1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nHost: evil\r\nTrailer: X-Sum\r\nConnection: close\r\n\r\n", cts.Token);

        Assert.Equal(200, response.Status);
        AppRequest forwarded = await env.App.WaitForRequestAsync(r => r.Target == "/t", "POST /t");
        Assert.Equal("hello", Encoding.ASCII.GetString(forwarded.Body));
        Assert.Equal(["X-Sum: 1"], forwarded.Trailers);
    }

    [Fact]
    public async Task AnAbsoluteFormTargetGoesOnInOriginFormWithItsAuthorityAsTheOnlyHost()
    {
        await using var env = await StartAsync();
        using var cts = new CancellationTokenSource(Timeouts.Short);

        RawResponse response = await ExchangeAsync(env.Listen, "GET http://other.example:8080/x?y=1 HTTP/1.1\r\nHost: shop.local\r\n\r\n", cts.Token);

        Assert.Equal(200, response.Status);
        AppRequest forwarded = await env.App.WaitForRequestAsync(r => r.Method == "GET", "the GET");
        Assert.Equal("GET /x?y=1 HTTP/1.1", forwarded.RequestLine);
        Assert.Equal(["other.example:8080"], forwarded.Headers.Where(h => h.Name.Equals("host", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value));
    }

    [Theory]
    [InlineData("GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400, null)]
    [InlineData("CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n", 405, "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE")]
    public async Task AFragmentIsMalformedAndConnectIsNotAllowedAndNeitherReachesTheApp(string request, int status, string? allow)
    {
        await using var env = await StartAsync();
        using var cts = new CancellationTokenSource(Timeouts.Short);

        using var caller = await RawHttp1Caller.ConnectAsync(env.Listen, cts.Token);
        await caller.SendAsync(request, cts.Token);
        RawResponse response = await caller.ReadResponseAsync(cts.Token);

        Assert.Equal(status, response.Status);
        Assert.Equal(allow, response.Header("Allow"));
        Assert.True(await caller.IsClosedByPeerAsync(cts.Token));
        RawResponse after = await ExchangeAsync(env.Listen, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n", cts.Token);
        Assert.Equal(200, after.Status);
        Assert.Equal(["GET /after HTTP/1.1"], env.App.Requests.Select(r => r.RequestLine));
    }
}
