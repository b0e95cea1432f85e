using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>How to start a <see cref="KestrelApp"/>.</summary>
public sealed record KestrelAppOptions
{
    /// <summary>Server certificate; null = plaintext.</summary>
    public X509Certificate2? Certificate { get; init; }

    public HttpProtocols Protocols { get; init; } = HttpProtocols.Http1AndHttp2;

    public ClientCertificateMode ClientCertificateMode { get; init; } = ClientCertificateMode.NoCertificate;

    /// <summary>When set, a client certificate is accepted only if it chains to this CA.</summary>
    public X509Certificate2? ClientCa { get; init; }

    /// <summary>0 = any free port.</summary>
    public int Port { get; init; }

    /// <summary>Echoed as the first line ("app=NAME") so a test can tell which upstream answered.</summary>
    public string Name { get; init; } = "app";

    /// <summary>Extra Kestrel settings (limits, HTTP/2 windows), applied after the defaults above.</summary>
    public Action<KestrelServerOptions>? ConfigureServer { get; init; }

    /// <summary>Middleware in front of the echo (e.g. extra endpoints with <c>Map</c>); the echo answers whatever it passes on.</summary>
    public Action<IApplicationBuilder>? Pipeline { get; init; }
}

/// <summary>
/// A Kestrel upstream on 127.0.0.1 that echoes what it saw, one "key=value" per line:
/// method, path (with query), x-test header, protocol, scheme, client certificate subject, body.
/// </summary>
public sealed class KestrelApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KestrelApp(WebApplication app, int port, Task closeRequested)
    {
        _app = app;
        Port = port;
        CloseRequested = closeRequested;
    }

    public int Port { get; }

    /// <summary>
    /// Completes when Kestrel asks one of its connections to close, as a graceful stop does (DisposeAsync): the moment
    /// an HTTP/2 connection starts its GOAWAY. A signal to wait for instead of sleeping after starting a stop.
    /// </summary>
    public Task CloseRequested { get; }

    public static async Task<KestrelApp> StartAsync(KestrelAppOptions? options = null)
    {
        options ??= new KestrelAppOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Switchyard.NativeTests.Upstream",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var closeRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, options.Port, listen =>
            {
                listen.Protocols = options.Protocols;
                listen.Use(next => async connection =>
                {
                    var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
                    using var registration = lifetime?.ConnectionClosedRequested.Register(() => closeRequested.TrySetResult()) ?? default;
                    await next(connection);
                });
                if (options.Certificate is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = options.Certificate,
                        ClientCertificateMode = options.ClientCertificateMode,
                        ClientCertificateValidation = (cert, _, _) =>
                            options.ClientCa is null || TestPki.ChainsTo(cert, options.ClientCa),
                    });
                }
            });
            options.ConfigureServer?.Invoke(kestrel);
        });

        var app = builder.Build();
        options.Pipeline?.Invoke(app);
        app.Run(context => EchoAsync(context, options.Name));
        await app.StartAsync().WaitAsync(Timeouts.Short);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        return new KestrelApp(app, port, closeRequested.Task);
    }

    private static async Task EchoAsync(HttpContext context, string name)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var request = context.Request;
        var text = new StringBuilder()
            .Append("app=").Append(name).Append('\n')
            .Append("method=").Append(request.Method).Append('\n')
            .Append("path=").Append(request.Path).Append(request.QueryString).Append('\n')
            .Append("x-test=").Append(request.Headers["x-test"].ToString()).Append('\n')
            .Append("protocol=").Append(request.Protocol).Append('\n')
            .Append("scheme=").Append(request.Scheme).Append('\n')
            .Append("client=").Append(context.Connection.ClientCertificate?.Subject ?? "none").Append('\n')
            .Append("body=").Append(body).Append('\n')
            .Append("connection=").Append(context.Connection.Id).Append('\n')
            .ToString();
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(text, context.RequestAborted);
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
}
