using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Issue 11, defect 3: a plaintext port declared HTTP/2-only (<c>appProtocol: h2c</c>, or <c>http: http2</c>,
/// SPEC "Protocol detection order") serves HTTP/2 with prior knowledge only. Anything but the client connection
/// preface is a connection error (RFC 9113 §3.4: "Clients and servers MUST treat an invalid connection preface as a
/// connection error of type PROTOCOL_ERROR"): GOAWAY PROTOCOL_ERROR, then close, and never an HTTP/1.1 answer. A
/// port with <c>http: auto</c> keeps accepting HTTP/1.1.
/// </summary>
public sealed class Http2OnlyPortTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string> Openings = new()
    {
        ["an HTTP/1.1 request"] = "GET /h1-on-h2-port HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ["an HTTP/1.1 h2c upgrade request"] =
            "GET /h1-upgrade HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
        ["a preface with a wrong ending"] = "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
        ["bytes that are not HTTP"] = "NOT-HTTP\r\n\r\n",
    };

    [Theory]
    [InlineData("appProtocol h2c", "an HTTP/1.1 request")]
    [InlineData("appProtocol h2c", "an HTTP/1.1 h2c upgrade request")]
    [InlineData("http http2", "an HTTP/1.1 request")]
    [InlineData("appProtocol h2c", "bytes that are not HTTP")]
    [InlineData("http http2", "bytes that are not HTTP")]
    [InlineData("appProtocol h2c", "a preface with a wrong ending")]
    public async Task ABadConnectionPrefaceOnAnHttp2OnlyPortGetsGoAwayProtocolErrorThenClose(string declared, string opening)
    {
        var seen = new ConcurrentQueue<string>();
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.H2c,
            app: o => o with { Pipeline = Http2StreamStateTests.RecordPaths(seen) },
            configurePort: declared == "http http2" ? DeclareHttp2ByHttpMode : null);

        var (bytes, closed) = await ExchangeRawAsync(rig.Front.Listen, Openings[opening]);

        string text = Encoding.ASCII.GetString(bytes);
        Assert.False(text.StartsWith("HTTP/", StringComparison.Ordinal),
            $"port declared HTTP/2-only ({declared}), caller sent {opening}: expected GOAWAY PROTOCOL_ERROR (RFC 9113 §3.4), the agent answered in HTTP/1: \"{text}\"");
        var frames = ParseFrames(bytes);
        var goAway = frames.LastOrDefault(f => f.Type == FrameType.GoAway);
        Assert.True(goAway?.ErrorCode == H2Error.ProtocolError,
            $"{declared}, {opening}: expected GOAWAY PROTOCOL_ERROR; the agent sent {bytes.Length} bytes: [{string.Join("; ", frames)}]");
        Assert.True(closed, $"{declared}, {opening}: the agent kept the connection open after its GOAWAY");
        Assert.Empty(seen);
        await Http2ProtocolErrorTests.AssertStillServingAsync(rig);
    }

    [Fact]
    public async Task AnAutoPortKeepsAcceptingHttp11AndH2cPriorKnowledge()
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.H2c, configurePort: AutoPlaintext);

        var h1 = await rig.Front.CurlH1Async("/h1-on-auto-port");
        Assert.True(h1.Succeeded, h1.ToString());
        Assert.Equal("1.1", h1.HttpVersion);
        Assert.Equal("the-app", EchoText.Field(h1.Body, "app"));
        Assert.Equal("/h1-on-auto-port", EchoText.Field(h1.Body, "path"));

        var h2 = await rig.Front.CurlH2Async("/h2c-on-auto-port");
        Assert.True(h2.Succeeded, h2.ToString());
        Assert.Equal("2", h2.HttpVersion);
        Assert.Equal("the-app", EchoText.Field(h2.Body, "app"));

        // Bytes that are neither: malformed HTTP/1 on an auto port is answered as HTTP/1 (SPEC: 400 and close).
        var (bytes, closed) = await ExchangeRawAsync(rig.Front.Listen, "NOT-HTTP\r\n\r\n");
        string text = Encoding.ASCII.GetString(bytes);
        Assert.True(text.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), $"malformed HTTP/1 on an http: auto port: \"{text}\"");
        Assert.True(closed, "the connection stayed open after the 400");
    }

    private static void DeclareHttp2ByHttpMode(JsonObject port, PemSet pem)
    {
        port.Remove("appProtocol");
        port["tls"] = "off";
        port["http"] = "http2";
    }

    private static void AutoPlaintext(JsonObject port, PemSet pem)
    {
        port.Remove("appProtocol");
        port["tls"] = "off";
        port["http"] = "auto";
    }

    /// <summary>Connects, sends <paramref name="opening"/>, reads until the agent closes (or 10 s pass): what arrived, and whether it closed.</summary>
    internal static async Task<(byte[] Bytes, bool Closed)> ExchangeRawAsync(int port, string opening)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var socket = await TlsClient.ConnectAsync(port, cts.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(opening), SocketFlags.None, cts.Token);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }

            return (received.ToArray(), true);
        }
        catch (SocketException)
        {
            return (received.ToArray(), true); // reset after what it sent
        }
        catch (OperationCanceledException)
        {
            return (received.ToArray(), false);
        }
    }

    /// <summary>The HTTP/2 frames in <paramref name="bytes"/> (field blocks left encoded); stops at a truncated frame.</summary>
    internal static List<Http2Frame> ParseFrames(byte[] bytes)
    {
        var frames = new List<Http2Frame>();
        int at = 0;
        while (at + 9 <= bytes.Length)
        {
            int length = (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2];
            if (at + 9 + length > bytes.Length)
            {
                break;
            }

            int streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 5)) & 0x7FFFFFFF);
            frames.Add(new Http2Frame((FrameType)bytes[at + 3], bytes[at + 4], streamId, bytes[(at + 9)..(at + 9 + length)]));
            at += 9 + length;
        }

        return frames;
    }
}
