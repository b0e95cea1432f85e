using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using BenchmarkDotNet.Attributes;
using Switchyard.Config;
using Switchyard.Tls;

namespace Switchyard.Benchmarks;

/// <summary>
/// The config path: what a start or a hot reload (ConfigMap swap, certificate rotation) costs.
/// <see cref="ConfigLoader.Parse"/> is deserialization (source-generated System.Text.Json), validation and the
/// XxHash3 fingerprint; with downstreamTls it also reads and parses the PEM files and builds the
/// SslStreamCertificateContext.
/// </summary>
[MemoryDiagnoser]
public class ConfigBenchmarks
{
    private string _dir = string.Empty;
    private string _certPath = string.Empty;
    private string _keyPath = string.Empty;
    private byte[] _typical = [];
    private byte[] _withCertificate = [];

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("switchyard-bench-").FullName;
        _certPath = Path.Combine(_dir, "tls.crt");
        _keyPath = Path.Combine(_dir, "tls.key");
        using (ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=echo.default.svc", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("echo.default.svc");
            request.CertificateExtensions.Add(san.Build());
            using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            File.WriteAllText(_certPath, certificate.ExportCertificatePem());
            File.WriteAllText(_keyPath, key.ExportPkcs8PrivateKeyPem());
        }

        // A config as `switchyard generate` would write it for a two-port workload, with two intercepts.
        _typical = Encoding.UTF8.GetBytes(Config(downstreamTls: string.Empty));
        _withCertificate = Encoding.UTF8.GetBytes(Config(downstreamTls: $$"""
            "downstreamTls": { "certPem": "{{_certPath}}", "keyPem": "{{_keyPath}}", "alpn": ["h2", "http/1.1"] },
            """));

        // Fail here, not in the middle of a measurement, if either document stopped being valid.
        _ = ConfigLoader.Parse(_typical, "typical.json");
        _ = ConfigLoader.Parse(_withCertificate, "tls.json");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true, Description = "Parse typical config (2 ports, 2 intercepts, no PEM files)")]
    public AgentSettings ParseTypical() => ConfigLoader.Parse(_typical, "typical.json");

    [Benchmark(Description = "Parse config with downstreamTls (reads and loads the PEM pair)")]
    public AgentSettings ParseWithCertificate() => ConfigLoader.Parse(_withCertificate, "tls.json");

    [Benchmark(Description = "PemLoader.LoadCertificate (P-256 leaf + PKCS#8 key)")]
    public CertificateMaterial LoadCertificate() => PemLoader.LoadCertificate(_certPath, _keyPath);

    [Benchmark(Description = "Fingerprint (XxHash3 of the config bytes)")]
    public string Fingerprint() => ConfigLoader.Fingerprint(_typical);

    private static string Config(string downstreamTls) => $$"""
        {
          "version": 1,
          "workload": { "kind": "Deployment", "name": "echo", "namespace": "default", "labels": { "app": "echo", "tier": "web" } },
          "admin": { "listen": "127.0.0.1:9901", "tokenFile": null },
          "tunnel": { "listen": "0.0.0.0:9902" },
          "ports": [
            {
              "name": "https",
              "protocol": "TCP",
              "appProtocol": "https",
              "listen": 9900,
              "app": "127.0.0.1:8443",
              "tls": "auto",
              "http": "auto",
              "inspect": "auto",
              "probeTimeout": "2s",
              {{downstreamTls}}
              "upstreamTls": { "trustRoots": [], "insecureSkipVerify": true, "serverName": null }
            },
            {
              "name": "metrics",
              "listen": "127.0.0.1:9090",
              "app": "127.0.0.1:8080",
              "tls": "off",
              "http": "http1",
              "inspect": "never",
              "probeTimeout": "500ms"
            }
          ],
          "intercepts": [
            {
              "id": "alice",
              "port": "https",
              "mode": "intercept",
              "match": { "all": [ { "header": "x-dev", "exact": "alice" }, { "path": { "prefix": "/api/" } } ] },
              "target": "127.0.0.1:18080",
              "failOpen": true,
              "delivery": { "plaintext": false, "http": "auto", "trustRoots": [], "serverName": null, "certPem": null, "keyPem": null }
            },
            {
              "id": "tap-bob",
              "port": "9900",
              "mode": "wiretap",
              "match": { "any": [ { "method": "POST" }, { "header": "x-debug", "regex": "^bob-[0-9]+$" } ] },
              "target": "127.0.0.1:18081"
            }
          ]
        }
        """;
}
