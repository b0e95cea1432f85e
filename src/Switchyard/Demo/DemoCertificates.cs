using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.Demo;

/// <summary>
/// A throw-away PKI for the demo: a CA, a server certificate for localhost/127.0.0.1, the agent's client certificate
/// toward the mTLS app, and a caller certificate for the curl lines (the agent verifies callers against the CA).
/// </summary>
internal sealed record DemoCertificates(string Directory, string CaPath, string ServerCertPath, string ServerKeyPath, string ClientCertPath, string ClientKeyPath,
    string CallerCertPath, string CallerKeyPath)
{
    public static DemoCertificates Create(string directory)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Switchyard Demo CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));

        string caPath = Path.Combine(directory, "ca.crt");
        File.WriteAllText(caPath, ca.ExportCertificatePem());
        (string serverCert, string serverKey) = Issue(ca, "CN=localhost", directory, "server", serverAuth: true, now);
        (string clientCert, string clientKey) = Issue(ca, "CN=switchyard-demo-client", directory, "client", serverAuth: false, now);
        (string callerCert, string callerKey) = Issue(ca, "CN=switchyard-demo-caller", directory, "caller", serverAuth: false, now);
        return new DemoCertificates(directory, caPath, serverCert, serverKey, clientCert, clientKey, callerCert, callerKey);
    }

    private static (string Cert, string Key) Issue(X509Certificate2 ca, string subject, string directory, string name, bool serverAuth, DateTimeOffset now)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [serverAuth ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }

        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using X509Certificate2 certificate = request.Create(ca, now.AddMinutes(-5), now.AddDays(30), serial);
        string certPath = Path.Combine(directory, $"{name}.crt");
        string keyPath = Path.Combine(directory, $"{name}.key");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }
}
