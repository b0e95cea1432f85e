using System.Net;
using System.Net.Security;
using Switchyard.Config;
using Switchyard.Detection;
using Switchyard.Tests.TestSupport;
using Switchyard.Tls;

namespace Switchyard.Tests.Detection;

public sealed class ProtocolDetectorTests
{
    private const TlsDetection Tls = TlsDetection.Tls;
    private const TlsDetection Plain = TlsDetection.Plaintext;
    private const TlsDetection UnknownTls = TlsDetection.Unknown;
    private const HttpDetection H1 = HttpDetection.Http1;
    private const HttpDetection H2 = HttpDetection.Http2;
    private const HttpDetection NoHttp = HttpDetection.None;
    private const HttpDetection UnknownHttp = HttpDetection.Unknown;
    private const DetectionSource Config = DetectionSource.Config;
    private const DetectionSource Downstream = DetectionSource.DownstreamTls;
    private const DetectionSource AppProtocol = DetectionSource.AppProtocol;
    private const DetectionSource PortName = DetectionSource.PortName;
    private const DetectionSource PortNumber = DetectionSource.PortNumber;
    private const DetectionSource Pending = DetectionSource.Pending;

    private static readonly Lazy<DownstreamTlsSettings> DownstreamTlsSettings = new(() =>
    {
        using var dir = new TempDirectory();
        CertificateMaterial material = PemLoader.LoadCertificate(
            dir.Write("tls.crt", TestPki.Shared.EcLeaf.CertificatePem),
            dir.Write("tls.key", TestPki.Shared.EcLeaf.KeyPem(KeyFormat.Pkcs8)));
        return new DownstreamTlsSettings(CertificateSource.Of(material), [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11], null);
    });

    [Theory]
    // An explicit "tls" wins over every rule.
    [InlineData(TlsMode.On, HttpMode.Auto, null, "web", 8080, false, Tls, Config, UnknownHttp, Pending)]
    [InlineData(TlsMode.On, HttpMode.Auto, null, "web", 8080, true, Tls, Config, UnknownHttp, Pending)]
    [InlineData(TlsMode.On, HttpMode.Auto, "h2c", "web", 8080, false, Tls, Config, H2, AppProtocol)]
    [InlineData(TlsMode.Off, HttpMode.Auto, "https", "https", 443, false, Plain, Config, UnknownHttp, Pending)]
    [InlineData(TlsMode.Off, HttpMode.Auto, "grpc", "web", 8080, false, Plain, Config, H2, AppProtocol)]
    // 1. downstreamTls configured -> TLS, ahead of appProtocol, name and number.
    [InlineData(TlsMode.Auto, HttpMode.Auto, null, "web", 8080, true, Tls, Downstream, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "h2c", "web", 8080, true, Tls, Downstream, H2, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "ws", "https", 443, true, Tls, Downstream, H1, AppProtocol)]
    // 2. appProtocol -> TLS.
    [InlineData(TlsMode.Auto, HttpMode.Auto, "https", "web", 8080, false, Tls, AppProtocol, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "wss", "web", 8080, false, Tls, AppProtocol, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "kubernetes.io/wss", "web", 8080, false, Tls, AppProtocol, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "http2", "web", 8080, false, Tls, AppProtocol, H2, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "grpc", "web", 8080, false, Tls, AppProtocol, H2, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "tls", "web", 8080, false, Tls, AppProtocol, UnknownHttp, Pending)]
    // 2. appProtocol -> HTTP/2, never TLS, no HTTP at all.
    [InlineData(TlsMode.Auto, HttpMode.Auto, "h2c", "web", 8080, false, Plain, AppProtocol, H2, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "kubernetes.io/h2c", "web", 8080, false, Plain, AppProtocol, H2, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "kubernetes.io/ws", "web", 8080, false, Plain, AppProtocol, H1, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "ws", "web", 8080, false, Plain, AppProtocol, H1, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "tcp", "web", 8080, false, UnknownTls, Pending, NoHttp, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "udp", "web", 8080, false, UnknownTls, Pending, NoHttp, AppProtocol)]
    // appProtocol comes before the port's name and number.
    [InlineData(TlsMode.Auto, HttpMode.Auto, "h2c", "https", 443, false, Plain, AppProtocol, H2, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "kubernetes.io/ws", "https", 8080, false, Plain, AppProtocol, H1, AppProtocol)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "tcp", "https", 443, false, Tls, PortName, NoHttp, AppProtocol)]
    // 3. port name https, app port 443.
    [InlineData(TlsMode.Auto, HttpMode.Auto, null, "https", 8443, false, Tls, PortName, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, null, "https", 443, false, Tls, PortName, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, null, "web", 443, false, Tls, PortNumber, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "example.com/custom", "web", 443, false, Tls, PortNumber, UnknownHttp, Pending)]
    // 4. nothing said: the probe decides.
    [InlineData(TlsMode.Auto, HttpMode.Auto, null, "web", 8080, false, UnknownTls, Pending, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, null, "http", 80, false, UnknownTls, Pending, UnknownHttp, Pending)]
    [InlineData(TlsMode.Auto, HttpMode.Auto, "example.com/custom", "web", 8443, false, UnknownTls, Pending, UnknownHttp, Pending)]
    // An explicit "http" wins over appProtocol.
    [InlineData(TlsMode.Auto, HttpMode.Http1, "grpc", "web", 8080, false, Tls, AppProtocol, H1, Config)]
    [InlineData(TlsMode.Auto, HttpMode.Http2, "ws", "web", 8080, false, Plain, AppProtocol, H2, Config)]
    [InlineData(TlsMode.Auto, HttpMode.None, "http2", "web", 8080, false, Tls, AppProtocol, NoHttp, Config)]
    [InlineData(TlsMode.Auto, HttpMode.Http1, null, "web", 8080, false, UnknownTls, Pending, H1, Config)]
    public void Config_alone_decides_what_the_detection_order_says(
        TlsMode tls,
        HttpMode http,
        string? appProtocol,
        string name,
        int appPort,
        bool downstreamTls,
        TlsDetection expectedTls,
        DetectionSource expectedTlsSource,
        HttpDetection expectedHttp,
        DetectionSource expectedHttpSource)
    {
        PortSettings port = Port(tls, http, appProtocol, name, appPort, downstreamTls);

        PortProtocol protocol = ProtocolDetector.FromConfig(port);

        Assert.Equal(new PortProtocol(expectedTls, expectedTlsSource, expectedHttp, expectedHttpSource), protocol);
        Assert.Equal(expectedTls == UnknownTls || expectedHttp == UnknownHttp, protocol.NeedsProbe);
    }

    [Theory]
    [InlineData("https", false)]
    [InlineData("grpc", false)]
    [InlineData("h2c", false)]
    [InlineData("ws", false)]
    [InlineData(null, true)]
    [InlineData("tcp", true)]
    public void Only_a_port_with_something_undecided_needs_a_probe(string? appProtocol, bool needsProbe)
    {
        // With "http" set, the TLS half is the one left open.
        PortProtocol protocol = ProtocolDetector.FromConfig(Port(TlsMode.Auto, HttpMode.Http1, appProtocol, "web", 8080, false));

        Assert.Equal(needsProbe, protocol.NeedsProbe);
    }

    [Fact]
    public void A_udp_port_never_gets_http_inspection()
    {
        PortSettings port = Port(TlsMode.Auto, HttpMode.Auto, null, "dns", 53, false) with { Protocol = "UDP" };

        PortProtocol protocol = ProtocolDetector.FromConfig(port);

        Assert.Equal(HttpDetection.None, protocol.Http);
    }

    [Fact]
    public void A_port_parsed_from_config_is_detected_the_same_way()
    {
        string json = """
            { "version": 1, "ports": [
              { "name": "https", "listen": 9900, "app": "127.0.0.1:8443" },
              { "name": "grpc", "appProtocol": "grpc", "listen": 9901, "app": "127.0.0.1:9000" },
              { "name": "plain", "listen": 9902, "app": "127.0.0.1:8080", "tls": "off", "http": "http1" },
              { "name": "other", "listen": 9903, "app": "127.0.0.1:8081" }
            ] }
            """;
        AgentSettings settings = ConfigLoader.Parse(System.Text.Encoding.UTF8.GetBytes(json), "c.json");

        PortProtocol[] detected = [.. settings.Ports.Select(ProtocolDetector.FromConfig)];

        Assert.Equal(
            [
                new PortProtocol(Tls, PortName, UnknownHttp, Pending),
                new PortProtocol(Tls, AppProtocol, H2, AppProtocol),
                new PortProtocol(Plain, Config, H1, Config),
                new PortProtocol(UnknownTls, Pending, UnknownHttp, Pending),
            ],
            detected);
    }

    private static PortSettings Port(TlsMode tls, HttpMode http, string? appProtocol, string name, int appPort, bool downstreamTls) =>
        new(
            Index: 0,
            Name: name,
            Protocol: "TCP",
            AppProtocol: appProtocol,
            Listen: new IPEndPoint(IPAddress.IPv6Any, 9900),
            AppHost: "127.0.0.1",
            AppPort: appPort,
            Tls: tls,
            Http: http,
            Inspect: InspectMode.Auto,
            ProbeTimeout: TimeSpan.FromSeconds(2),
            DownstreamTls: downstreamTls ? DownstreamTlsSettings.Value : null,
            UpstreamTls: null);
}
