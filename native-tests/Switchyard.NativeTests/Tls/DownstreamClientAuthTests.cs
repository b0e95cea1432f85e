using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tls;

/// <summary>downstreamTls.clientAuth: mutual TLS between the caller and the agent.</summary>
public sealed class DownstreamClientAuthTests(ITestOutputHelper output)
{
    private static Task<ProxiedApp> StartAsync(ITestOutputHelper output, bool allowAnonymous = false, bool acceptAnyCert = false) =>
        ProxiedApp.StartAsync(
            output,
            new KestrelAppOptions { Certificate = TestPki.Shared.Server },
            inspect: "always",
            (port, pem) =>
            {
                var clientAuth = new JsonObject
                {
                    ["trustRoots"] = AgentConfig.Strings(pem.CaCert),
                    ["allowAnonymous"] = allowAnonymous,
                    ["acceptAnyCert"] = acceptAnyCert,
                };
                port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"], clientAuth);
                port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            });

    [Fact]
    public async Task CallerWithoutCertificateIsRejectedAndCountedAsCertificateMissing()
    {
        await using var env = await StartAsync(output);

        var result = await Curl.HttpsAsync(env.ListenPort, "/no-cert", "--cacert", env.Pem.CaCert);

        Assert.True(result.ExitCode != 0, $"curl should fail without a client certificate\n{result}");
        Assert.DoesNotContain("method=", result.Body, StringComparison.Ordinal);
        await env.Agent.WaitForMetricAsync("switchyard_tls_handshake_failures_total",
            [("port", "web"), ("side", "downstream"), ("reason", "client_certificate_missing")], v => v >= 1, ">= 1");
    }

    [Fact]
    public async Task CallerWithCertificateFromTheTrustedCaGetsTheAppsResponse()
    {
        await using var env = await StartAsync(output);

        var result = await Curl.HttpsAsync(env.ListenPort, "/trusted-cert",
            "--cacert", env.Pem.CaCert, "--cert", env.Pem.Client.CertPem, "--key", env.Pem.Client.KeyPem);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("path=/trusted-cert\n", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowAnonymousLetsACallerWithoutCertificateThrough()
    {
        await using var env = await StartAsync(output, allowAnonymous: true);

        var anonymous = await Curl.HttpsAsync(env.ListenPort, "/anonymous", "--cacert", env.Pem.CaCert);
        var withCert = await Curl.HttpsAsync(env.ListenPort, "/with-cert",
            "--cacert", env.Pem.CaCert, "--cert", env.Pem.Client.CertPem, "--key", env.Pem.Client.KeyPem);

        Assert.True(anonymous.Succeeded, anonymous.ToString());
        Assert.Contains("path=/anonymous\n", anonymous.Body, StringComparison.Ordinal);
        Assert.True(withCert.Succeeded, withCert.ToString());
        Assert.Contains("path=/with-cert\n", withCert.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcceptAnyCertLetsAnUntrustedSelfSignedCertificateThrough()
    {
        await using var env = await StartAsync(output, acceptAnyCert: true);

        var result = await Curl.HttpsAsync(env.ListenPort, "/any-cert",
            "--cacert", env.Pem.CaCert,
            "--cert", env.Pem.SelfSignedClient.CertPem, "--key", env.Pem.SelfSignedClient.KeyPem);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("path=/any-cert\n", result.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("self-signed")]
    [InlineData("other-ca")]
    public async Task UntrustedCertificateIsRejectedWhenAcceptAnyCertIsOff(string which)
    {
        await using var env = await StartAsync(output);
        var cert = which == "self-signed" ? env.Pem.SelfSignedClient : env.Pem.UntrustedClient;

        var result = await Curl.HttpsAsync(env.ListenPort, "/untrusted-cert",
            "--cacert", env.Pem.CaCert, "--cert", cert.CertPem, "--key", cert.KeyPem);

        Assert.True(result.ExitCode != 0, $"curl should fail with an untrusted client certificate\n{result}");
        Assert.DoesNotContain("method=", result.Body, StringComparison.Ordinal);
        await env.Agent.WaitForMetricAsync("switchyard_tls_handshake_failures_total",
            [("port", "web"), ("side", "downstream"), ("reason", "client_certificate_untrusted")], v => v >= 1, ">= 1");
    }
}
