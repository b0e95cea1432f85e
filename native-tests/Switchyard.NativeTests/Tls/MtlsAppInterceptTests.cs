using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Switchyard.NativeTests.Infrastructure;
using Switchyard.NativeTests.Reload;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tls;

/// <summary>
/// SPEC "Client certificates: no one gets in who the app would refuse": an mTLS app behind the agent, which presents
/// its own client certificate to it. While an intercept makes the agent terminate the caller's TLS, the agent must
/// refuse at its handshake every caller the app would refuse, and a config that does not say who may call is rejected.
/// </summary>
public sealed class MtlsAppInterceptTests(ITestOutputHelper output)
{
    private static readonly HttpClient Admin = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private static readonly (string, string)[] Failed = [("result", "failed")];

    /// <summary>The mTLS app, the developer's server (the intercept target) and how many requests each has seen.</summary>
    private sealed class Peers : IAsyncDisposable
    {
        private int _appRequests;
        private int _developerRequests;

        private Peers()
        {
        }

        public KestrelApp App { get; private set; } = null!;

        public KestrelApp Developer { get; private set; } = null!;

        public int AppRequests => Volatile.Read(ref _appRequests);

        public int DeveloperRequests => Volatile.Read(ref _developerRequests);

        public static async Task<Peers> StartAsync()
        {
            var peers = new Peers();
            peers.App = await KestrelApp.StartAsync(new KestrelAppOptions
            {
                Certificate = TestPki.Shared.Server,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCa = TestPki.Shared.Ca,
                Name = "the-app",
                Pipeline = app => app.Use(next => context =>
                {
                    Interlocked.Increment(ref peers._appRequests);
                    return next(context);
                }),
            });
            peers.Developer = await KestrelApp.StartAsync(new KestrelAppOptions
            {
                Certificate = TestPki.Shared.ServerFromOtherCa, // delivery does not verify the developer's server
                Name = "alice-laptop",
                Pipeline = app => app.Use(next => context =>
                {
                    Interlocked.Increment(ref peers._developerRequests);
                    return next(context);
                }),
            });
            return peers;
        }

        public async ValueTask DisposeAsync()
        {
            await App.DisposeAsync();
            await Developer.DisposeAsync();
        }
    }

    /// <summary>
    /// Port "web" (inspect auto) in front of the mTLS app, presenting the agent's client certificate, with the given
    /// clientAuth (none when null) and an intercept "alice" (x-dev: alice) toward the developer's server.
    /// </summary>
    private static JsonObject Config(PemSet pem, Peers peers, int listen, int admin, JsonObject? clientAuth, bool intercept = true)
    {
        var port = AgentConfig.Port("web", listen, peers.App.Port, "auto");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"], clientAuth);
        port["upstreamTls"] = new JsonObject
        {
            ["certPem"] = pem.AgentClient.CertPem,
            ["keyPem"] = pem.AgentClient.KeyPem,
            ["trustRoots"] = AgentConfig.Strings(pem.CaCert),
        };
        var config = AgentConfig.Create(admin, port);
        if (intercept)
        {
            config["intercepts"] = new JsonArray(AliceIntercept(peers));
        }

        return config;
    }

    private static JsonObject AliceIntercept(Peers peers) => new()
    {
        ["id"] = "alice",
        ["port"] = "web",
        ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
        ["target"] = Ports.Loopback(peers.Developer.Port),
    };

    private static JsonObject TrustedCallers(PemSet pem) => new() { ["trustRoots"] = AgentConfig.Strings(pem.CaCert) };

    private static Task<CurlResult> AsAliceAsync(int listen, string path, params string[] extra) =>
        Curl.HttpsAsync(listen, path, ["-H", "x-dev: alice", .. extra]);

    private static string[] WithCertificate(PemSet pem, CertFiles certificate) =>
        ["--cacert", pem.CaCert, "--cert", certificate.CertPem, "--key", certificate.KeyPem];

    [Fact]
    public async Task CallersWithoutATrustedCertificateAreRefusedAtTheHandshakeWhileAnInterceptIsActiveAndNothingReachesAnyone()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var peers = await Peers.StartAsync();
        int listen = Ports.GetFreeTcpPort();
        await using var agent = await AgentProcess.StartAsync(output, dir, Config(pem, peers, listen, Ports.GetFreeTcpPort(), TrustedCallers(pem)));

        // No certificate: toward the intercept (x-dev: alice) and toward the app; HTTP/1.1 and h2.
        var anonymousToAlice = await AsAliceAsync(listen, "/api/anonymous", "--cacert", pem.CaCert, "--http1.1");
        var anonymousToApp = await Curl.HttpsAsync(listen, "/anonymous", "--cacert", pem.CaCert, "--http2");
        // A certificate the app would not accept: another CA, self-signed.
        var otherCa = await AsAliceAsync(listen, "/api/other-ca", WithCertificate(pem, pem.UntrustedClient));
        var selfSigned = await AsAliceAsync(listen, "/api/self-signed", WithCertificate(pem, pem.SelfSignedClient));

        foreach (var refused in new[] { anonymousToAlice, anonymousToApp, otherCa, selfSigned })
        {
            Assert.True(refused.ExitCode != 0 && refused.StatusCode == 0, $"the caller must fail at the TLS handshake\n{refused}");
            Assert.DoesNotContain("app=", refused.Body, StringComparison.Ordinal);
        }

        // The refusals are the agent's, at its handshake with the caller (counted before anything is forwarded).
        await agent.WaitForMetricAsync("switchyard_tls_handshake_failures_total",
            [("port", "web"), ("side", "downstream"), ("reason", "client_certificate_missing")], v => v == 2, "== 2");
        await agent.WaitForMetricAsync("switchyard_tls_handshake_failures_total",
            [("port", "web"), ("side", "downstream"), ("reason", "client_certificate_untrusted")], v => v == 2, "== 2");
        Assert.Equal(0, peers.AppRequests);
        Assert.Equal(0, peers.DeveloperRequests);
    }

    [Fact]
    public async Task ACallerWithACertificateFromTheTrustedCaReachesTheInterceptAndTheApp()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var peers = await Peers.StartAsync();
        int listen = Ports.GetFreeTcpPort();
        await using var agent = await AgentProcess.StartAsync(output, dir, Config(pem, peers, listen, Ports.GetFreeTcpPort(), TrustedCallers(pem)));

        var toAlice = await AsAliceAsync(listen, "/api/orders", WithCertificate(pem, pem.Client));
        var toApp = await Curl.HttpsAsync(listen, "/hello", WithCertificate(pem, pem.Client));

        Assert.True(toAlice.Succeeded, toAlice.ToString());
        Assert.StartsWith("app=alice-laptop\n", toAlice.Body, StringComparison.Ordinal);
        Assert.True(toApp.Succeeded, toApp.ToString());
        Assert.StartsWith("app=the-app\n", toApp.Body, StringComparison.Ordinal);
        Assert.Contains("client=CN=switchyard-agent\n", toApp.Body, StringComparison.Ordinal); // the agent's identity toward the app
        Assert.Equal(1, peers.AppRequests);
        Assert.Equal(1, peers.DeveloperRequests);
    }

    [Fact]
    public async Task AfterTheInterceptEndsTheAppItselfVerifiesTheCallersOnTheRawPath()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var peers = await Peers.StartAsync();
        int listen = Ports.GetFreeTcpPort();
        await using var agent = await AgentProcess.StartAsync(output, dir, Config(pem, peers, listen, Ports.GetFreeTcpPort(), TrustedCallers(pem), intercept: false));

        using (var added = await Admin.PostAsync(agent.AdminUri("/v1/intercepts"), new StringContent(AliceIntercept(peers).ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        }

        var during = await AsAliceAsync(listen, "/api/during", "--cacert", pem.CaCert);
        Assert.True(during.ExitCode != 0 && during.StatusCode == 0, during.ToString());

        using (var removed = await Admin.DeleteAsync(agent.AdminUri("/v1/intercepts/alice")))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }

        // No intercept: inspect auto relays the caller's TLS untouched to the app, which refuses or accepts it itself.
        var anonymous = await AsAliceAsync(listen, "/api/after", "--cacert", pem.CaCert);
        var trusted = await AsAliceAsync(listen, "/api/after", WithCertificate(pem, pem.Client));

        Assert.True(anonymous.ExitCode != 0 && anonymous.StatusCode == 0, anonymous.ToString());
        Assert.True(trusted.Succeeded, trusted.ToString());
        Assert.StartsWith("app=the-app\n", trusted.Body, StringComparison.Ordinal);
        Assert.Contains("client=CN=alice-client\n", trusted.Body, StringComparison.Ordinal); // the caller's own certificate
        Assert.Equal(1, peers.AppRequests);
        Assert.Equal(0, peers.DeveloperRequests);
        await agent.WaitForMetricAsync("switchyard_connections_total", [("port", "web"), ("path", "raw")], v => v == 2, "== 2");
    }

    [Fact]
    public async Task AllowAnonymousIsTheExplicitOptInThatLetsACallerWithoutCertificateThrough()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var peers = await Peers.StartAsync();
        int listen = Ports.GetFreeTcpPort();
        await using var agent = await AgentProcess.StartAsync(output, dir,
            Config(pem, peers, listen, Ports.GetFreeTcpPort(), new JsonObject { ["allowAnonymous"] = true }));

        var toAlice = await AsAliceAsync(listen, "/api/anonymous", "--cacert", pem.CaCert);
        var toApp = await Curl.HttpsAsync(listen, "/anonymous", "--cacert", pem.CaCert);

        Assert.True(toAlice.Succeeded, toAlice.ToString());
        Assert.StartsWith("app=alice-laptop\n", toAlice.Body, StringComparison.Ordinal);
        Assert.True(toApp.Succeeded, toApp.ToString());
        Assert.Contains("client=CN=switchyard-agent\n", toApp.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AConfigThatDoesNotSayWhoMayCallExitsTwoNamingClientAuth()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var peers = await Peers.StartAsync();
        string path = dir.File("config.json");
        await File.WriteAllTextAsync(path, Config(pem, peers, Ports.GetFreeTcpPort(), Ports.GetFreeTcpPort(), clientAuth: null).ToJsonString());

        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["agent", "--config", path], timeout: TimeSpan.FromSeconds(10));

        Assert.True(result.ExitCode == 2, $"expected exit code 2\n{result}");
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"{path}: $.ports[0].downstreamTls.clientAuth: required: upstreamTls presents a client certificate", line, StringComparison.Ordinal);
        Assert.Contains("add clientAuth.trustRoots", line, StringComparison.Ordinal);
        Assert.Contains("\"allowAnonymous\": true", line, StringComparison.Ordinal);
        Assert.Equal(0, peers.AppRequests);
    }

    [Fact]
    public async Task AMissingTrustRootsFileExitsTwoNamingIt()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var peers = await Peers.StartAsync();
        string missing = Path.Combine(dir.Path, "ca", "ca.crt");
        string path = dir.File("config.json");
        var config = Config(pem, peers, Ports.GetFreeTcpPort(), Ports.GetFreeTcpPort(), new JsonObject { ["trustRoots"] = AgentConfig.Strings(missing) });
        await File.WriteAllTextAsync(path, config.ToJsonString());

        var result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["agent", "--config", path], timeout: TimeSpan.FromSeconds(10));

        Assert.True(result.ExitCode == 2, $"expected exit code 2\n{result}");
        Assert.Equal($"{path}: $.ports[0].downstreamTls.clientAuth.trustRoots[0]: file not found: {missing}", result.Stderr.Trim());
    }

    [Fact]
    public async Task AReloadThatDropsClientAuthIsRejectedAndTheLastGoodConfigKeepsRefusingAnonymousCallers()
    {
        using var dir = new TempDir();
        var pem = PemSet.Write(dir.Path);
        await using var peers = await Peers.StartAsync();
        int listen = Ports.GetFreeTcpPort();
        int admin = Ports.GetFreeTcpPort();
        JsonObject good = Config(pem, peers, listen, admin, TrustedCallers(pem));
        var volume = new KubeletVolume(Path.Combine(dir.Path, "config"), new Dictionary<string, string> { ["config.json"] = good.ToJsonString() });
        string configPath = volume.PathOf("config.json");
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, configPath, admin, ConfigReloadTests.FastPoll);
        string fingerprint = (await agent.GetStatusAsync())["config"]!["fingerprint"]!.GetValue<string>();

        volume.Swap(new Dictionary<string, string> { ["config.json"] = Config(pem, peers, listen, admin, clientAuth: null).ToJsonString() });

        await agent.WaitForMetricAsync("switchyard_config_reloads_total", Failed, v => v == 1, "1");
        AgentLogEntry error = await agent.WaitForLogAsync(l => l.Message.Contains("config reload rejected", StringComparison.Ordinal), "the rejection");
        Assert.Contains($"{configPath}: $.ports[0].downstreamTls.clientAuth: required", error.Message, StringComparison.Ordinal);
        Assert.Equal(fingerprint, (await agent.GetStatusAsync())["config"]!["fingerprint"]!.GetValue<string>());

        var anonymous = await AsAliceAsync(listen, "/api/anonymous", "--cacert", pem.CaCert);
        var trusted = await AsAliceAsync(listen, "/api/trusted", WithCertificate(pem, pem.Client));

        Assert.True(anonymous.ExitCode != 0 && anonymous.StatusCode == 0, anonymous.ToString());
        Assert.True(trusted.Succeeded, trusted.ToString());
        Assert.StartsWith("app=alice-laptop\n", trusted.Body, StringComparison.Ordinal);
        Assert.Equal(1, peers.DeveloperRequests);
        Assert.Equal(0, peers.AppRequests);
    }
}
