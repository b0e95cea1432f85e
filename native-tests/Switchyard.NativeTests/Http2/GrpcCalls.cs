using System.Net.Security;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Switchyard.NativeTests.Grpc;
using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// The gRPC conversations the tests hold with <see cref="GrpcApp"/> (directly or through the agent), each asserting
/// which server answered, what it saw, the replies in order, trailers and statuses.
/// </summary>
public static class GrpcCalls
{
    /// <summary>A channel to 127.0.0.1:PORT: https://localhost trusting the test CA (ALPN h2), or http:// (h2c prior knowledge).</summary>
    public static GrpcChannel Channel(int port, bool tls) => GrpcChannel.ForAddress(
        tls ? $"https://localhost:{port}" : $"http://127.0.0.1:{port}",
        new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                UseProxy = false,
                SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca),
                },
                ConnectCallback = async (_, ct) => new NetworkStream(await TlsClient.ConnectAsync(port, ct), ownsSocket: true),
            },
            DisposeHttpClient = true,
        });

    public static CallOptions Options(string? dev)
    {
        var headers = new Metadata();
        if (dev is not null)
        {
            headers.Add("x-dev", dev);
        }

        return new CallOptions(headers, deadline: DateTime.UtcNow + Timeouts.Short);
    }

    /// <summary>Unary, server streaming, client streaming and bidi calls, all answered by <paramref name="server"/>.</summary>
    public static async Task AssertAllCallKindsAsync(Echo.EchoClient client, string server, string? dev)
    {
        // Unary: reply, response headers and the trailer.
        using (var unary = client.UnaryAsync(new EchoRequest { Text = "hello" }, Options(dev)))
        {
            var reply = await unary.ResponseAsync;
            AssertReply(reply, server, dev, "hello", 0);
            Assert.Equal(StatusCode.OK, unary.GetStatus().StatusCode);
            Assert.Equal(server, unary.GetTrailers().GetValue("x-served-by"));
        }

        // Server streaming: five replies in order, then OK and the trailer.
        using (var serverStream = client.ServerStream(new EchoRequest { Text = "tick", Count = 5 }, Options(dev)))
        {
            var replies = await ReadAllAsync(serverStream.ResponseStream);
            Assert.Equal(5, replies.Count);
            for (int i = 0; i < replies.Count; i++)
            {
                AssertReply(replies[i], server, dev, $"tick#{i}", i);
            }

            Assert.Equal(StatusCode.OK, serverStream.GetStatus().StatusCode);
            Assert.Equal(server, serverStream.GetTrailers().GetValue("x-served-by"));
        }

        // Client streaming: four requests, one reply joining them.
        using (var clientStream = client.ClientStream(Options(dev)))
        {
            foreach (var text in new[] { "a", "b", "c", "d" })
            {
                await clientStream.RequestStream.WriteAsync(new EchoRequest { Text = text });
            }

            await clientStream.RequestStream.CompleteAsync();
            var reply = await clientStream.ResponseAsync;
            AssertReply(reply, server, dev, "a+b+c+d", 4);
            Assert.Equal(server, clientStream.GetTrailers().GetValue("x-served-by"));
        }

        // Bidi in lock-step: each reply is read before the next request is written, so both directions are live at once.
        using (var bidi = client.Bidi(Options(dev)))
        {
            for (int i = 0; i < 6; i++)
            {
                await bidi.RequestStream.WriteAsync(new EchoRequest { Text = $"ping{i}" });
                Assert.True(await bidi.ResponseStream.MoveNext(CancellationToken.None), $"bidi reply {i} missing");
                AssertReply(bidi.ResponseStream.Current, server, dev, $"ping{i}", i);
            }

            await bidi.RequestStream.CompleteAsync();
            Assert.False(await bidi.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.OK, bidi.GetStatus().StatusCode);
            Assert.Equal(server, bidi.GetTrailers().GetValue("x-served-by"));
        }
    }

    /// <summary>Failing calls: the status, its detail and the server's trailers reach the caller (after the replies sent before the failure).</summary>
    public static async Task AssertErrorsAsync(Echo.EchoClient client, string server, string? dev)
    {
        var unary = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(
            new EchoRequest { Text = "x", FailWithStatus = (int)StatusCode.NotFound, FailDetail = "no such order 42" }, Options(dev)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unary.StatusCode);
        Assert.Equal("no such order 42", unary.Status.Detail);
        Assert.Equal(server, unary.Trailers.GetValue("x-fail-trailer"));
        Assert.Equal(server, unary.Trailers.GetValue("x-served-by"));

        using var serverStream = client.ServerStream(
            new EchoRequest { Text = "part", Count = 2, FailWithStatus = (int)StatusCode.ResourceExhausted, FailDetail = "quota" }, Options(dev));
        var received = new List<EchoReply>();
        var streamed = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var reply in serverStream.ResponseStream.ReadAllAsync())
            {
                received.Add(reply);
            }
        });
        Assert.Equal(2, received.Count);
        AssertReply(received[1], server, dev, "part#1", 1);
        Assert.Equal(StatusCode.ResourceExhausted, streamed.StatusCode);
        Assert.Equal("quota", streamed.Status.Detail);
        Assert.Equal(server, streamed.Trailers.GetValue("x-fail-trailer"));

        using var bidi = client.Bidi(Options(dev));
        await bidi.RequestStream.WriteAsync(new EchoRequest { Text = "fine" });
        Assert.True(await bidi.ResponseStream.MoveNext(CancellationToken.None));
        AssertReply(bidi.ResponseStream.Current, server, dev, "fine", 0);
        await bidi.RequestStream.WriteAsync(new EchoRequest { Text = "bad", FailWithStatus = (int)StatusCode.PermissionDenied, FailDetail = "not yours" });
        var denied = await Assert.ThrowsAsync<RpcException>(() => bidi.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal("not yours", denied.Status.Detail);
        Assert.Equal(server, denied.Trailers.GetValue("x-fail-trailer"));
    }

    private static void AssertReply(EchoReply reply, string server, string? dev, string text, int index)
    {
        Assert.Equal(server, reply.Server);
        Assert.Equal(text, reply.Text);
        Assert.Equal(index, reply.Index);
        Assert.Equal("HTTP/2", reply.Protocol);
        Assert.Equal(dev ?? "", reply.Dev);
    }

    private static async Task<List<EchoReply>> ReadAllAsync(IAsyncStreamReader<EchoReply> stream)
    {
        var replies = new List<EchoReply>();
        await foreach (var reply in stream.ReadAllAsync())
        {
            replies.Add(reply);
        }

        return replies;
    }
}
