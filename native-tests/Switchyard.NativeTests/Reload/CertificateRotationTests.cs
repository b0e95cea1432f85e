using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Reload;

/// <summary>Certificate files in a kubelet Secret volume, rotated under a running agent.</summary>
public sealed class CertificateRotationTests(ITestOutputHelper output)
{
    private static readonly (string, string)[] Ok = [("result", "ok")];
    private static readonly (string, string)[] Failed = [("result", "failed")];

    private static Dictionary<string, string> Pair(CertFiles files) =>
        new() { ["tls.crt"] = File.ReadAllText(files.CertPem), ["tls.key"] = File.ReadAllText(files.KeyPem) };

    /// <summary>The serial of the certificate the agent presents, as `openssl s_client | openssl x509 -serial` prints it.</summary>
    private static async Task<string> PresentedSerialAsync(int port)
    {
        ProcessResult handshake = await ProcessRunner.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost"], stdin: string.Empty);
        Assert.Contains("-----BEGIN CERTIFICATE-----", handshake.Stdout, StringComparison.Ordinal);
        ProcessResult x509 = await ProcessRunner.RunAsync("openssl", ["x509", "-noout", "-serial"], stdin: handshake.Stdout);
        Assert.True(x509.ExitCode == 0, x509.ToString());
        return Serial(x509.Stdout.Trim().Replace("serial=", string.Empty, StringComparison.Ordinal));
    }

    private static string Serial(string hex) => hex.TrimStart('0').ToUpperInvariant();

    [Fact]
    public async Task A_rotated_server_certificate_is_presented_on_the_next_handshake_and_a_broken_pair_is_refused()
    {
        using var dir = new TempDir();
        PemSet pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server });
        var certs = new KubeletVolume(Path.Combine(dir.Path, "certs"), Pair(pem.Server));
        int admin = Ports.GetFreeTcpPort();
        int web = Ports.GetFreeTcpPort();
        JsonObject port = AgentConfig.Port("web", web, app.Port, "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(new CertFiles(certs.PathOf("tls.crt"), certs.PathOf("tls.key")), ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        var volume = new KubeletVolume(Path.Combine(dir.Path, "config"), new Dictionary<string, string> { ["config.json"] = AgentConfig.Create(admin, port).ToJsonString() });
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, volume.PathOf("config.json"), admin, ConfigReloadTests.FastPoll);

        string first = Serial(TestPki.Shared.Server.SerialNumber);
        string second = Serial(TestPki.Shared.ServerFromOtherCa.SerialNumber);
        Assert.NotEqual(first, second);
        Assert.Equal(first, await PresentedSerialAsync(web));

        certs.Swap(Pair(pem.ServerFromOtherCa));
        await agent.WaitForMetricAsync("switchyard_certificate_reloads_total", Ok, v => v == 1, "1");
        Assert.Equal(second, await PresentedSerialAsync(web));
        await agent.WaitForLogAsync(l => l.Message.Contains($"certificate {certs.PathOf("tls.crt")} rotated", StringComparison.Ordinal), "the rotation log");

        // A certificate with somebody else's key: refused, the previous pair stays in use.
        certs.Swap(new Dictionary<string, string> { ["tls.crt"] = File.ReadAllText(pem.Server.CertPem), ["tls.key"] = File.ReadAllText(pem.ServerFromOtherCa.KeyPem) });
        await agent.WaitForMetricAsync("switchyard_certificate_reloads_total", Failed, v => v == 1, "1");
        AgentLogEntry why = await agent.WaitForLogAsync(l => l.Message.Contains("not reloaded", StringComparison.Ordinal), "the refusal");
        Assert.Contains(certs.PathOf("tls.crt"), why.Message, StringComparison.Ordinal);
        Assert.Contains("does not match the certificate", why.Message, StringComparison.Ordinal);
        Assert.Equal(second, await PresentedSerialAsync(web));

        // Requests still flow end to end with the rotated certificate (verified against its CA by curl).
        CurlResult result = await Curl.HttpsAsync(web, "/after-rotation", "--cacert", pem.OtherCaCert);
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(0, PrometheusText.Sum(await agent.GetMetricsAsync(), "switchyard_config_reloads_total", Failed));
    }

    [Fact]
    public async Task A_certificate_rotated_after_a_config_reload_that_keeps_the_port_is_presented()
    {
        using var dir = new TempDir();
        PemSet pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server });
        var certs = new KubeletVolume(Path.Combine(dir.Path, "certs"), Pair(pem.Server));
        int admin = Ports.GetFreeTcpPort();
        int web = Ports.GetFreeTcpPort();
        JsonObject port = AgentConfig.Port("web", web, app.Port, "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(new CertFiles(certs.PathOf("tls.crt"), certs.PathOf("tls.key")), ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        JsonObject config = AgentConfig.Create(admin, port);
        var volume = new KubeletVolume(Path.Combine(dir.Path, "config"), new Dictionary<string, string> { ["config.json"] = config.ToJsonString() });
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, volume.PathOf("config.json"), admin, ConfigReloadTests.FastPoll);
        string first = Serial(TestPki.Shared.Server.SerialNumber);
        string second = Serial(TestPki.Shared.ServerFromOtherCa.SerialNumber);
        Assert.Equal(first, await PresentedSerialAsync(web));

        // The config is rewritten (one intercept added, the port unchanged), then the certificate rotates.
        JsonObject next = JsonNode.Parse(config.ToJsonString())!.AsObject();
        next["intercepts"] = new JsonArray(ConfigReloadTests.Intercept("alice", "web", Ports.GetFreeTcpPort()));
        volume.Swap(new Dictionary<string, string> { ["config.json"] = next.ToJsonString() });
        await agent.WaitForMetricAsync("switchyard_config_reloads_total", Ok, v => v == 1, "1");
        certs.Swap(Pair(pem.ServerFromOtherCa));
        await agent.WaitForMetricAsync("switchyard_certificate_reloads_total", Ok, v => v == 1, "1");

        Assert.Equal(second, await PresentedSerialAsync(web));
        CurlResult result = await Curl.HttpsAsync(web, "/after-reload-and-rotation", "--cacert", pem.OtherCaCert);
        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task A_rotated_upstream_client_certificate_is_presented_to_the_app_on_a_new_connection()
    {
        using var dir = new TempDir();
        PemSet pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions
        {
            Certificate = TestPki.Shared.Server,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            ClientCa = TestPki.Shared.Ca,
        });
        var client = new KubeletVolume(Path.Combine(dir.Path, "client"), Pair(pem.AgentClient));
        int admin = Ports.GetFreeTcpPort();
        int web = Ports.GetFreeTcpPort();
        JsonObject port = AgentConfig.Port("web", web, app.Port, "always");
        // Anonymous callers, said explicitly: this test is about the agent's certificate (SPEC "Client certificates").
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"], new JsonObject { ["allowAnonymous"] = true });
        port["upstreamTls"] = new JsonObject
        {
            ["certPem"] = client.PathOf("tls.crt"),
            ["keyPem"] = client.PathOf("tls.key"),
            ["trustRoots"] = AgentConfig.Strings(pem.CaCert),
        };
        var volume = new KubeletVolume(Path.Combine(dir.Path, "config"), new Dictionary<string, string> { ["config.json"] = AgentConfig.Create(admin, port).ToJsonString() });
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, volume.PathOf("config.json"), admin, ConfigReloadTests.FastPoll);

        CurlResult before = await Curl.HttpsAsync(web, "/whoami", "--cacert", pem.CaCert);
        Assert.True(before.Succeeded, before.ToString());
        Assert.Contains("client=CN=switchyard-agent\n", before.Body, StringComparison.Ordinal);

        // Without a rotation the agent reuses its idle upstream connection (the app sees the same connection).
        CurlResult again = await Curl.HttpsAsync(web, "/whoami", "--cacert", pem.CaCert);
        Assert.Equal(Line(before.Body, "connection="), Line(again.Body, "connection="));

        client.Swap(Pair(pem.Client));
        await agent.WaitForMetricAsync("switchyard_certificate_reloads_total", Ok, v => v == 1, "1");

        // The idle pooled upstream connection was made with the old certificate; it is not reused for new requests.
        CurlResult after = await Curl.HttpsAsync(web, "/whoami", "--cacert", pem.CaCert);
        Assert.True(after.Succeeded, after.ToString());
        Assert.Contains("client=CN=alice-client\n", after.Body, StringComparison.Ordinal);
        Assert.NotEqual(Line(before.Body, "connection="), Line(after.Body, "connection="));
    }

    private static string Line(string body, string prefix) =>
        body.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal));
}
