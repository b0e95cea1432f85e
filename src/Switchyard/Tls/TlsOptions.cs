using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Switchyard.Config;

namespace Switchyard.Tls;

/// <summary>Why a handshake was refused, recorded by the validation callbacks for logs and metrics.</summary>
internal sealed class HandshakeVerdict
{
    public string? Reason { get; set; }

    public string? Detail { get; set; }
}

/// <summary>SslStream options for both sides of a terminated connection.</summary>
internal static class TlsOptions
{
    /// <summary>
    /// What we offer callers: TLS 1.3's three suites, and for TLS 1.2 only ECDHE key exchange (forward secrecy) with an
    /// AEAD cipher (AES-GCM, ChaCha20-Poly1305), the Mozilla "intermediate" list. OpenSSL's default also offers CBC
    /// suites in TLS 1.2, which testssl rates potentially vulnerable to LUCKY13. Toward apps (we are the client) the
    /// defaults stay, so an older app still connects. One instance, so handshakes share OpenSSL contexts.
    /// </summary>
    internal static readonly CipherSuitesPolicy? CallerCipherSuites = OperatingSystem.IsLinux() ? CreateCallerCipherSuites() : null;

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static CipherSuitesPolicy CreateCallerCipherSuites() => new(
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]);

    /// <summary>The caller's side: the port's certificate and ALPN list (h2 included when listed: the HTTP/2 codec serves it).</summary>
    public static SslServerAuthenticationOptions Server(DownstreamTlsSettings tls, HandshakeVerdict verdict)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = tls.Certificate.Current.Context, // read per handshake: a rotated certificate applies to the next one
            ApplicationProtocols = tls.Alpn,
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.None, // OS defaults: TLS 1.2 and 1.3
            AllowRenegotiation = false,
        };

        if (OperatingSystem.IsLinux())
        {
            options.CipherSuitesPolicy = CallerCipherSuites;
        }

        if (tls.ClientAuth is { } auth)
        {
            // clientAuth present: ask for a certificate; whether its absence is fatal is our decision below.
            options.ClientCertificateRequired = true;
            options.CertificateChainPolicy = ChainPolicy(auth.TrustRoots);
            options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (certificate is null)
                {
                    if (auth.AllowAnonymous)
                    {
                        return true;
                    }

                    verdict.Reason = "client_certificate_missing";
                    verdict.Detail = "the client sent no certificate and allowAnonymous is false";
                    return false;
                }

                if (auth.AcceptAnyCert || (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None)
                {
                    return true; // client certificates carry no name to match against
                }

                verdict.Reason = "client_certificate_untrusted";
                verdict.Detail = $"client certificate \"{certificate.Subject}\" not trusted ({ChainStatus(chain, errors)})";
                return false;
            };
        }

        return options;
    }

    public static SslClientAuthenticationOptions Client(UpstreamTlsSettings? tls, string targetHost, SslApplicationProtocol alpn, HandshakeVerdict verdict)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.None,
            CertificateChainPolicy = ChainPolicy(tls?.TrustRoots),
            AllowRenegotiation = false,
        };
        if (alpn == SslApplicationProtocol.Http2)
        {
            // HTTP/2 callers are served by the agent's own codec, which translates to HTTP/1.1 when the app lacks h2.
            options.ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];
        }
        else if (alpn != default)
        {
            options.ApplicationProtocols = [alpn];
        }

        if (tls?.ClientCertificate is { } client)
        {
            options.ClientCertificateContext = client.Current.Context;
        }

        bool skipVerify = tls?.InsecureSkipVerify ?? false;
        options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
        {
            if (skipVerify || errors == SslPolicyErrors.None)
            {
                return true;
            }

            if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            {
                verdict.Reason = "handshake_failed";
                verdict.Detail = "the app sent no certificate";
            }
            else if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                verdict.Reason = "untrusted_certificate";
                verdict.Detail = $"certificate not trusted: \"{certificate?.Subject}\" ({ChainStatus(chain, errors)})";
            }
            else
            {
                verdict.Reason = "name_mismatch";
                verdict.Detail = $"certificate \"{certificate?.Subject}\" does not match the name \"{targetHost}\"";
            }

            return false;
        };
        return options;
    }

    /// <summary>
    /// Chain building with the given roots (system roots when empty), never fetching anything over the network:
    /// no AIA downloads and no online revocation checks, which would stall a sidecar without egress.
    /// </summary>
    public static X509ChainPolicy ChainPolicy(X509Certificate2Collection? roots)
    {
        var policy = new X509ChainPolicy
        {
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        if (roots is { Count: > 0 })
        {
            policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            policy.CustomTrustStore.AddRange(roots);
        }

        return policy;
    }

    private static string ChainStatus(X509Chain? chain, SslPolicyErrors errors)
    {
        if (chain is null || chain.ChainStatus.Length == 0)
        {
            return errors.ToString();
        }

        return string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
    }
}
