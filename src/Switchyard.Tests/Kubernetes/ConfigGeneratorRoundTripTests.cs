using System.Text;
using Switchyard.Config;
using Switchyard.Kubernetes;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Kubernetes.GenerateFixtures;

namespace Switchyard.Tests.Kubernetes;

/// <summary>The generated JSON is a config the agent accepts: ConfigLoader.Parse with real PEM files on the annotated paths.</summary>
public sealed class ConfigGeneratorRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string PemDirectory(string name, IssuedCertificate certificate)
    {
        string dir = _dir.CreateSubdirectory(name);
        File.WriteAllText(Path.Combine(dir, "tls.crt"), certificate.CertificatePem);
        File.WriteAllText(Path.Combine(dir, "tls.key"), certificate.KeyPem(KeyFormat.Pkcs8));
        return dir;
    }

    [Fact]
    public void A_config_with_path_annotations_loads_with_the_settings_it_describes()
    {
        string server = PemDirectory("server", TestPki.Shared.RsaLeaf);
        File.WriteAllText(Path.Combine(server, "ca.crt"), TestPki.Shared.RootPem); // the app requires mTLS: callers are verified against it
        string client = PemDirectory("client", TestPki.Shared.EcLeaf);
        string yaml = Api($"""
            telepresence.io/downstream-tls-path.8443: {server}
            telepresence.getambassador.io/upstream-tls-path.8443: {client}/
            telepresence.io/upstream-insecure-skip-verify.8443: enabled
            telepresence.io/upstream-probe-timeout.8443: 750ms
            """);
        Generation generation = Generate(yaml);

        AgentSettings settings = ConfigLoader.Parse(Encoding.UTF8.GetBytes(generation.ConfigJson), "generated.json");

        Assert.Equal(["https", "http"], settings.Ports.Select(p => p.Name));
        PortSettings https = settings.Ports[0];
        Assert.Equal((9900, "127.0.0.1", 8443), (https.Listen.Port, https.AppHost, https.AppPort));
        Assert.Equal(TimeSpan.FromMilliseconds(750), https.ProbeTimeout);
        Assert.NotNull(https.DownstreamTls);
        Assert.NotNull(https.UpstreamTls);
        Assert.True(https.UpstreamTls!.InsecureSkipVerify);
        Assert.Single(https.DownstreamTls!.ClientAuth!.TrustRoots);
        Assert.False(https.DownstreamTls.ClientAuth.AllowAnonymous);
        Assert.Null(settings.Ports[1].DownstreamTls);
        Assert.Equal([server, client], generation.TlsPaths.Select(p => p.Path));
    }

    [Fact]
    public void A_config_from_a_mirrord_resource_with_client_auth_loads()
    {
        string server = PemDirectory("m", TestPki.Shared.EcLeaf);
        string roots = _dir.Write("roots.pem", TestPki.Shared.RootPem);
        string yaml = Api(extraDocuments: $"""
            ---
            apiVersion: mirrord.metalbear.co/v1alpha
            kind: MirrordTlsStealConfig
            metadata: {"{"}name: api{"}"}
            spec:
              targetPath: deploy/api/container/api
              ports:
              - port: 8443
                agentAsServer:
                  authentication: {"{"}certPem: {server}/tls.crt, keyPem: {server}/tls.key{"}"}
                  alpnProtocols: [http/1.1]
                  verification: {"{"}trustRoots: [{roots}]{"}"}
                agentAsClient:
                  verification: {"{"}trustRoots: [{roots}], serverName: api.payments.svc{"}"}
            """);

        AgentSettings settings = ConfigLoader.Parse(Encoding.UTF8.GetBytes(Generate(yaml).ConfigJson), "generated.json");

        PortSettings https = settings.Ports.Single(p => p.Name == "https");
        Assert.Equal(["http/1.1"], https.DownstreamTls!.Alpn.Select(a => a.ToString()));
        Assert.NotNull(https.DownstreamTls.ClientAuth);
        Assert.Single(https.UpstreamTls!.TrustRoots);
        Assert.Equal("api.payments.svc", https.UpstreamTls.ServerName);
    }

    [Fact]
    public void The_fingerprint_of_the_same_input_is_the_same()
    {
        string first = ConfigLoader.Parse(Encoding.UTF8.GetBytes(Generate(Api()).ConfigJson), "a.json").Fingerprint;
        string second = ConfigLoader.Parse(Encoding.UTF8.GetBytes(Generate(Api()).ConfigJson), "b.json").Fingerprint;

        Assert.Equal(first, second);
    }

    [Fact]
    public void The_shop_config_with_its_UDP_port_loads_and_the_UDP_port_is_relayed_without_inspection()
    {
        Generation generation = Generate(Shop, "deploy/shop");

        AgentSettings settings = ConfigLoader.Parse(Encoding.UTF8.GetBytes(generation.ConfigJson), "generated.json");

        PortSettings dns = Assert.Single(settings.Ports, p => p.Protocol == "UDP");
        Assert.Equal(("dns", 9904, 53), (dns.Name, dns.Listen.Port, dns.AppPort));
        Assert.Equal((TlsMode.Off, HttpMode.None, InspectMode.Never), (dns.Tls, dns.Http, dns.Inspect));
    }
}
