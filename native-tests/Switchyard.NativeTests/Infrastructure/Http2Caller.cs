using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>What one request through an <see cref="Http2Caller"/> got back.</summary>
public sealed record CallerResponse(HttpStatusCode Status, Version Version, string Body)
{
    /// <summary>The value of a "key=value" line of <see cref="KestrelApp"/>'s echo ("app", "protocol", "connection", ...).</summary>
    public string Echo(string key) => EchoText.Field(Body, key);

    public override string ToString() => $"{(int)Status} HTTP/{Version}\n{Body}";
}

/// <summary>
/// .NET HttpClient speaking HTTP/2 only (version 2.0, exact) to 127.0.0.1:PORT: over TLS as "localhost" trusting the
/// test CA (ALPN h2), or h2c with prior knowledge on plaintext. Every connection it opens is counted, so a test can
/// show that its requests shared one connection (the handler keeps to one unless told otherwise).
/// </summary>
public sealed class Http2Caller : IDisposable
{
    private readonly SocketsHttpHandler _handler;
    private int _connections;

    private Http2Caller(int port, bool tls, Action<SocketsHttpHandler>? configure, TimeSpan timeout)
    {
        BaseUrl = tls ? $"https://localhost:{port}" : $"http://127.0.0.1:{port}";
        _handler = new SocketsHttpHandler
        {
            UseProxy = false,
            EnableMultipleHttp2Connections = false,
            MaxConnectionsPerServer = 1,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) => TestPki.ChainsTo(cert, TestPki.Shared.Ca),
            },
            ConnectCallback = async (_, ct) =>
            {
                Interlocked.Increment(ref _connections);
                return new NetworkStream(await TlsClient.ConnectAsync(port, ct), ownsSocket: true);
            },
        };
        configure?.Invoke(_handler);
        Client = new HttpClient(_handler)
        {
            Timeout = timeout,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public HttpClient Client { get; }

    /// <summary>"https://localhost:PORT" or "http://127.0.0.1:PORT".</summary>
    public string BaseUrl { get; }

    /// <summary>TCP connections opened so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public static Http2Caller Create(int port, bool tls, Action<SocketsHttpHandler>? configure = null, TimeSpan? timeout = null) =>
        new(port, tls, configure, timeout ?? Timeouts.Short);

    /// <summary>An HTTP/2 request for <paramref name="path"/>, with <c>x-dev: DEV</c> when <paramref name="dev"/> is set.</summary>
    public HttpRequestMessage NewRequest(HttpMethod method, string path, string? dev = null, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, BaseUrl + path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        if (dev is not null)
        {
            request.Headers.Add("x-dev", dev);
        }

        return request;
    }

    /// <summary>Sends and reads the whole body as text.</summary>
    public async Task<CallerResponse> SendAsync(HttpMethod method, string path, string? dev = null, string? body = null, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(method, path, dev, body is null ? null : new StringContent(body));
        using var response = await Client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return new CallerResponse(response.StatusCode, response.Version, text);
    }

    public Task<CallerResponse> GetAsync(string path, string? dev = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, path, dev, null, cancellationToken);

    public void Dispose()
    {
        Client.Dispose();
        _handler.Dispose();
    }
}

/// <summary>Reads <see cref="KestrelApp"/>'s echo: one "key=value" per line.</summary>
public static class EchoText
{
    /// <summary>The value of the first line starting with "KEY="; throws naming the body when there is none.</summary>
    public static string Field(string body, string key)
    {
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith(key + "=", StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..];
            }
        }

        throw new InvalidOperationException($"no '{key}=' line in the response body:\n{body}");
    }
}
