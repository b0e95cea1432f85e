using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Detection;

/// <summary>
/// Detection order step 4: a port with nothing decisive in its config is probed when the first connection
/// arrives (TLS with ALPN h2,http/1.1, then an h2c preface, else plaintext HTTP/1), visible in /v1/status.
/// </summary>
public sealed class ProtocolProbeTests(ITestOutputHelper output)
{
    private static JsonNode Detected(JsonNode status, string port) => AgentProcess.PortStatus(status, port)["detected"]!;

    private static bool? Tls(JsonNode detected) => detected["tls"]?.GetValue<bool>();

    private static string? Text(JsonNode? node) => node?.GetValue<string>();

    [Fact]
    public async Task TlsAppOfferingH2IsDetectedAsTlsHttp2ByTheFirstConnectionsProbe()
    {
        await using var env = await ProxiedApp.StartAsync(
            output, new KestrelAppOptions { Certificate = TestPki.Shared.Server, Protocols = HttpProtocols.Http1AndHttp2 }, inspect: "auto");

        var before = Detected(await env.Agent.GetStatusAsync(), "web");
        Assert.True(Tls(before) is null, $"nothing is known before the first connection: {before.ToJsonString()}");
        Assert.Equal("pending", Text(before["probe"]?["state"]));

        var result = await Curl.HttpsAsync(env.ListenPort, "/probe-me", "--cacert", env.Pem.CaCert, "--http2");
        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("protocol=HTTP/2\n", result.Body, StringComparison.Ordinal);

        var status = await env.Agent.WaitForStatusAsync(
            s => Tls(Detected(s, "web")) == true && Text(Detected(s, "web")["http"]) == "http2",
            "detected tls=true http=http2");
        var detected = Detected(status, "web");
        Assert.Equal("probe", Text(detected["source"]));
        Assert.Equal("succeeded", Text(detected["probe"]?["state"]));
        Assert.True(detected["probe"]?["attempts"]?.GetValue<int>() >= 1, detected.ToJsonString());
        await env.Agent.WaitForMetricAsync("switchyard_probe_results_total",
            [("port", "web"), ("result", "tls_h2")], v => v == 1, "== 1");
    }

    [Fact]
    public async Task PlaintextHttp1AppIsDetectedAsPlaintext()
    {
        await using var env = await ProxiedApp.StartAsync(
            output, new KestrelAppOptions { Protocols = HttpProtocols.Http1 }, inspect: "auto");

        var result = await Curl.HttpAsync(env.ListenPort, "/plain-probe");
        Assert.True(result.Succeeded, result.ToString());

        var status = await env.Agent.WaitForStatusAsync(
            s => Text(Detected(s, "web")["probe"]?["state"]) == "succeeded", "probe succeeded");
        var detected = Detected(status, "web");
        Assert.False(Tls(detected), detected.ToJsonString());
        Assert.Equal("http1", Text(detected["http"]));
        Assert.Equal("probe", Text(detected["source"]));
        await env.Agent.WaitForMetricAsync("switchyard_probe_results_total",
            [("port", "web"), ("result", "plaintext")], v => v == 1, "== 1");
    }

    [Fact]
    public async Task H2cAppIsDetectedAsHttp2WithoutTls()
    {
        await using var env = await ProxiedApp.StartAsync(
            output, new KestrelAppOptions { Protocols = HttpProtocols.Http2 }, inspect: "auto");

        var result = await Curl.HttpAsync(env.ListenPort, "/h2c-probe", "--http2-prior-knowledge");
        Assert.True(result.Succeeded, result.ToString());
        Assert.Contains("protocol=HTTP/2\n", result.Body, StringComparison.Ordinal);

        var status = await env.Agent.WaitForStatusAsync(
            s => Text(Detected(s, "web")["probe"]?["state"]) == "succeeded", "probe succeeded");
        var detected = Detected(status, "web");
        Assert.False(Tls(detected), detected.ToJsonString());
        Assert.Equal("http2", Text(detected["http"]));
        await env.Agent.WaitForMetricAsync("switchyard_probe_results_total",
            [("port", "web"), ("result", "h2c")], v => v == 1, "== 1");
    }

    [Fact]
    public async Task FailedProbeWhileTheAppIsDownIsRetriedOnTheNextConnectionOnceTheAppIsUp()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        var appPort = Ports.GetFreeTcpPort();
        var listen = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("web", listen, appPort, "auto");
        port["probeTimeout"] = "1s";
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port));

        var whileDown = await Curl.HttpsAsync(listen, "/app-down", "--cacert", pem.CaCert);
        Assert.False(whileDown.Succeeded, whileDown.ToString());

        var failed = await agent.WaitForStatusAsync(
            s => Text(Detected(s, "web")["probe"]?["state"]) == "failed", "probe.state failed");
        var detectedWhileDown = Detected(failed, "web");
        Assert.True(Tls(detectedWhileDown) is null, $"a failed probe must not guess: {detectedWhileDown.ToJsonString()}");
        Assert.True(detectedWhileDown["probe"]?["attempts"]?.GetValue<int>() >= 1, detectedWhileDown.ToJsonString());
        Assert.False(string.IsNullOrEmpty(Text(detectedWhileDown["probe"]?["lastError"])), detectedWhileDown.ToJsonString());
        await agent.WaitForMetricAsync("switchyard_probe_results_total",
            [("port", "web"), ("result", "failed")], v => v >= 1, ">= 1");

        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server, Port = appPort });
        var afterUp = await Curl.HttpsAsync(listen, "/app-up", "--cacert", pem.CaCert);
        Assert.True(afterUp.Succeeded, afterUp.ToString());
        Assert.Contains("path=/app-up\n", afterUp.Body, StringComparison.Ordinal);

        var recovered = await agent.WaitForStatusAsync(
            s => Text(Detected(s, "web")["probe"]?["state"]) == "succeeded", "probe.state succeeded after the app came up");
        var detected = Detected(recovered, "web");
        Assert.True(Tls(detected) == true, detected.ToJsonString());
        Assert.True(detected["probe"]?["attempts"]?.GetValue<int>() >= 2, detected.ToJsonString());
    }

    [Fact]
    public async Task DecisiveConfigNeedsNoProbeAndNamesItsSource()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        var unusedApp = Ports.GetFreeTcpPort();

        var withDownstreamTls = AgentConfig.Port("terminated", Ports.GetFreeTcpPort(), unusedApp, "always");
        withDownstreamTls["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
        withDownstreamTls["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);

        var h2c = AgentConfig.Port("grpc-plain", Ports.GetFreeTcpPort(), unusedApp);
        h2c["appProtocol"] = "h2c";

        var byName = AgentConfig.Port("https", Ports.GetFreeTcpPort(), unusedApp);

        var explicitConfig = AgentConfig.Port("explicit", Ports.GetFreeTcpPort(), unusedApp);
        explicitConfig["tls"] = "off";
        explicitConfig["http"] = "http1";

        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), withDownstreamTls, h2c, byName, explicitConfig);
        await using var agent = await AgentProcess.StartAsync(output, dir, config);
        var status = await agent.GetStatusAsync();

        var terminated = Detected(status, "terminated");
        Assert.True(Tls(terminated) == true, terminated.ToJsonString());
        Assert.Equal("downstreamTls", Text(terminated["source"]));

        var grpcPlain = Detected(status, "grpc-plain");
        Assert.True(Tls(grpcPlain) == false, grpcPlain.ToJsonString());
        Assert.Equal("http2", Text(grpcPlain["http"]));
        Assert.Equal("appProtocol", Text(grpcPlain["source"]));
        Assert.Equal("notNeeded", Text(grpcPlain["probe"]?["state"]));

        var https = Detected(status, "https");
        Assert.True(Tls(https) == true, https.ToJsonString());
        Assert.Equal("portName", Text(https["source"]));

        var explicitPort = Detected(status, "explicit");
        Assert.True(Tls(explicitPort) == false, explicitPort.ToJsonString());
        Assert.Equal("http1", Text(explicitPort["http"]));
        Assert.Equal("config", Text(explicitPort["source"]));
        Assert.Equal("notNeeded", Text(explicitPort["probe"]?["state"]));
    }
}
