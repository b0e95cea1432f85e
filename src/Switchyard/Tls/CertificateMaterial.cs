using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.Tls;

/// <summary>A leaf certificate with its private key and the rest of its chain, ready for SslStream.</summary>
public sealed class CertificateMaterial(X509Certificate2 leaf, X509Certificate2Collection intermediates, string certPath, string keyPath)
{
    public X509Certificate2 Leaf { get; } = leaf;
    public X509Certificate2Collection Intermediates { get; } = intermediates;
    public string CertPath { get; } = certPath;
    public string KeyPath { get; } = keyPath;

    private readonly Lazy<SslStreamCertificateContext> _context = new(() => SslStreamCertificateContext.Create(leaf, intermediates, offline: true));

    /// <summary>
    /// Built once, on first use: SslStream reuses it for every handshake (the chain is sent without re-building it).
    /// Building it builds the chain, and the first chain built in the process loads the whole system CA store
    /// (/etc/ssl/certs, ~150 files: most of the agent's start time when it was done while loading the config), so it
    /// is built after the agent is ready (<see cref="Proxy.Agent.WarmTlsAsync"/>), or by the first handshake if that
    /// comes first.
    /// </summary>
    public SslStreamCertificateContext Context => _context.Value;

    /// <summary>Whether <see cref="Context"/> has been built (tests: loading the config does not build it).</summary>
    public bool ContextBuilt => _context.IsValueCreated;

    public TimeSpan ExpiresIn(DateTimeOffset now) => Leaf.NotAfter.ToUniversalTime() - now.UtcDateTime;
}
