using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tls;

/// <summary>upstreamTls.certPem/keyPem: the agent presents its own client certificate to an mTLS app.</summary>
public sealed class UpstreamClientCertificateTests(ITestOutputHelper output)
{
    private static readonly KestrelAppOptions MtlsApp = new()
    {
        Certificate = TestPki.Shared.Server,
        ClientCertificateMode = ClientCertificateMode.RequireCertificate,
        ClientCa = TestPki.Shared.Ca,
    };

    [Fact]
    public async Task AppThatRequiresAClientCertificateSeesTheAgentsUpstreamIdentity()
    {
        await using var env = await ProxiedApp.StartAsync(output, MtlsApp, inspect: "always", (port, pem) =>
        {
            // The app requires mTLS, so the agent verifies its callers too (SPEC "Client certificates").
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"], new JsonObject { ["trustRoots"] = AgentConfig.Strings(pem.CaCert) });
            port["upstreamTls"] = new JsonObject
            {
                ["certPem"] = pem.AgentClient.CertPem,
                ["keyPem"] = pem.AgentClient.KeyPem,
                ["trustRoots"] = AgentConfig.Strings(pem.CaCert),
            };
        });

        // The caller shows its own certificate to the agent; what the app sees is the agent's own upstream identity.
        var result = await Curl.HttpsAsync(env.ListenPort, "/whoami",
            "--cacert", env.Pem.CaCert, "--cert", env.Pem.Client.CertPem, "--key", env.Pem.Client.KeyPem);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("client=CN=switchyard-agent\n", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAnUpstreamCertificateTheMtlsAppRefusesAndTheRequestFails()
    {
        await using var env = await ProxiedApp.StartAsync(output, MtlsApp, inspect: "always", (port, pem) =>
        {
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
            port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        });

        var result = await Curl.HttpsAsync(env.ListenPort, "/whoami", "--cacert", env.Pem.CaCert);

        Assert.False(result.Succeeded, result.ToString());
        Assert.DoesNotContain("client=", result.Body, StringComparison.Ordinal);
    }
}
