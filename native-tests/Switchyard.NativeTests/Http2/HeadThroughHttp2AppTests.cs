using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Issue 11, defect 1: responses that carry content-length but no body (RFC 9113 §8.1.1, RFC 9110 §6.4.1: a HEAD
/// response, a 304) from an HTTP/2 app. The app (Kestrel) answers <c>HEAD /head29</c> with
/// <c>content-length: 29</c> and END_STREAM on its HEADERS; the agent must pass that on as a complete response (no
/// "DATA does not match content-length" reset), to HTTP/2 callers and to HTTP/1.1 callers it translates for.
/// </summary>
public sealed class HeadThroughHttp2AppTests(ITestOutputHelper output)
{
    /// <summary>What GET /head29 returns: exactly 29 bytes.</summary>
    public const string Body29 = "twenty-nine bytes of content\n";

    /// <summary><c>/head29</c>: content-length 29, the body only for GET; <c>/status/CODE</c>: that status with content-length 29 and no body.</summary>
    internal static void Endpoints(IApplicationBuilder app)
    {
        app.Map("/head29", branch => branch.Run(async context =>
        {
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = Body29.Length;
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                await context.Response.WriteAsync(Body29);
            }
        }));
        app.Map("/status", branch => branch.Run(context =>
        {
            context.Response.StatusCode = int.Parse(context.Request.Path.Value!.Trim('/'), CultureInfo.InvariantCulture);
            context.Response.ContentLength = Body29.Length;
            return Task.CompletedTask;
        }));
    }

    /// <summary>
    /// The rig with the endpoints on an HTTP/2-only app (h2c only, or TLS offering only h2). With
    /// <paramref name="http1Callers"/> the port is <c>http: auto</c> (plaintext: <c>tls: off</c>, no appProtocol
    /// h2c, which declares a port HTTP/2-only), so HTTP/1.1 callers are accepted and translated to HTTP/2.
    /// </summary>
    private static Task<Http2Rig> StartRigAsync(ITestOutputHelper output, FrontTransport transport, bool http1Callers = false) =>
        Http2Rig.StartAsync(
            output,
            transport,
            app: o => o with { Pipeline = Endpoints, Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2 },
            configurePort: http1Callers ? AcceptHttp1 : null);

    private static void AcceptHttp1(System.Text.Json.Nodes.JsonObject port, PemSet pem)
    {
        port["http"] = "auto";
        if (port.ContainsKey("appProtocol"))
        {
            port.Remove("appProtocol");
            port["tls"] = "off";
        }
    }

    // HTTP/1.1 callers over TLS are left out: the agent offers the app ALPN http/1.1 only, which a TLS app speaking
    // only h2 refuses (502, "no application protocol"); on plaintext the agent finds the h2c app by its probe.
    [Theory]
    [InlineData(FrontTransport.H2c, "1.1")]
    [InlineData(FrontTransport.H2c, "2")]
    [InlineData(FrontTransport.Tls, "2")]
    public async Task CurlHeadThroughTheAgentToAnHttp2AppGets200WithContentLength29(FrontTransport transport, string httpVersion)
    {
        Assert.Equal(29, Body29.Length);
        await using var rig = await StartRigAsync(output, transport, http1Callers: httpVersion == "1.1");

        var head = httpVersion == "2"
            ? await rig.Front.CurlH2Async("/head29", "-I")
            : await rig.Front.CurlH1Async("/head29", "-I");

        Assert.True(head.ExitCode == 0 && head.StatusCode == 200,
            $"curl -I over HTTP/{httpVersion} to an HTTP/2 app answering HEAD with content-length: 29 and no body; {head}");
        Assert.Equal(httpVersion, head.HttpVersion);
        Assert.Matches(new Regex("^content-length: *29\r?$", RegexOptions.IgnoreCase | RegexOptions.Multiline), head.Body);

        // The same connection path still carries a GET with its body of 29 bytes.
        var get = httpVersion == "2" ? await rig.Front.CurlH2Async("/head29") : await rig.Front.CurlH1Async("/head29");
        Assert.True(get.Succeeded, get.ToString());
        Assert.Equal(Body29, get.Body);
    }

    [Theory]
    [InlineData(FrontTransport.H2c, "HEAD", "/head29", 200)]
    [InlineData(FrontTransport.Tls, "HEAD", "/head29", 200)]
    [InlineData(FrontTransport.H2c, "GET", "/status/304", 304)]
    [InlineData(FrontTransport.Tls, "GET", "/status/304", 304)]
    public async Task ABodilessResponseWithContentLengthReachesAnHttp2CallerWhole(FrontTransport transport, string method, string path, int status)
    {
        await using var rig = await StartRigAsync(output, transport);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(rig.Front.Listen, rig.Front.IsTls, cts.Token);

        await client.SendAsync(cts.Token, client.Request(1, method, path));
        var log = await client.ReadStreamAsync(1, Timeouts.Short);

        AssertWholeBodilessResponse(log, status, requireContentLength: method == "HEAD", $"{method} {path} through the agent");
        await Http2ProtocolErrorTests.AssertStillServingAsync(rig);
    }

    [Fact]
    public async Task AnHttp11HeadTranslatedToAnH2cAppGetsItsHeadAndNoBody()
    {
        await using var rig = await StartRigAsync(output, FrontTransport.H2c, http1Callers: true);
        using var cts = new CancellationTokenSource(Timeouts.Short);
        using var socket = await TlsClient.ConnectAsync(rig.Front.Listen, cts.Token);

        await socket.SendAsync(Encoding.ASCII.GetBytes("HEAD /head29 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"), SocketFlags.None, cts.Token);
        var answer = await ReadToEndAsync(socket, cts.Token);

        Assert.True(answer.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal),
            $"HEAD over HTTP/1.1 to an h2c-only app answering content-length: 29 without a body; the agent answered {answer.Length} bytes: \"{answer}\"");
        int end = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"no end of head: \"{answer}\"");
        Assert.Matches(new Regex("^content-length: *29\r$", RegexOptions.IgnoreCase | RegexOptions.Multiline), answer[..(end + 2)]);
        Assert.True(end + 4 == answer.Length, $"a HEAD response carries no body, yet {answer.Length - end - 4} bytes followed the head: \"{answer}\"");
    }

    /// <summary>
    /// The premise, without the agent: Kestrel as an HTTP/2 server answers these with content-length 29 and END_STREAM
    /// on its HEADERS. (A 204 with content-length is not covered: Kestrel answers 500 to an app that sets one.)
    /// </summary>
    [Theory]
    [InlineData(FrontTransport.H2c, "HEAD", "/head29", 200)]
    [InlineData(FrontTransport.Tls, "HEAD", "/head29", 200)]
    [InlineData(FrontTransport.H2c, "GET", "/status/304", 304)]
    public async Task TheAppItselfAnswersWithContentLengthAndNoBody(FrontTransport transport, string method, string path, int status)
    {
        await using var app = await KestrelApp.StartAsync(AgentFront.AppOptions(transport) with { Pipeline = Endpoints });
        using var cts = new CancellationTokenSource(Timeouts.Short);
        await using var client = await Http2FrameClient.OpenAsync(app.Port, transport == FrontTransport.Tls, cts.Token);

        await client.SendAsync(cts.Token, client.Request(1, method, path));
        var log = await client.ReadStreamAsync(1, Timeouts.Short);

        AssertWholeBodilessResponse(log, status, requireContentLength: method == "HEAD", $"{method} {path} straight to Kestrel");
        var headers = log.OnStream(1).First(f => f.Fields is not null);
        output.WriteLine($"Kestrel: {headers}");
        Assert.True(headers.HasFlag(FrameFlags.EndStream), $"Kestrel ends the stream on its HEADERS; {log}");
    }

    /// <summary>
    /// Stream 1: a response head with <paramref name="status"/> (content-length 29 when required), the stream ended
    /// without a byte of DATA, no RST_STREAM, no GOAWAY.
    /// </summary>
    private static void AssertWholeBodilessResponse(FrameLog log, int status, bool requireContentLength, string what)
    {
        Assert.True(log.ResetOf(1) is null, $"{what}: the stream was reset instead of answered; {log}");
        Assert.True(log.GoAway is null, $"{what}: GOAWAY; {log}");
        Assert.True(log.StatusOf(1) == status, $"{what}: expected :status {status}; {log}");
        var ended = log.OnStream(1).Any(f => f.Type is FrameType.Headers or FrameType.Data && f.HasFlag(FrameFlags.EndStream));
        Assert.True(ended, $"{what}: the stream did not end; {log}");
        Assert.True(log.BodyOf(1).Length == 0, $"{what}: a response without a body carried {log.BodyOf(1).Length} bytes of DATA; {log}");
        if (requireContentLength)
        {
            var contentLength = log.OnStream(1).Where(f => f.Fields is not null).SelectMany(f => f.Fields!)
                .Where(f => f.Key == "content-length").Select(f => f.Value).FirstOrDefault();
            Assert.True(contentLength == "29", $"{what}: expected content-length: 29 on the response head; {log}");
        }
    }

    private static async Task<string> ReadToEndAsync(Socket socket, CancellationToken ct)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // reset by the peer: what arrived before tells the story
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}
