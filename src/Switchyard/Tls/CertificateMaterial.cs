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

    /// <summary>Built once: SslStream reuses it for every handshake (the chain is sent without re-building it).</summary>
    public SslStreamCertificateContext Context { get; } = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);

    public TimeSpan ExpiresIn(DateTimeOffset now) => Leaf.NotAfter.ToUniversalTime() - now.UtcDateTime;
}
