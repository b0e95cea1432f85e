using System.Text;
using Switchyard.Config;

namespace Switchyard.Tests.Config;

/// <summary>UDP ports: datagrams are relayed as they are, so only a global intercept with a target applies to them.</summary>
public sealed class UdpPortConfigTests
{
    private static string Config(string intercepts, string udpExtra = "") => $$"""
        {
          "version": 1,
          "ports": [
            { "name": "dns", "protocol": "UDP", "listen": 9953, "app": "127.0.0.1:53"{{udpExtra}} },
            { "name": "dns-tcp", "protocol": "TCP", "listen": 9953, "app": "127.0.0.1:53" }
          ],
          "intercepts": [ {{intercepts}} ]
        }
        """;

    private static AgentSettings Parse(string json) => ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "c.json");

    [Fact]
    public void A_UDP_port_may_share_its_number_with_a_TCP_port_and_is_relayed_without_inspection()
    {
        AgentSettings settings = Parse(Config(string.Empty, """, "udpIdleTimeout": "5s" """));

        PortSettings udp = settings.Ports[0];
        Assert.Equal("UDP", udp.Protocol);
        Assert.Equal(TlsMode.Off, udp.Tls);
        Assert.Equal(HttpMode.None, udp.Http);
        Assert.Equal(InspectMode.Never, udp.Inspect);
        Assert.Equal(TimeSpan.FromSeconds(5), udp.UdpIdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.Ports[1].UdpIdleTimeout);
    }

    [Fact]
    public void A_global_intercept_with_a_target_takes_a_UDP_port()
    {
        AgentSettings settings = Parse(Config("""{ "id": "dev", "port": "dns", "target": "127.0.0.1:5353" }"""));

        Assert.True(settings.Intercepts[0].Rule.IsGlobal);
        Assert.Equal("dns", settings.Intercepts[0].Port);
    }

    [Theory]
    [InlineData("""{ "id": "dev", "port": "dns", "target": "127.0.0.1:5353", "match": { "header": "x-dev", "exact": "a" } }""", "$.intercepts[0].match", "port \"dns\" is UDP: only a global intercept (no match) applies to datagrams")]
    [InlineData("""{ "id": "tap", "port": "dns", "mode": "wiretap", "target": "127.0.0.1:5353" }""", "$.intercepts[0].mode", "port \"dns\" is UDP: only a global intercept (no match) applies to datagrams")]
    [InlineData("""{ "id": "dev", "port": "dns" }""", "$.intercepts[0].target", "required on UDP port \"dns\" (datagrams are not carried through the developer tunnel)")]
    [InlineData("""{ "id": "a", "port": "dns", "target": "127.0.0.1:1" }, { "id": "b", "port": "dns", "target": "127.0.0.1:2" }""", "$.intercepts[1]", "conflicts with intercept \"a\": it is a global intercept that takes the whole port \"dns\"")]
    public void Intercepts_a_UDP_port_cannot_carry_are_config_errors(string intercepts, string path, string reason)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(Config(intercepts)));

        Assert.Equal(path, e.JsonPath);
        Assert.Equal(reason, e.Reason);
    }

    [Fact]
    public void A_bad_UDP_idle_timeout_names_its_field()
    {
        var e = Assert.Throws<ConfigException>(() => Parse(Config(string.Empty, """, "udpIdleTimeout": "soon" """)));

        Assert.Equal("$.ports[0].udpIdleTimeout", e.JsonPath);
        Assert.Equal("expected a duration such as \"60s\", found \"soon\"", e.Reason);
    }
}
