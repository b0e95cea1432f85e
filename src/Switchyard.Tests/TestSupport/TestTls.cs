using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.Tests.TestSupport;

/// <summary>TLS peers for loopback tests: a server certificate for "localhost" and handshakes with chosen ALPN lists.</summary>
public static class TestTls
{
    private static readonly Lazy<SslStreamCertificateContext> Server = new(() =>
    {
        using X509Certificate2 pem = X509Certificate2.CreateFromPem(TestPki.Shared.EcLeaf.CertificatePem, TestPki.Shared.EcLeaf.KeyPem(KeyFormat.Pkcs8));
        return SslStreamCertificateContext.Create(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null), null, offline: true);
    });

    public static SslStreamCertificateContext ServerCertificate => Server.Value;

    public static SslServerAuthenticationOptions ServerOptions(params SslApplicationProtocol[] alpn) => new()
    {
        ServerCertificateContext = ServerCertificate,
        ApplicationProtocols = alpn.Length == 0 ? null : [.. alpn],
    };

    public static SslClientAuthenticationOptions ClientOptions(params SslApplicationProtocol[] alpn) => new()
    {
        TargetHost = "localhost",
        ApplicationProtocols = alpn.Length == 0 ? null : [.. alpn],
        RemoteCertificateValidationCallback = static (_, _, _, _) => true,
    };

    /// <summary>A TLS server on a raw socket (the test's peer), after its handshake.</summary>
    public static async Task<SslStream> AcceptAsync(Socket socket, params SslApplicationProtocol[] alpn)
    {
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
        await ssl.AuthenticateAsServerAsync(ServerOptions(alpn));
        return ssl;
    }
}
