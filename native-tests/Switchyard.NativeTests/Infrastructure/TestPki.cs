using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>PEM file pair written for the agent.</summary>
public sealed record CertFiles(string CertPem, string KeyPem);

/// <summary>
/// The test PKI, generated once per run with CertificateRequest (ECDSA P-256: fast to make, and what
/// many clusters use): a CA, a second unrelated CA, server and client certificates.
/// </summary>
public sealed class TestPki
{
    private static readonly Lazy<TestPki> SharedInstance = new(() => new TestPki());

    private TestPki()
    {
        Ca = CreateCa("CN=Switchyard Test CA");
        OtherCa = CreateCa("CN=Unrelated Test CA");
        Server = Issue(Ca, "CN=localhost", ServerUsage, dnsNames: ["localhost"], ipAddresses: [IPAddress.Loopback]);
        ServerFromOtherCa = Issue(OtherCa, "CN=localhost", ServerUsage, dnsNames: ["localhost"], ipAddresses: [IPAddress.Loopback]);
        ServerForOtherName = Issue(Ca, "CN=other.example", ServerUsage, dnsNames: ["other.example"], ipAddresses: []);
        Client = Issue(Ca, "CN=alice-client", ClientUsage);
        AgentClient = Issue(Ca, "CN=switchyard-agent", ClientUsage);
        SelfSignedClient = CreateSelfSignedClient("CN=mallory-self-signed");
        UntrustedClient = Issue(OtherCa, "CN=bob-other-ca", ClientUsage);
    }

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private static readonly string[] ServerUsage = [ServerAuthOid];
    private static readonly string[] ClientUsage = [ClientAuthOid];

    public static TestPki Shared => SharedInstance.Value;

    /// <summary>The CA every "trusted" certificate chains to.</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>A CA nobody is told to trust.</summary>
    public X509Certificate2 OtherCa { get; }

    /// <summary>Server certificate for localhost and 127.0.0.1, issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 Server { get; }

    /// <summary>Server certificate for localhost and 127.0.0.1, issued by <see cref="OtherCa"/>.</summary>
    public X509Certificate2 ServerFromOtherCa { get; }

    /// <summary>Server certificate for other.example only, issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 ServerForOtherName { get; }

    /// <summary>Client certificate CN=alice-client issued by <see cref="Ca"/>.</summary>
    public X509Certificate2 Client { get; }

    /// <summary>Client certificate CN=switchyard-agent issued by <see cref="Ca"/> (the agent's upstream identity).</summary>
    public X509Certificate2 AgentClient { get; }

    /// <summary>Self-signed client certificate, trusted by nobody.</summary>
    public X509Certificate2 SelfSignedClient { get; }

    /// <summary>Client certificate issued by <see cref="OtherCa"/>.</summary>
    public X509Certificate2 UntrustedClient { get; }

    /// <summary>Writes NAME.crt (certificate PEM) and NAME.key (PKCS#8 PEM) into <paramref name="dir"/>.</summary>
    public static CertFiles WritePem(X509Certificate2 cert, string dir, string name)
    {
        var certPath = Path.Combine(dir, name + ".crt");
        var keyPath = Path.Combine(dir, name + ".key");
        File.WriteAllText(certPath, cert.ExportCertificatePem() + "\n");
        using var key = cert.GetECDsaPrivateKey() ?? throw new InvalidOperationException($"{cert.Subject} has no private key");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return new CertFiles(certPath, keyPath);
    }

    /// <summary>Writes NAME.crt with the certificate only (a trust root file).</summary>
    public static string WriteCertPem(X509Certificate2 cert, string dir, string name)
    {
        var path = Path.Combine(dir, name + ".crt");
        File.WriteAllText(path, cert.ExportCertificatePem() + "\n");
        return path;
    }

    /// <summary>True when <paramref name="cert"/> chains to <paramref name="root"/> and nothing else is wrong.</summary>
    public static bool ChainsTo(X509Certificate? cert, X509Certificate2 root)
    {
        if (cert is null)
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    private static X509Certificate2 CreateCa(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 CreateSelfSignedClient(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ClientAuthOid)], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 Issue(
        X509Certificate2 issuer,
        string subject,
        string[] usages,
        string[]? dnsNames = null,
        IPAddress[]? ipAddresses = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var oids = new OidCollection();
        foreach (var usage in usages)
        {
            oids.Add(new Oid(usage));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        if (dnsNames is not null || ipAddresses is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var dns in dnsNames ?? [])
            {
                san.AddDnsName(dns);
            }

            foreach (var ip in ipAddresses ?? [])
            {
                san.AddIpAddress(ip);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var issued = request.Create(
            issuer, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), serial);
        return issued.CopyWithPrivateKey(key);
    }
}
