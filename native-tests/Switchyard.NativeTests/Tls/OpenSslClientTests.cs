using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tls;

/// <summary>`openssl s_client` as the downstream peer of a terminating port.</summary>
public sealed class OpenSslClientTests(ITestOutputHelper output)
{
    [Fact]
    public async Task OpensslSClientVerifiesTheAgentAndReadsTheAppsResponseToARawRequest()
    {
        await using var env = await ProxiedApp.StartAsync(
            output,
            new KestrelAppOptions { Certificate = TestPki.Shared.Server },
            inspect: "always",
            (port, pem) =>
            {
                port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
                port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            });

        const string request =
            "GET /from-openssl?via=s_client HTTP/1.1\r\n" +
            "Host: localhost\r\n" +
            "x-test: raw-request\r\n" +
            "Connection: close\r\n" +
            "\r\n";
        var result = await ProcessRunner.RunAsync("openssl",
        [
            "s_client", "-connect", $"127.0.0.1:{env.ListenPort}", "-servername", "localhost",
            "-CAfile", env.Pem.CaCert, "-verify_return_error", "-verify_hostname", "localhost", "-quiet",
        ], stdin: request);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("HTTP/1.1 200", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("method=GET\n", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("path=/from-openssl?via=s_client\n", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("x-test=raw-request\n", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("protocol=HTTP/1.1\n", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ECDHE-ECDSA-AES128-GCM-SHA256", true)]
    [InlineData("ECDHE-ECDSA-AES256-GCM-SHA384", true)]
    [InlineData("ECDHE-ECDSA-AES128-SHA", false)] // CBC with SHA-1 (LUCKY13)
    [InlineData("ECDHE-ECDSA-AES256-SHA", false)] // CBC with SHA-1
    [InlineData("AES256-SHA", false)] // no forward secrecy, CBC
    public async Task Callers_on_TLS_1_2_get_ECDHE_with_an_AEAD_cipher_and_nothing_else(string cipher, bool accepted)
    {
        await using var env = await ProxiedApp.StartAsync(
            output,
            new KestrelAppOptions { Certificate = TestPki.Shared.Server },
            inspect: "always",
            (port, pem) =>
            {
                port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
                port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            });

        var result = await ProcessRunner.RunAsync("openssl",
        [
            "s_client", "-connect", $"127.0.0.1:{env.ListenPort}", "-servername", "localhost", "-tls1_2", "-cipher", cipher,
            "-CAfile", env.Pem.CaCert, "-brief",
        ], stdin: "");

        if (accepted)
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains(cipher, result.Stdout + result.Stderr, StringComparison.Ordinal);
        }
        else
        {
            Assert.True(result.ExitCode != 0, result.ToString());
            Assert.Contains("handshake failure", result.Stdout + result.Stderr, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A TLS 1.3 caller shares the port's OpenSSL context (one per certificate, perf/RESULTS.md issue 16), which issues
    /// session tickets: its second connection resumes. A port with clientAuth keeps a context per handshake, so nothing
    /// is resumed there (a session made without a client certificate must never skip the certificate request).
    /// </summary>
    [Theory]
    [InlineData(false, "Reused, TLSv1.3")]
    [InlineData(true, "New, TLSv1.3")]
    public async Task A_TLS_1_3_caller_resumes_its_session_except_where_client_certificates_are_asked_for(bool clientAuth, string secondHandshake)
    {
        await using var env = await ProxiedApp.StartAsync(
            output,
            new KestrelAppOptions { Certificate = TestPki.Shared.Server },
            inspect: "always",
            (port, pem) =>
            {
                var auth = clientAuth
                    ? new System.Text.Json.Nodes.JsonObject { ["trustRoots"] = AgentConfig.Strings(pem.CaCert), ["allowAnonymous"] = true }
                    : null;
                port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"], auth);
                port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            });

        string session = Path.Combine(Path.GetTempPath(), $"switchyard-session-{Guid.NewGuid():N}.pem");
        try
        {
            const string request = "GET /resume HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            string[] common = ["s_client", "-connect", $"127.0.0.1:{env.ListenPort}", "-servername", "localhost", "-tls1_3", "-CAfile", env.Pem.CaCert, "-ign_eof"];

            // The first connection reads the whole response, so the tickets sent after the handshake have arrived.
            var first = await ProcessRunner.RunAsync("openssl", [.. common, "-sess_out", session], stdin: request);
            Assert.True(first.ExitCode == 0, first.ToString());
            Assert.Contains("New, TLSv1.3", first.Stdout, StringComparison.Ordinal);
            Assert.Contains("path=/resume\n", first.Stdout, StringComparison.Ordinal);

            var second = await ProcessRunner.RunAsync("openssl", [.. common, "-sess_in", session], stdin: request);
            Assert.True(second.ExitCode == 0, second.ToString());
            Assert.Contains(secondHandshake, second.Stdout, StringComparison.Ordinal);
            Assert.Contains("path=/resume\n", second.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(session);
        }
    }
}
