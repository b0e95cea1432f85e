using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tls;

/// <summary>inspect: always — the agent terminates TLS with downstreamTls and re-encrypts to a Kestrel TLS app.</summary>
public sealed class TerminatingProxyTests(ITestOutputHelper output)
{
    private static Task<ProxiedApp> StartAsync(ITestOutputHelper output, string[] alpn) =>
        ProxiedApp.StartAsync(
            output,
            new KestrelAppOptions { Certificate = TestPki.Shared.Server },
            inspect: "always",
            (port, pem) =>
            {
                port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, alpn);
                port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            });

    [Fact]
    public async Task CurlOverHttp11GetsTheAppsEchoOfMethodPathHeaderAndBody()
    {
        await using var env = await StartAsync(output, ["h2", "http/1.1"]);

        var result = await Curl.HttpsAsync(env.ListenPort, "/echo/path?q=1",
            "--cacert", env.Pem.CaCert, "--http1.1", "-H", "x-test: hello-1", "--data-binary", "ping");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("1.1", result.HttpVersion);
        Assert.Contains("method=POST\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("path=/echo/path?q=1\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("x-test=hello-1\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("protocol=HTTP/1.1\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("scheme=https\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("body=ping\n", result.Body, StringComparison.Ordinal);

        await env.Agent.WaitForMetricAsync("switchyard_connections_total",
            [("port", "web"), ("path", "terminate")], v => v >= 1, ">= 1");
    }

    [Fact]
    public async Task CurlOverHttp2NegotiatesH2WithTheAgentAndTheAppSeesHttp2()
    {
        await using var env = await StartAsync(output, ["h2", "http/1.1"]);

        var result = await Curl.HttpsAsync(env.ListenPort, "/h2?x=y",
            "--cacert", env.Pem.CaCert, "--http2", "-H", "x-test: over-h2");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("2", result.HttpVersion);
        Assert.Contains("protocol=HTTP/2\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("path=/h2?x=y\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("x-test=over-h2\n", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DownstreamAlpnListWithoutH2MakesBothHopsUseHttp11()
    {
        await using var env = await StartAsync(output, ["http/1.1"]);

        var result = await Curl.HttpsAsync(env.ListenPort, "/only-h1",
            "--cacert", env.Pem.CaCert, "--http2");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("1.1", result.HttpVersion);
        Assert.Contains("protocol=HTTP/1.1\n", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SeveralSequentialRequestsOnOneKeepAliveConnectionAllReachTheApp()
    {
        await using var env = await StartAsync(output, ["h2", "http/1.1"]);

        // curl reuses one connection for several URLs on the same host.
        var url2 = $"https://localhost:{env.ListenPort}/second";
        var result = await Curl.HttpsAsync(env.ListenPort, "/first",
            "--cacert", env.Pem.CaCert, "--http1.1", url2);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("path=/first\n", result.Body, StringComparison.Ordinal);
        Assert.Contains("path=/second\n", result.Body, StringComparison.Ordinal);
        await env.Agent.WaitForStatusAsync(
            s => AgentProcess.PortStatus(s, "web")["connections"]!["total"]!.GetValue<long>() == 1
                 && AgentProcess.PortStatus(s, "web")["connections"]!["active"]!.GetValue<long>() == 0,
            "exactly one (finished) connection for both requests");
    }

    [Fact]
    public async Task PlaintextHttpToTheTlsPortFailsAndIsCountedAsNotTls()
    {
        await using var env = await StartAsync(output, ["h2", "http/1.1"]);

        var result = await Curl.HttpAsync(env.ListenPort, "/plain-to-tls");

        Assert.DoesNotContain("method=", result.Body, StringComparison.Ordinal);
        Assert.False(result.Succeeded, result.ToString());
        await env.Agent.WaitForMetricAsync("switchyard_tls_handshake_failures_total",
            [("port", "web"), ("side", "downstream"), ("reason", "not_tls")], v => v >= 1, ">= 1");
        await env.Agent.WaitForMetricAsync("switchyard_connection_ends_total",
            [("port", "web"), ("reason", "not_tls_on_tls_port")], v => v >= 1, ">= 1");
    }
}
