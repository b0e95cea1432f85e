using System.Text;
using Switchyard.Config;

namespace Switchyard.Tests.Config;

/// <summary><c>ports[].limits</c>: defaults, overrides, and each bad value named by its JSON path.</summary>
public sealed class PortLimitsConfigTests
{
    private static AgentSettings Parse(string limits, string extraPort = "") => ConfigLoader.Parse(Encoding.UTF8.GetBytes(
        $$"""{ "version": 1, "ports": [ { "name": "web", "listen": "127.0.0.1:9900", "app": "127.0.0.1:8080"{{extraPort}}{{limits}} } ] }"""), "c.json");

    [Fact]
    public void Without_limits_every_default_of_the_spec_applies()
    {
        PortLimits limits = Parse("").Ports[0].Limits;
        Assert.Equal(TimeSpan.FromSeconds(10), limits.TlsHandshakeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), limits.RequestHeadTimeout);
        Assert.Equal(TimeSpan.FromSeconds(120), limits.IdleTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5), limits.StreamIdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), limits.WriteStallTimeout);
        Assert.Null(limits.AppResponseTimeout);
        Assert.Null(limits.MaxConnections);
        Assert.Equal(64 * 1024, Parse("").Ports[0].Http1Limits!.MaxHeadBytes);
    }

    [Fact]
    public void Each_limit_can_be_set_and_the_others_keep_their_defaults()
    {
        AgentSettings settings = Parse(""", "limits": { "tlsHandshakeTimeout": "3s", "requestHeadTimeout": "2s", "idleTimeout": "30s", "streamIdleTimeout": "1m", "writeStallTimeout": "15s", "appResponseTimeout": "500ms", "maxRequestHeadBytes": 8192, "maxConnections": 1000 }""");
        PortLimits limits = settings.Ports[0].Limits;
        Assert.Equal(TimeSpan.FromSeconds(3), limits.TlsHandshakeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), limits.RequestHeadTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), limits.IdleTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), limits.StreamIdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(15), limits.WriteStallTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(500), limits.AppResponseTimeout);
        Assert.Equal(1000, limits.MaxConnections);
        Assert.Equal(PortLimits.Default.MaxBodyBytes, limits.MaxBodyBytes);
        Assert.Equal(TimeSpan.FromSeconds(1), limits.BodyTimeout);
        Assert.Equal(8192, settings.Ports[0].Http1Limits!.MaxHeadBytes);

        Assert.Equal(TimeSpan.FromSeconds(10), Parse(""", "limits": { "idleTimeout": "30s" }""").Ports[0].Limits.RequestHeadTimeout);
    }

    [Fact]
    public void The_older_port_level_maxRequestHeadBytes_is_still_accepted()
    {
        Assert.Equal(4096, Parse("", """, "maxRequestHeadBytes": 4096""").Ports[0].Http1Limits!.MaxHeadBytes);
        Assert.Equal(4096, Parse(""", "limits": { "maxRequestHeadBytes": 4096 }""", """, "maxRequestHeadBytes": 4096""").Ports[0].Http1Limits!.MaxHeadBytes);
    }

    [Theory]
    [InlineData("\"idleTimeout\": \"soon\"", "$.ports[0].limits.idleTimeout", "found \"soon\"")]
    [InlineData("\"requestHeadTimeout\": \"0s\"", "$.ports[0].limits.requestHeadTimeout", "above zero")]
    [InlineData("\"streamIdleTimeout\": \"-5s\"", "$.ports[0].limits.streamIdleTimeout", "found \"-5s\"")]
    [InlineData("\"appResponseTimeout\": \"0s\"", "$.ports[0].limits.appResponseTimeout", "above zero")]
    [InlineData("\"maxConnections\": 0", "$.ports[0].limits.maxConnections", "expected 1 or more")]
    [InlineData("\"maxBodyBytes\": -1", "$.ports[0].limits.maxBodyBytes", "expected 0 to 16777216 bytes (16 MiB), found -1")]
    [InlineData("\"maxBodyBytes\": 16777217", "$.ports[0].limits.maxBodyBytes", "expected 0 to 16777216")]
    [InlineData("\"bodyTimeout\": \"0s\"", "$.ports[0].limits.bodyTimeout", "above zero")]
    [InlineData("\"bodyTimeout\": 5", "$.ports[0].limits.bodyTimeout", "")]
    [InlineData("\"maxRequestHeadBytes\": 100", "$.ports[0].limits.maxRequestHeadBytes", "expected 1024 to 1048576")]
    [InlineData("\"idleTimout\": \"5s\"", "$.ports[0].limits.idleTimout", "idleTimout")]
    public void A_bad_limit_is_refused_with_its_path_and_reason(string field, string path, string reason)
    {
        ConfigException e = Assert.Throws<ConfigException>(() => Parse($$""", "limits": { {{field}} }"""));
        Assert.Equal(path, e.JsonPath);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_different_head_limits_are_refused()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => Parse(""", "limits": { "maxRequestHeadBytes": 8192 }""", """, "maxRequestHeadBytes": 4096"""));
        Assert.Equal("$.ports[0].limits.maxRequestHeadBytes", e.JsonPath);
        Assert.Contains("set it in one place", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Body_filter_limits_default_to_64_KiB_and_1_s_and_can_be_set()
    {
        Assert.Equal(65536, PortLimits.Default.MaxBodyBytes);
        Assert.Equal(TimeSpan.FromSeconds(1), PortLimits.Default.BodyTimeout);
        PortLimits limits = Parse(""", "limits": { "maxBodyBytes": 200000, "bodyTimeout": "250ms" }""").Ports[0].Limits;
        Assert.Equal(200000, limits.MaxBodyBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(250), limits.BodyTimeout);
    }
}
