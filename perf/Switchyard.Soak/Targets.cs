using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Switchyard.Soak;

/// <summary>Header names shared by the load client and the targets.</summary>
internal static class SoakHeaders
{
    public const string Id = "x-soak-id";
    public const string ExpectHash = "x-soak-expect-xxh128";
    public const string ResponseLength = "x-soak-resp-len";
    public const string ResponseSeed = "x-soak-resp-seed";
    public const string ServedBy = "x-served-by";
    public const string BodyHash = "x-body-xxh128";
    public const string BodyLength = "x-body-len";
    public const string ResponseHash = "x-resp-xxh128";
}

/// <summary>
/// One Kestrel target on 127.0.0.1 (the app, the developer's intercept target, or the wiretap target). For every
/// request carrying <see cref="SoakHeaders.Id"/> it hashes the whole request body with XxHash128 and answers it in
/// <see cref="SoakHeaders.BodyHash"/> (+ length); the response body is N bytes of <c>Random(seed)</c> (N and seed from
/// the request headers), announced by its own XxHash128 in <see cref="SoakHeaders.ResponseHash"/>. The wiretap target
/// answers an empty 200 and checks the copy against the hash the caller put in <see cref="SoakHeaders.ExpectHash"/>.
/// </summary>
internal sealed class Target : IAsyncDisposable
{
    private const int MaxResponseBytes = 1 << 20;
    private readonly WebApplication _app;
    private long _requests;
    private long _altered;
    private long _bytes;

    private Target(string name, WebApplication app)
    {
        Name = name;
        _app = app;
    }

    public string Name { get; }

    public int Port { get; private set; }

    /// <summary>Requests with a soak id this target answered (or, for the tap, copies it received in full).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Wiretap only: copies whose body hash differs from what the caller sent.</summary>
    public long Altered => Interlocked.Read(ref _altered);

    /// <summary>Request body bytes received.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <param name="certificate">null = plaintext HTTP/1.1 (the wiretap target).</param>
    /// <param name="requireClientCertFrom">when set, a client certificate chaining to this PKI's CA is required (mTLS app).</param>
    public static async Task<Target> StartAsync(string name, X509Certificate2? certificate, Pki? requireClientCertFrom, bool isTap)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "Switchyard.Soak." + name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Idle upstream connections close after 5 s, so the agent's pooled app connections can wind down
            // before the final fd count. Data-rate minimums are off: a loaded 2-core machine must not turn a slow
            // scheduler into a 408 that looks like a proxy error.
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(5);
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Limits.MaxRequestBodySize = 16L << 20;
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
                if (certificate is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = certificate,
                        ClientCertificateMode = requireClientCertFrom is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
                        ClientCertificateValidation = (cert, _, _) => requireClientCertFrom is null || requireClientCertFrom.ChainsToCa(cert),
                    });
                }
            });
        });

        WebApplication app = builder.Build();
        var target = new Target(name, app);
        app.Run(context => isTap ? target.TapAsync(context) : target.AnswerAsync(context));
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        target.Port = new Uri(address).Port;
        return target;
    }

    private static async Task<(UInt128 Hash, long Length)> HashBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        var hash = new XxHash128();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        long length = 0;
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
                length += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (hash.GetCurrentHashAsUInt128(), length);
    }

    public static string Hex(UInt128 hash) => hash.ToString("x32", CultureInfo.InvariantCulture);

    private async Task AnswerAsync(HttpContext context)
    {
        (UInt128 hash, long length) = await HashBodyAsync(context.Request.Body, context.RequestAborted);
        HttpResponse response = context.Response;
        response.Headers[SoakHeaders.ServedBy] = Name;
        response.Headers[SoakHeaders.BodyHash] = Hex(hash);
        response.Headers[SoakHeaders.BodyLength] = length.ToString(CultureInfo.InvariantCulture);
        bool soak = context.Request.Headers.ContainsKey(SoakHeaders.Id);
        if (soak)
        {
            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _bytes, length);
        }

        int responseLength = int.TryParse(context.Request.Headers[SoakHeaders.ResponseLength], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? Math.Clamp(n, 0, MaxResponseBytes)
            : 0;
        int seed = int.TryParse(context.Request.Headers[SoakHeaders.ResponseSeed], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int s) ? s : 0;
        byte[] body = ArrayPool<byte>.Shared.Rent(Math.Max(responseLength, 1));
        try
        {
            new Random(seed).NextBytes(body.AsSpan(0, responseLength));
            response.Headers[SoakHeaders.ResponseHash] = Hex(XxHash128.HashToUInt128(body.AsSpan(0, responseLength)));
            response.ContentType = "application/octet-stream";
            response.ContentLength = responseLength;
            // Several writes, so that large bodies leave as many DATA frames / TLS records as a real app's would.
            for (int offset = 0; offset < responseLength; offset += 256 * 1024)
            {
                await response.Body.WriteAsync(body.AsMemory(offset, Math.Min(256 * 1024, responseLength - offset)), context.RequestAborted);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    private async Task TapAsync(HttpContext context)
    {
        (UInt128 hash, long length) = await HashBodyAsync(context.Request.Body, context.RequestAborted);
        if (context.Request.Headers.ContainsKey(SoakHeaders.Id))
        {
            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _bytes, length);
            if (!string.Equals(context.Request.Headers[SoakHeaders.ExpectHash], Hex(hash), StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _altered);
            }
        }

        context.Response.ContentLength = 0;
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
