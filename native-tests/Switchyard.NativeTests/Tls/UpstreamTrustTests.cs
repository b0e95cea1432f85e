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
}
