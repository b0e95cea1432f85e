using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Lifecycle;

/// <summary>
/// ports[].limits against the published binary: each slow or silent caller is closed once its limit passes, with that
/// limit as the end reason (issue 12: before, all of these stayed open for good).
/// </summary>
public sealed class TimeoutTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(15);

    private static Action<JsonObject, PemSet> Limits(JsonObject limits, bool tls = false) => (port, pem) =>
    {
        port["limits"] = limits;
        if (tls)
        {
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
            port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        }
    };

    private static KestrelAppOptions Http1App(RequestDelegate? handler = null, bool tls = false) => new()
    {
        Protocols = HttpProtocols.Http1,
        Certificate = tls ? TestPki.Shared.Server : null,
        Pipeline = handler is null ? null : app => app.Run(handler),
    };

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    /// <summary>Reads until the agent closes the connection (bounded): what it sent before closing.</summary>
    private static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(Within);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // closed with RST: closed all the same
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static Task<double> EndedAsync(AgentProcess agent, string reason) =>
        agent.WaitForMetricAsync("switchyard_connection_ends_total", [("port", "web"), ("reason", reason)], v => v >= 1, ">= 1");

    [Fact]
    public async Task A_slowloris_head_trickled_past_requestHeadTimeout_is_closed()
    {
        await using var env = await ProxiedApp.StartAsync(output, Http1App(), "always", Limits(new JsonObject { ["requestHeadTimeout"] = "1s" }));
        using Socket socket = await ConnectAsync(env.ListenPort);
        await socket.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n"u8.ToArray());
        Task<string> closed = ReadUntilClosedAsync(socket);
        for (int i = 0; i < 40 && !closed.IsCompleted; i++)
        {
            // A slowloris: one more header line now and then, never the end of the head.
            await Task.WhenAny(closed, Task.Delay(250));
            try
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes($"x-slow-{i}: 1\r\n"));
            }
            catch (SocketException)
            {
                break;
            }
        }

        Assert.Equal(string.Empty, await closed.WaitAsync(Within));
        await EndedAsync(env.Agent, "request_head_timeout");
    }

    [Fact]
    public async Task An_idle_keep_alive_connection_is_closed_after_idleTimeout()
    {
        await using var env = await ProxiedApp.StartAsync(output, Http1App(), "always", Limits(new JsonObject { ["idleTimeout"] = "1s" }));
        using Socket socket = await ConnectAsync(env.ListenPort);
        await socket.SendAsync("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());

        string answered = await ReadUntilClosedAsync(socket); // the response, then the close once idle
        Assert.StartsWith("HTTP/1.1 200", answered, StringComparison.Ordinal);
        await EndedAsync(env.Agent, "idle_timeout");
    }

    [Fact]
    public async Task A_connection_that_sends_nothing_on_a_TLS_port_is_closed_after_tlsHandshakeTimeout()
    {
        await using var env = await ProxiedApp.StartAsync(output, Http1App(tls: true), "always", Limits(new JsonObject { ["tlsHandshakeTimeout"] = "1s" }, tls: true));
        using Socket socket = await ConnectAsync(env.ListenPort);
        Assert.Equal(string.Empty, await ReadUntilClosedAsync(socket));
        await EndedAsync(env.Agent, "tls_handshake_timeout");
    }

    [Fact]
    public async Task A_TLS_caller_that_finishes_its_handshake_and_then_sends_nothing_is_closed_after_idleTimeout()
    {
        await using var env = await ProxiedApp.StartAsync(output, Http1App(tls: true), "always", Limits(new JsonObject { ["idleTimeout"] = "1s" }, tls: true));
        using var cts = new CancellationTokenSource(Within);
        using Socket socket = await ConnectAsync(env.ListenPort);
        await using var ssl = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: false), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync("localhost");
        int n;
        try
        {
            n = await ssl.ReadAsync(new byte[16], cts.Token); // the agent ends the connection
        }
        catch (IOException)
        {
            n = 0; // ended with RST: ended all the same
        }

        Assert.Equal(0, n);
        await EndedAsync(env.Agent, "idle_timeout");
    }

    [Fact]
    public async Task Half_a_request_body_is_ended_after_streamIdleTimeout_and_the_app_sees_its_request_aborted()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var env = await ProxiedApp.StartAsync(output, Http1App(async http =>
        {
            try
            {
                await http.Request.Body.CopyToAsync(Stream.Null, http.RequestAborted);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or Microsoft.AspNetCore.Http.BadHttpRequestException)
            {
                aborted.TrySetResult();
            }
        }), "always", Limits(new JsonObject { ["streamIdleTimeout"] = "1s" }));
        using Socket socket = await ConnectAsync(env.ListenPort);
        await socket.SendAsync("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"u8.ToArray());

        await ReadUntilClosedAsync(socket);
        await EndedAsync(env.Agent, "stream_idle_timeout");
        await aborted.Task.WaitAsync(Within); // the app's side of the exchange ended too: no app connection held
    }

    [Fact]
    public async Task An_app_that_does_not_answer_within_appResponseTimeout_gets_the_caller_a_504()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var env = await ProxiedApp.StartAsync(output, Http1App(async http => await release.Task.WaitAsync(http.RequestAborted)),
            "always", Limits(new JsonObject { ["appResponseTimeout"] = "1s" }));
        try
        {
            using Socket socket = await ConnectAsync(env.ListenPort);
            await socket.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            string answer = await ReadUntilClosedAsync(socket);
            Assert.StartsWith("HTTP/1.1 504", answer, StringComparison.Ordinal);
            Assert.Contains("appResponseTimeout", answer, StringComparison.Ordinal);
            await EndedAsync(env.Agent, "app_response_timeout");
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Fact]
    public async Task An_HTTP2_caller_that_sends_the_preface_and_nothing_more_gets_GOAWAY_NO_ERROR_after_idleTimeout()
    {
        await using var env = await ProxiedApp.StartAsync(output, Http1App(), "always", Limits(new JsonObject { ["idleTimeout"] = "1s" }));
        using Socket socket = await ConnectAsync(env.ListenPort);
        await socket.SendAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray().Concat(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }).ToArray());

        byte[] received = Encoding.ASCII.GetBytes(await ReadUntilClosedAsync(socket));
        // Frames: find a GOAWAY (type 7) whose error code (last 4 of its first 8 payload octets) is NO_ERROR (0).
        bool goAwayNoError = false;
        for (int at = 0; at + 9 <= received.Length;)
        {
            int length = (received[at] << 16) | (received[at + 1] << 8) | received[at + 2];
            if (received[at + 3] == 7 && at + 9 + 8 <= received.Length)
            {
                goAwayNoError = received[at + 13] == 0 && received[at + 14] == 0 && received[at + 15] == 0 && received[at + 16] == 0;
            }

            at += 9 + length;
        }

        Assert.True(goAwayNoError, $"no GOAWAY NO_ERROR in {received.Length} bytes");
        await EndedAsync(env.Agent, "idle_timeout");
    }

    [Fact]
    public async Task A_connection_beyond_maxConnections_is_closed_at_once()
    {
        await using var env = await ProxiedApp.StartAsync(output, Http1App(), "always", Limits(new JsonObject { ["maxConnections"] = 1 }));
        using Socket first = await ConnectAsync(env.ListenPort);
        await first.SendAsync("GET /held HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var buffer = new byte[1024];
        using (var cts = new CancellationTokenSource(Within))
        {
            Assert.True(await first.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0); // the first is served and stays open
        }

        using Socket second = await ConnectAsync(env.ListenPort);
        await second.SendAsync("GET /refused HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        Assert.Equal(string.Empty, await ReadUntilClosedAsync(second));
        await EndedAsync(env.Agent, "max_connections");
    }

    [Fact]
    public async Task An_HTTP2_stream_with_HEADERS_and_never_DATA_is_reset_after_streamIdleTimeout_and_the_connection_goes_on()
    {
        await using var env = await ProxiedApp.StartAsync(output, Http1App(), "always", Limits(new JsonObject { ["streamIdleTimeout"] = "1s" }));
        using var cts = new CancellationTokenSource(Within);
        await using var client = await Http2FrameClient.OpenAsync(env.ListenPort, tls: false, cts.Token);
        await client.SendAsync(cts.Token, client.Request(1, "POST", "/never-data", endStream: false));

        FrameLog log = await client.ReadUntilAsync(f => f.Type == FrameType.RstStream && f.StreamId == 1, Within);
        Assert.Equal(H2Error.Cancel, log.ResetOf(1)?.ErrorCode);
        Assert.Null(log.GoAway);

        await client.SendAsync(cts.Token, client.Request(3, "GET", "/after"));
        FrameLog after = await client.ReadUntilAsync(f => f.StreamId == 3 && f.HasFlag(FrameFlags.EndStream), Within);
        Assert.Equal(200, after.StatusOf(3));
        await env.Agent.WaitForMetricAsync("switchyard_timeouts_total", [("port", "web"), ("reason", "stream_idle_timeout")], v => v >= 1, ">= 1");
    }

    [Fact]
    public async Task A_caller_that_stops_reading_loses_the_connection_after_writeStallTimeout()
    {
        byte[] chunk = new byte[64 * 1024];
        await using var env = await ProxiedApp.StartAsync(output, Http1App(async http =>
        {
            http.Response.ContentLength = 512L * 1024 * 1024; // far more than the socket buffers between us
            try
            {
                for (int i = 0; i < 8192; i++)
                {
                    await http.Response.Body.WriteAsync(chunk, http.RequestAborted);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                // the agent gave up on the caller and closed our side too
            }
        }), "always", Limits(new JsonObject { ["writeStallTimeout"] = "2s" }));
        using Socket socket = await ConnectAsync(env.ListenPort);
        socket.ReceiveBufferSize = 4096;
        await socket.SendAsync("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());

        // The caller never reads: its window closes, the agent's writes stall, the kernel ends the connection after
        // writeStallTimeout (without the limit it stayed open for good), and that is its end reason.
        await env.Agent.WaitForMetricAsync("switchyard_connection_ends_total", [("port", "web"), ("reason", "write_stall")], v => v >= 1, ">= 1",
            TimeSpan.FromSeconds(30));
        await env.Agent.WaitForMetricAsync("switchyard_connections_active", [("port", "web")], v => v == 0, "== 0");
    }
    [Fact]
    public async Task AppResponseTimeout_counts_from_the_end_of_the_request_so_a_slow_upload_is_answered()
    {
        await using var env = await ProxiedApp.StartAsync(output, Http1App(async http =>
        {
            var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body, http.RequestAborted);
            await http.Response.WriteAsync($"got {body.Length}", http.RequestAborted);
        }), "always", Limits(new JsonObject { ["appResponseTimeout"] = "1s" }));
        using Socket socket = await ConnectAsync(env.ListenPort);
        await socket.SendAsync("POST /slow-upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 8\r\n\r\n"u8.ToArray());
        for (int i = 0; i < 8; i++)
        {
            await Task.Delay(300); // the caller uploads slowly: 2.4 s for the body, longer than appResponseTimeout
            await socket.SendAsync("x"u8.ToArray());
        }

        string answer = await ReadUntilClosedAsync(socket);
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        Assert.Contains("got 8", answer, StringComparison.Ordinal);
    }
}
