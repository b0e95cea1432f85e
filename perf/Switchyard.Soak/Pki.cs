using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.Soak;

/// <summary>
/// The soak's throw-away PKI, made in-process with CertificateRequest (ECDSA P-256): one CA, the agent's server
/// certificate (and its replacement for the rotation), the caller's client certificate and the agent's upstream
/// client certificate. Adapted from native-tests' TestPki (perf/ does not reference the test project).
/// </summary>
internal sealed class Pki
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    public Pki()
    {
        Ca = CreateCa("CN=Switchyard Soak CA");
        Server = IssueServer();
        Client = Issue("CN=soak-caller", ClientAuthOid, san: false);
        AgentClient = Issue("CN=switchyard-agent", ClientAuthOid, san: false);
    }

    public X509Certificate2 Ca { get; }

    /// <summary>The certificate the agent presents first (localhost, 127.0.0.1).</summary>
    public X509Certificate2 Server { get; }

    /// <summary>The caller's client certificate (the agent's port requires one chaining to <see cref="Ca"/>).</summary>
    public X509Certificate2 Client { get; }

    /// <summary>The agent's upstream identity: the app requires a client certificate chaining to <see cref="Ca"/>.</summary>
    public X509Certificate2 AgentClient { get; }

    /// <summary>A new server certificate for localhost/127.0.0.1 with a fresh key and serial (the rotation).</summary>
    public X509Certificate2 IssueServer() => Issue("CN=localhost", ServerAuthOid, san: true);

    public bool ChainsToCa(X509Certificate? cert)
    {
        if (cert is null)
        {
            return false;
        }

        using var leaf = X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    /// <summary>PEM text of a certificate and of its PKCS#8 key.</summary>
    public static (string Cert, string Key) Pem(X509Certificate2 cert)
    {
        using ECDsa key = cert.GetECDsaPrivateKey() ?? throw new InvalidOperationException($"{cert.Subject} has no private key");
        return (cert.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    public static string Thumbprint(X509Certificate cert) => cert.GetCertHashString(HashAlgorithmName.SHA256);

    private static X509Certificate2 CreateCa(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(91));
    }

    private X509Certificate2 Issue(string subject, string usage, bool san)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, true, false));
        if (san)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        // 90 days: the agent warns about certificates that expire within 7 days.
        using X509Certificate2 issued = request.Create(Ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(90), serial);
        return issued.CopyWithPrivateKey(key);
    }
}
