using Switchyard.NativeTests.Grpc;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Grpc.Net.Client through the agent to Grpc.AspNetCore servers (Protos/echo.proto): unary, server streaming, client
/// streaming and bidi calls with their trailers and error statuses; calls carrying the metadata <c>x-dev: alice</c>
/// reach alice's gRPC server, the rest reach the app. Over TLS (ALPN h2 both sides) and over h2c.
/// </summary>
public sealed class GrpcThroughAgentTests(ITestOutputHelper output)
{
    private sealed record Env(GrpcApp App, GrpcApp Developer, AgentFront Front) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Front.DisposeAsync();
            await Developer.DisposeAsync();
            await App.DisposeAsync();
        }
    }

    private async Task<Env> StartAsync(FrontTransport transport)
    {
        bool tls = transport == FrontTransport.Tls;
        var app = await GrpcApp.StartAsync("the-app", tls ? TestPki.Shared.Server : null);
        var developer = await GrpcApp.StartAsync("alice-laptop", tls ? TestPki.Shared.ServerFromOtherCa : null);
        var front = await AgentFront.StartAsync(output, transport, app.Port, [RouteSpec.Intercept("alice", developer.Port, transport)],
            (port, _) => port["appProtocol"] = tls ? "grpc" : "h2c");
        return new Env(app, developer, front);
    }

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task EveryCallKindIsRoutedByItsXDevMetadata(FrontTransport transport)
    {
        await using var env = await StartAsync(transport);
        using var channel = GrpcCalls.Channel(env.Front.Listen, env.Front.IsTls);
        var client = new Echo.EchoClient(channel);

        await GrpcCalls.AssertAllCallKindsAsync(client, "alice-laptop", dev: "alice");
        await GrpcCalls.AssertAllCallKindsAsync(client, "the-app", dev: null);
        await GrpcCalls.AssertAllCallKindsAsync(client, "the-app", dev: "bob");

        await env.Front.WaitForCountAsync("switchyard_requests_total", 4, ("route", "alice"));
        await env.Front.WaitForCountAsync("switchyard_requests_total", 8, ("route", "app"));
    }

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task ErrorStatusesAndTrailersComeBackFromTheServerThatFailed(FrontTransport transport)
    {
        await using var env = await StartAsync(transport);
        using var channel = GrpcCalls.Channel(env.Front.Listen, env.Front.IsTls);
        var client = new Echo.EchoClient(channel);

        await GrpcCalls.AssertErrorsAsync(client, "alice-laptop", dev: "alice");
        await GrpcCalls.AssertErrorsAsync(client, "the-app", dev: null);
    }

    [Fact]
    public async Task ConcurrentCallsOnOneChannelAreEachRoutedOnTheirOwn()
    {
        await using var env = await StartAsync(FrontTransport.Tls);
        using var channel = GrpcCalls.Channel(env.Front.Listen, tls: true);
        var client = new Echo.EchoClient(channel);

        var calls = Enumerable.Range(0, 40).Select(async i =>
        {
            string? dev = i % 2 == 0 ? "alice" : null;
            using var call = client.UnaryAsync(new EchoRequest { Text = $"call-{i}" }, GrpcCalls.Options(dev));
            var reply = await call.ResponseAsync;
            return (I: i, Dev: dev, Reply: reply);
        });

        foreach (var (i, dev, reply) in await Task.WhenAll(calls))
        {
            Assert.Equal(dev is null ? "the-app" : "alice-laptop", reply.Server);
            Assert.Equal($"call-{i}", reply.Text);
        }

        await env.Front.WaitForCountAsync("switchyard_requests_total", 20, ("route", "alice"));
        await env.Front.WaitForCountAsync("switchyard_requests_total", 20, ("route", "app"));
    }
}
