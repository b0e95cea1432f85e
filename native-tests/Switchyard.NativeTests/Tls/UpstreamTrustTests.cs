using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tls;

/// <summary>How the agent verifies the app's certificate: trustRoots, serverName, insecureSkipVerify.</summary>
public sealed class UpstreamTrustTests(ITestOutputHelper output)
{
    private static Task<ProxiedApp> StartAsync(ITestOutputHelper output, X509Certificate2 appCert, Func<PemSet, JsonObject> upstreamTls) =>
        ProxiedApp.StartAsync(output, new KestrelAppOptions { Certificate = appCert }, inspect: "always", (port, pem) =>
        {
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
            port["upstreamTls"] = upstreamTls(pem);
        });

    [Fact]
    public async Task AppCertificateFromAnUntrustedCaFailsTheRequestWithALogLineAndMetric()
    {
        await using var env = await StartAsync(output, TestPki.Shared.ServerFromOtherCa, pem => AgentConfig.UpstreamTls(pem.CaCert));

        var result = await Curl.HttpsAsync(env.ListenPort, "/untrusted-app", "--cacert", env.Pem.CaCert);

        Assert.True(result.ExitCode != 0 || result.StatusCode == 502, $"the request must fail (closed or 502)\n{result}");
        Assert.DoesNotContain("method=", result.Body, StringComparison.Ordinal);
        await env.Agent.WaitForLogAsync(
            e => e.Message.Contains("upstream TLS", StringComparison.OrdinalIgnoreCase)
                 && e.Message.Contains("not trusted", StringComparison.OrdinalIgnoreCase),
            "whose Message mentions \"upstream TLS\" and \"not trusted\"");
        await env.Agent.WaitForMetricAsync("switchyard_tls_handshake_failures_total",
            [("port", "web"), ("side", "upstream"), ("reason", "untrusted_certificate")], v => v >= 1, ">= 1");
    }

    [Fact]
    public async Task InsecureSkipVerifyAcceptsAnAppCertificateFromAnUntrustedCa()
    {
        await using var env = await StartAsync(output, TestPki.Shared.ServerFromOtherCa, pem => new JsonObject
        {
            ["trustRoots"] = AgentConfig.Strings(pem.CaCert),
            ["insecureSkipVerify"] = true,
        });

        var result = await Curl.HttpsAsync(env.ListenPort, "/skip-verify", "--cacert", env.Pem.CaCert);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("path=/skip-verify\n", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppCertificateForAnotherNameFailsAsNameMismatch()
    {
        await using var env = await StartAsync(output, TestPki.Shared.ServerForOtherName, pem => AgentConfig.UpstreamTls(pem.CaCert));

        var result = await Curl.HttpsAsync(env.ListenPort, "/wrong-name", "--cacert", env.Pem.CaCert);

        Assert.True(result.ExitCode != 0 || result.StatusCode == 502, $"the request must fail (closed or 502)\n{result}");
        Assert.DoesNotContain("method=", result.Body, StringComparison.Ordinal);
        await env.Agent.WaitForMetricAsync("switchyard_tls_handshake_failures_total",
            [("port", "web"), ("side", "upstream"), ("reason", "name_mismatch")], v => v >= 1, ">= 1");
    }

    [Fact]
    public async Task ServerNameOverrideVerifiesTheAppCertificateAgainstThatName()
    {
        await using var env = await StartAsync(output, TestPki.Shared.ServerForOtherName, pem => new JsonObject
        {
            ["trustRoots"] = AgentConfig.Strings(pem.CaCert),
            ["serverName"] = "other.example",
        });

        var result = await Curl.HttpsAsync(env.ListenPort, "/server-name", "--cacert", env.Pem.CaCert);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("path=/server-name\n", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrustRootsGivenAsADirectoryAreLoaded()
    {
        await using var env = await ProxiedApp.StartAsync(output, new KestrelAppOptions { Certificate = TestPki.Shared.Server }, inspect: "always", (port, pem) =>
        {
            var rootsDir = Path.Combine(Path.GetDirectoryName(pem.CaCert)!, "roots");
            Directory.CreateDirectory(rootsDir);
            TestPki.WriteCertPem(TestPki.Shared.OtherCa, rootsDir, "a-other");
            TestPki.WriteCertPem(TestPki.Shared.Ca, rootsDir, "b-ca");
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
            port["upstreamTls"] = AgentConfig.UpstreamTls(rootsDir + "/");
        });

        var result = await Curl.HttpsAsync(env.ListenPort, "/roots-dir", "--cacert", env.Pem.CaCert);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("path=/roots-dir\n", result.Body, StringComparison.Ordinal);
    }

    /// <summary>
    /// Without trustRoots the app is verified against the system CA store, which the agent no longer loads at start
    /// (perf/RESULTS.md, issue 16): it must be there for the first verifying handshake. For this agent the system store
    /// is the test CA alone (SSL_CERT_FILE and an empty SSL_CERT_DIR, which OpenSSL and .NET read for it), so an app
    /// certificate from that CA is trusted and one from another CA is not.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_trustRoots_the_app_is_verified_against_the_system_store(bool appFromOtherCa)
    {
        using var dir = new TempDir();
        PemSet pem = PemSet.Write(dir.Path);
        await using KestrelApp app = await KestrelApp.StartAsync(new KestrelAppOptions
        {
            Certificate = appFromOtherCa ? TestPki.Shared.ServerFromOtherCa : TestPki.Shared.Server,
        });
        string systemDir = Directory.CreateDirectory(dir.File("system-certs")).FullName;
        int listen = Ports.GetFreeTcpPort();
        int admin = Ports.GetFreeTcpPort();
        JsonObject port = AgentConfig.Port("web", listen, app.Port, "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = new JsonObject(); // verify, with the system roots
        string configPath = dir.File("config.json");
        await File.WriteAllTextAsync(configPath, AgentConfig.Create(admin, port).ToJsonString());

        await using AgentProcess agent = await AgentProcess.StartWithConfigFileAsync(output, dir, configPath, admin,
            new Dictionary<string, string> { ["SSL_CERT_FILE"] = pem.CaCert, ["SSL_CERT_DIR"] = systemDir });
        var result = await Curl.HttpsAsync(listen, "/system-store", "--cacert", pem.CaCert);

        if (appFromOtherCa)
        {
            Assert.True(result.ExitCode != 0 || result.StatusCode == 502, $"the request must fail (closed or 502)\n{result}");
            Assert.DoesNotContain("method=", result.Body, StringComparison.Ordinal);
            await agent.WaitForMetricAsync("switchyard_tls_handshake_failures_total",
                [("port", "web"), ("side", "upstream"), ("reason", "untrusted_certificate")], v => v >= 1, ">= 1");
        }
        else
        {
            Assert.True(result.Succeeded, result.ToString());
            Assert.Contains("path=/system-store\n", result.Body, StringComparison.Ordinal);
        }
    }
}
