using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.Tests.TestSupport;

/// <summary>How a private key is written to its PEM file.</summary>
public enum KeyFormat
{
    /// <summary>"RSA PRIVATE KEY" (RFC 8017 RSAPrivateKey).</summary>
    Pkcs1,

    /// <summary>"PRIVATE KEY" (RFC 5208 PrivateKeyInfo).</summary>
    Pkcs8,

    /// <summary>"EC PRIVATE KEY" (RFC 5915 ECPrivateKey).</summary>
    Sec1,

    /// <summary>"ENCRYPTED PRIVATE KEY" (PKCS#8 EncryptedPrivateKeyInfo).</summary>
    EncryptedPkcs8,
}

/// <summary>A certificate (public part only) and its key, exported once as PEM text in every format that applies.</summary>
public sealed class IssuedCertificate
{
    private readonly Dictionary<KeyFormat, string> _keys;

    public IssuedCertificate(X509Certificate2 certificate, AsymmetricAlgorithm key)
    {
        Certificate = certificate;
        _keys = new Dictionary<KeyFormat, string>
        {
            [KeyFormat.Pkcs8] = key.ExportPkcs8PrivateKeyPem(),
            [KeyFormat.EncryptedPkcs8] = key.ExportEncryptedPkcs8PrivateKeyPem(
                "secret"u8, new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000)),
        };
        switch (key)
        {
            case RSA rsa:
                _keys[KeyFormat.Pkcs1] = rsa.ExportRSAPrivateKeyPem();
                IsRsa = true;
                break;
            case ECDsa ecdsa:
                _keys[KeyFormat.Sec1] = ecdsa.ExportECPrivateKeyPem();
                break;
        }

        CertificatePem = certificate.ExportCertificatePem();
    }

    /// <summary>The certificate without its private key, as a PEM file would give it.</summary>
    public X509Certificate2 Certificate { get; }

    public bool IsRsa { get; }

    public string CertificatePem { get; }

    public string Subject => Certificate.Subject;

    public string KeyPem(KeyFormat format) =>
        _keys.TryGetValue(format, out string? pem) ? pem : throw new ArgumentException($"{format} does not apply to this key", nameof(format));
}

/// <summary>
/// A test PKI made once per run with CertificateRequest: root CA -> intermediate CA -> RSA and ECDSA leaves for
/// localhost/127.0.0.1, one more ECDSA leaf (for key mismatches) and an unrelated root.
/// </summary>
public sealed class TestPki
{
    private static readonly Lazy<TestPki> SharedInstance = new(() => new TestPki(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly X509Certificate2 _rootWithKey;
    private readonly X509Certificate2 _intermediateWithKey;
    private readonly ECDsa _intermediateKey;

    private TestPki()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        _rootWithKey = CreateRoot("CN=Switchyard Unit Test Root CA", now);
        using X509Certificate2 otherRoot = CreateRoot("CN=Unrelated Unit Test Root CA", now);
        OtherRoot = X509CertificateLoader.LoadCertificate(otherRoot.RawData);

        ECDsa intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _intermediateKey = intermediateKey;
        var request = new CertificateRequest("CN=Switchyard Unit Test Intermediate CA", intermediateKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_rootWithKey, true, false));
        using X509Certificate2 intermediate = request.Create(_rootWithKey, now.AddHours(-1), now.AddDays(20), Serial());
        _intermediateWithKey = intermediate.CopyWithPrivateKey(intermediateKey);

        Root = X509CertificateLoader.LoadCertificate(_rootWithKey.RawData);
        Intermediate = X509CertificateLoader.LoadCertificate(_intermediateWithKey.RawData);

        RsaLeaf = IssueLeaf("CN=rsa.switchyard.test, O=Switchyard Tests", RSA.Create(2048), now);
        EcLeaf = IssueLeaf("CN=ec.switchyard.test, O=Switchyard Tests", ECDsa.Create(ECCurve.NamedCurves.nistP256), now);
        OtherEcLeaf = IssueLeaf("CN=other-ec.switchyard.test", ECDsa.Create(ECCurve.NamedCurves.nistP256), now);
        OtherRsaLeaf = IssueLeaf("CN=other-rsa.switchyard.test", RSA.Create(2048), now);
    }

    public static TestPki Shared => SharedInstance.Value;

    /// <summary>The self-signed root everything below chains to.</summary>
    public X509Certificate2 Root { get; }

    /// <summary>The CA that issued every leaf; the leaves are not verifiable without it.</summary>
    public X509Certificate2 Intermediate { get; }

    /// <summary>A root nothing here chains to.</summary>
    public X509Certificate2 OtherRoot { get; }

    public IssuedCertificate RsaLeaf { get; }

    public IssuedCertificate EcLeaf { get; }

    public IssuedCertificate OtherEcLeaf { get; }

    public IssuedCertificate OtherRsaLeaf { get; }

    public string RootPem => Root.ExportCertificatePem();

    public string IntermediatePem => Intermediate.ExportCertificatePem();

    public IssuedCertificate Leaf(bool rsa) => rsa ? RsaLeaf : EcLeaf;

    private IssuedCertificate IssueLeaf(string subject, AsymmetricAlgorithm key, DateTimeOffset now)
    {
        CertificateRequest request = key switch
        {
            RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ecdsa => new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256),
            _ => throw new ArgumentException("RSA or ECDSA", nameof(key)),
        };
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            key is RSA ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_intermediateWithKey, true, false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        // The generator overload: an RSA leaf under an ECDSA issuer.
        X509Certificate2 certificate = request.Create(
            _intermediateWithKey.SubjectName, X509SignatureGenerator.CreateForECDsa(_intermediateKey), now.AddHours(-1), now.AddDays(10), Serial());
        var issued = new IssuedCertificate(certificate, key);
        key.Dispose();
        return issued;
    }

    private static X509Certificate2 CreateRoot(string subject, DateTimeOffset now)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddHours(-2), now.AddDays(30));
    }

    private static byte[] Serial()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f; // a positive INTEGER
        return serial;
    }
}
