using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchyard.NativeTests.Grpc;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>
/// A Grpc.AspNetCore server on 127.0.0.1 hosting <c>switchyard.test.Echo</c> (Protos/echo.proto): TLS with
/// <paramref name="Certificate"/> (ALPN h2) or plaintext HTTP/2 only (h2c prior knowledge). Every reply names the
/// server; every call ends with the trailer <c>x-served-by: NAME</c>.
/// </summary>
public sealed class GrpcApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcApp(WebApplication app, int port, string name)
    {
        _app = app;
        Port = port;
        Name = name;
    }

    public int Port { get; }

    public string Name { get; }

    public static async Task<GrpcApp> StartAsync(string name, X509Certificate2? certificate)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Switchyard.NativeTests.GrpcUpstream",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new EchoService(name));
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = certificate is null ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
        });

        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        await app.StartAsync().WaitAsync(Timeouts.Short);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GrpcApp(app, new Uri(address).Port, name);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.DisposeAsync();
    }

    /// <summary>The service implementation; one instance per server, knowing the server's name.</summary>
    private sealed class EchoService(string name) : Echo.EchoBase
    {
        public override Task<EchoReply> Unary(EchoRequest request, ServerCallContext context)
        {
            Begin(context);
            FailIfAsked(request);
            return Task.FromResult(Reply(request.Text, 0, context));
        }

        public override async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
        {
            Begin(context);
            for (int i = 0; i < request.Count; i++)
            {
                await responseStream.WriteAsync(Reply($"{request.Text}#{i}", i, context), context.CancellationToken);
            }

            FailIfAsked(request);
        }

        public override async Task<EchoReply> ClientStream(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
        {
            Begin(context);
            var texts = new List<string>();
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                FailIfAsked(request);
                texts.Add(request.Text);
            }

            return Reply(string.Join('+', texts), texts.Count, context);
        }

        public override async Task Bidi(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
        {
            Begin(context);
            int index = 0;
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                FailIfAsked(request);
                await responseStream.WriteAsync(Reply(request.Text, index++, context), context.CancellationToken);
            }
        }

        private void Begin(ServerCallContext context) => context.ResponseTrailers.Add("x-served-by", name);

        private void FailIfAsked(EchoRequest request)
        {
            if (request.FailWithStatus != 0)
            {
                throw new RpcException(
                    new Status((StatusCode)request.FailWithStatus, request.FailDetail),
                    new Metadata { { "x-fail-trailer", name } });
            }
        }

        private EchoReply Reply(string text, int index, ServerCallContext context) => new()
        {
            Server = name,
            Text = text,
            Index = index,
            Protocol = context.GetHttpContext().Request.Protocol,
            Dev = context.RequestHeaders.GetValue("x-dev") ?? "",
        };
    }
}
