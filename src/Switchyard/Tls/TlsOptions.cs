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

    /// <summary>
    /// The caller's side: the port's certificate and ALPN list (h2 included when listed: the HTTP/2 codec serves it).
    /// <paramref name="offersTls13"/>: the caller's ClientHello lists TLS 1.3 (<see cref="ClientHello.OffersTls13"/>).
    /// Such a caller, on a port without clientAuth, gets TLS 1.3 only and no <see cref="CipherSuitesPolicy"/>: it would
    /// negotiate TLS 1.3 anyway (the highest common version), and TLS 1.3's suites are the three AEAD ones the policy
    /// lists. .NET reuses one OpenSSL context (SSL_CTX) per certificate only when no policy is set; with the policy,
    /// every handshake builds its own (SSL_CTX_new, cipher lists, certificate and key), the largest avoidable part of a
    /// new connection's CPU (perf/RESULTS.md, issue 16). The shared context also issues TLS 1.3 session tickets, so
    /// such callers can resume. Everyone else (TLS 1.2 callers, clientAuth ports) keeps the policy: ECDHE with AEAD
    /// only in TLS 1.2, and a context of its own per handshake, so no session made elsewhere is ever resumed on a
    /// port that requires a client certificate.
    /// </summary>
    public static SslServerAuthenticationOptions Server(DownstreamTlsSettings tls, HandshakeVerdict verdict, bool offersTls13 = false)
    {
        bool sharedContext = offersTls13 && tls.ClientAuth is null;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = tls.Certificate.Current.Context, // read per handshake: a rotated certificate applies to the next one
            ApplicationProtocols = tls.Alpn,
            // OS defaults (TLS 1.2 and 1.3) unless the caller offers TLS 1.3, which it then gets.
            EnabledSslProtocols = sharedContext ? System.Security.Authentication.SslProtocols.Tls13 : System.Security.Authentication.SslProtocols.None,
            AllowRenegotiation = false,
        };

        if (OperatingSystem.IsLinux() && !sharedContext)
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
            // insecureSkipVerify accepts any certificate (the callback below), but SslStream builds the chain all the
            // same: against no roots, instead of an OpenSSL store filled with the ~150 system roots per handshake.
            CertificateChainPolicy = tls?.InsecureSkipVerify == true ? TrustNothing() : ChainPolicy(tls?.TrustRoots),
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

    /// <summary>A chain policy with no trusted root at all, for handshakes whose result is ignored (insecureSkipVerify).</summary>
    private static X509ChainPolicy TrustNothing() => new()
    {
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
        TrustMode = X509ChainTrustMode.CustomRootTrust,
    };

    private static string ChainStatus(X509Chain? chain, SslPolicyErrors errors)
    {
        if (chain is null || chain.ChainStatus.Length == 0)
        {
            return errors.ToString();
        }

        return string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
    }
}
