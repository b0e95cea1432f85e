using System.Net;
using System.Net.Security;
using Switchyard.Tls;

namespace Switchyard.Config;

// The validated, resolved form of the config file that the runtime uses. Built only by ConfigValidator.

public enum TlsMode : byte { Auto, On, Off }

public enum HttpMode : byte { Auto, Http1, Http2, None }

public enum InspectMode : byte { Auto, Always, Never }

public sealed record AgentSettings(
    string FilePath,
    string Fingerprint,
    IPEndPoint AdminListen,
    string? AdminToken,
    IReadOnlyList<PortSettings> Ports,
    IReadOnlyList<InterceptSettings> Intercepts)
{
    /// <summary>tunnel.listen: where `switchyard intercept` connects; null = no tunnel.</summary>
    public IPEndPoint? TunnelListen { get; init; }
}

public sealed record PortSettings(
    int Index,
    string Name,
    string Protocol,
    string? AppProtocol,
    IPEndPoint Listen,
    string AppHost,
    int AppPort,
    TlsMode Tls,
    HttpMode Http,
    InspectMode Inspect,
    TimeSpan ProbeTimeout,
    DownstreamTlsSettings? DownstreamTls,
    UpstreamTlsSettings? UpstreamTls,
    Http1.Http1Limits? Http1Limits = null)
{
    public string App => AppHost.Contains(':') ? $"[{AppHost}]:{AppPort}" : $"{AppHost}:{AppPort}";

    /// <summary>UDP ports: a source address's session (its socket toward the app or the target) ends after this long without datagrams.</summary>
    public TimeSpan UdpIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Timeouts and the connection limit (<c>ports[].limits</c>).</summary>
    public PortLimits Limits { get; init; } = PortLimits.Default;
}

public sealed record DownstreamTlsSettings(
    CertificateSource Certificate,
    List<SslApplicationProtocol> Alpn,
    ClientAuthSettings? ClientAuth);

public sealed record ClientAuthSettings(
    System.Security.Cryptography.X509Certificates.X509Certificate2Collection TrustRoots,
    bool AllowAnonymous,
    bool AcceptAnyCert);

public sealed record UpstreamTlsSettings(
    CertificateSource? ClientCertificate,
    System.Security.Cryptography.X509Certificates.X509Certificate2Collection TrustRoots,
    bool InsecureSkipVerify,
    string? ServerName);

/// <param name="Rule">The routing rule (port resolved to the port's name, filter parsed).</param>
/// <param name="Plaintext">delivery.plaintext: deliver without TLS even when the caller used TLS.</param>
/// <param name="Tls">delivery trustRoots/serverName/client certificate; null = anonymous TLS that does not verify.</param>
public sealed record InterceptSettings(string Id, string Port, string Mode, string? Target, bool FailOpen, Routing.InterceptRule Rule, bool Plaintext, DeliveryTlsSettings? Tls = null)
{
    /// <summary>delivery.http: auto (ALPN on TLS, an h2c probe on plaintext), http1 or http2.</summary>
    public HttpMode DeliveryHttp { get; init; } = HttpMode.Auto;
}

/// <summary>TLS toward an intercept target when the intercept names roots, a server name or a client certificate: then the target is verified.</summary>
public sealed record DeliveryTlsSettings(
    System.Security.Cryptography.X509Certificates.X509Certificate2Collection TrustRoots,
    string? ServerName,
    CertificateSource? ClientCertificate);
