using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Routing;

/// <summary>delivery.trustRoots / serverName / client certificate toward an intercept target.</summary>
public sealed class DeliveryTlsTests(ITestOutputHelper output)
{
    private async Task<string> RouteAliceAsync(Func<PemSet, JsonObject> delivery, bool targetNeedsClientCert)
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" });
        await using var developer = await KestrelApp.StartAsync(new KestrelAppOptions
        {
            Certificate = TestPki.Shared.ServerFromOtherCa,
            Name = "alice-laptop",
            ClientCertificateMode = targetNeedsClientCert ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
            ClientCa = targetNeedsClientCert ? TestPki.Shared.Ca : null,
        });
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, app.Port, "auto");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(new JsonObject
        {
            ["id"] = "alice",
            ["port"] = "web",
            ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
            ["target"] = $"127.0.0.1:{developer.Port}",
            ["delivery"] = delivery(pem),
        });
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        var result = await Curl.HttpsAsync(listen, "/api/x", "--cacert", pem.CaCert, "-H", "x-dev: alice");
        Assert.True(result.Succeeded, result.ToString());
        return result.Body;
    }

    [Fact]
    public async Task TrustRootsThatSignTheTargetLetTheRequestThrough()
    {
        string body = await RouteAliceAsync(pem => new JsonObject { ["trustRoots"] = AgentConfig.Strings(pem.OtherCaCert), ["serverName"] = "localhost" }, false);
        Assert.StartsWith("app=alice-laptop\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrustRootsThatDoNotSignTheTargetMakeTheInterceptFailOpenToTheApp()
    {
        string body = await RouteAliceAsync(pem => new JsonObject { ["trustRoots"] = AgentConfig.Strings(pem.CaCert) }, false);
        Assert.StartsWith("app=the-app\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientCertificateIsPresentedToATargetThatRequiresOne()
    {
        string body = await RouteAliceAsync(pem => new JsonObject
        {
            ["trustRoots"] = AgentConfig.Strings(pem.OtherCaCert),
            ["certPem"] = pem.AgentClient.CertPem,
            ["keyPem"] = pem.AgentClient.KeyPem,
        }, true);
        Assert.StartsWith("app=alice-laptop\n", body, StringComparison.Ordinal);
        Assert.Contains("client=CN=switchyard-agent", body, StringComparison.Ordinal);
    }
}
