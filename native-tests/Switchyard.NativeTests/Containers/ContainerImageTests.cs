using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Containers;

/// <summary>
/// The sidecar image run by a real container engine the way a pod runs it: next to an app container, in that container's
/// network namespace, read-only root, user 1654, config and certificates in ConfigMap/Secret-style volumes whose
/// `..data` link is swapped, readiness through `switchyard probe ready` exec'd in the container, stopped with SIGTERM.
/// The app container is built the same way (FROM scratch, nothing pulled): `openssl s_server -www` on 127.0.0.1:8443,
/// a TLS app that the agent (inspect: always) terminates and re-encrypts to.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class ContainerImageTests(SidecarImage image, ITestOutputHelper output) : IClassFixture<SidecarImage>
{
    private const int ImageUser = 1654;
    private const int AgentPort = 9900;
    private const int AppPort = 8443;
    private const int GraceSeconds = 20;
    private const string ConfigMount = "/etc/switchyard";
    private const string SecretMount = "/var/run/secrets/switchyard-tls";

    [Fact]
    public async Task TheImageHoldsOnlyTheBinaryItsLibrariesTheCaBundleAndItsUserAndIsUnder25MB()
    {
        output.WriteLine($"{image.Tag}: {image.SizeBytes} bytes");
        Assert.True(image.SizeBytes < 25_000_000, $"the image is {image.SizeBytes} bytes, over 25 MB");

        var config = JsonNode.Parse(await Docker.RunAsync("image", "inspect", "-f", "{{json .Config}}", image.Tag))!;
        Assert.Equal($"{ImageUser}:{ImageUser}", (string?)config["User"]);
        Assert.Equal("/usr/local/bin/switchyard", (string?)config["Entrypoint"]![0]);

        // docker export lists the container's file system; the engine adds its mount points (/dev, /proc, /etc/hosts...).
        var container = Docker.UniqueName("switchyard-nt-files");
        try
        {
            await Docker.RunAsync("create", "--name", container, image.Tag);
            using var dir = new TempDir();
            var tar = Path.Combine(dir.Path, "fs.tar");
            await Docker.RunAsync("export", "-o", tar, container);
            var list = await ProcessRunner.RunAsync("tar", ["-tf", tar]);
            string[] engine = [".dockerenv", "dev/", "proc/", "sys/", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab"];
            var files = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(entry => !entry.EndsWith('/') && !engine.Any(e => entry == e || (e.EndsWith('/') && entry.StartsWith(e, StringComparison.Ordinal))))
                .Order(StringComparer.Ordinal)
                .ToList();
            output.WriteLine(string.Join('\n', files));

            Assert.DoesNotContain(files, f => f is "bin/sh" or "usr/bin/sh" or "bin/bash" or "bin/busybox");
            Assert.Contains("usr/local/bin/switchyard", files);
            Assert.Contains("etc/ssl/certs/ca-certificates.crt", files);
            Assert.Contains("etc/passwd", files);
            Assert.Contains("etc/group", files);
            var libraries = files.Where(f => f.StartsWith("lib", StringComparison.Ordinal) || f.StartsWith("usr/lib", StringComparison.Ordinal)).Select(Path.GetFileName).ToList();
            Assert.Equal(files.Count - 4, libraries.Count); // nothing but the four above and the libraries
            foreach (var library in new[] { "libc.so.6", "libssl.so.3", "libcrypto.so.3" })
            {
                Assert.Contains(library, libraries);
            }

            var passwd = await ProcessRunner.RunAsync("tar", ["-xOf", tar, "etc/passwd"]);
            Assert.Matches($"^app:x:{ImageUser}:{ImageUser}:", passwd.Stdout);
        }
        finally
        {
            await Docker.RemoveAsync([container], []);
        }
    }

    [Fact]
    public async Task AsASidecarItIsReadyThroughItsExecProbeServesTlsAppliesAConfigMapSwapLiveAndDrainsOnSigterm()
    {
        using var dir = new TempDir();
        var pki = TestPki.Shared;
        var appCert = TestPki.WritePem(pki.Server, dir.Path, "app");
        var caPath = TestPki.WriteCertPem(pki.Ca, dir.Path, "ca");
        var appImage = Docker.UniqueName("switchyard-nt-app") + ":test";
        var app = Docker.UniqueName("switchyard-nt-app");
        var agent = Docker.UniqueName("switchyard-nt-agent");
        try
        {
            await BuildAppImageAsync(appImage, appCert);

            var secret = await SecretAsync(dir.Path, appCert, caPath);
            var configMap = await ProjectedVolume.CreateAsync(Path.Combine(dir.Path, "configmap"), ConfigFiles(Config(intercepts: [])));

            // The pod's network namespace belongs to the app container, which publishes the agent's port (the Service's
            // targetPort) on this machine's loopback only.
            await Docker.RunAsync("run", "-d", "--name", app, "-p", $"127.0.0.1::{AgentPort}", appImage);
            await StartAgentAsync(agent, app, configMap, secret, ["--drain-timeout", $"{GraceSeconds - 5}s"]);

            var port = await PublishedPortAsync(app);
            // docker top runs ps on this machine for the container's processes: the agent alone, as the image's user.
            var top = (await Docker.RunAsync("top", agent, "-o", "pid,uid,comm")).Split('\n').Skip(1)
                .Select(line => string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))).ToList();
            Assert.Equal([$"{ImageUser} switchyard"], top);

            // The agent terminates TLS with the Secret's certificate and re-encrypts to the app, trusting the Secret's CA.
            var before = await Curl.HttpsAsync(port, "/through-the-sidecar", "--cacert", caPath, "-H", "x-dev: alice");
            Assert.True(before.Succeeded, before.ToString());
            Assert.Contains("s_server -accept", before.Body, StringComparison.Ordinal);

            // The ConfigMap changes: an intercept for x-dev: alice whose target is down and that does not fail open.
            await configMap.UpdateAsync(ConfigFiles(Config(intercepts:
            [
                new JsonObject
                {
                    ["id"] = "alice",
                    ["port"] = "https",
                    ["mode"] = "intercept",
                    ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
                    ["target"] = "127.0.0.1:1",
                    ["failOpen"] = false,
                },
            ])));
            CurlResult? intercepted = null;
            await WaitForAsync("the swapped config's intercept answers x-dev: alice", Timeouts.Short, async () =>
            {
                intercepted = await Curl.HttpsAsync(port, "/after-the-swap", "--cacert", caPath, "-H", "x-dev: alice");
                return intercepted.StatusCode == 503;
            }, agent);
            Assert.Contains("intercept alice", intercepted!.Body, StringComparison.Ordinal);
            var others = await Curl.HttpsAsync(port, "/after-the-swap", "--cacert", caPath);
            Assert.True(others.Succeeded, others.ToString());
            Assert.Contains("intercept alice added", await LogsAsync(agent), StringComparison.Ordinal);

            // A caller holds a TLS connection open, between requests, when the kubelet stops the pod: SIGTERM, then SIGKILL
            // after the grace period. The agent closes the idle connection, drains and exits 0 well before.
            using var socket = await TlsClient.ConnectAsync(port);
            await using var idle = await TlsClient.AuthenticateAsync(socket, pki.Ca, ["http/1.1"]);
            var stopwatch = Stopwatch.StartNew();
            var stop = Docker.RunAsync("stop", "-t", GraceSeconds.ToString(CultureInfo.InvariantCulture), agent);
            var closed = await ReadUntilClosedAsync(idle).WaitAsync(TimeSpan.FromSeconds(GraceSeconds));
            await stop;
            stopwatch.Stop();
            var state = await Docker.RunAsync("inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", agent);
            var logs = await LogsAsync(agent);
            output.WriteLine($"docker stop took {stopwatch.Elapsed.TotalSeconds:F1} s; state: {state}");
            output.WriteLine(logs);

            Assert.Equal("0 false", state);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(GraceSeconds), $"docker stop took {stopwatch.Elapsed}, the grace period is {GraceSeconds} s");
            Assert.Contains("SIGTERM received: draining 1 open connection", logs, StringComparison.Ordinal);
            Assert.True(closed, "the idle connection was not closed by the agent");
        }
        finally
        {
            await Docker.RemoveAsync([agent, app], [appImage]);
        }
    }

    [Fact]
    public async Task WithoutTrustRootsTheAgentInTheImageVerifiesTheAppAgainstTheImagesCaBundle()
    {
        using var dir = new TempDir();
        var pki = TestPki.Shared;
        var appCert = TestPki.WritePem(pki.Server, dir.Path, "app");
        var caPath = TestPki.WriteCertPem(pki.Ca, dir.Path, "ca");
        var appImage = Docker.UniqueName("switchyard-nt-app") + ":test";
        var app = Docker.UniqueName("switchyard-nt-app");
        var agent = Docker.UniqueName("switchyard-nt-agent");
        try
        {
            await BuildAppImageAsync(appImage, appCert);
            var secret = await SecretAsync(dir.Path, appCert, caPath: null);
            var config = Config(intercepts: []);
            config["ports"]![0]!.AsObject().Remove("upstreamTls"); // verify the app against the system roots
            var configMap = await ProjectedVolume.CreateAsync(Path.Combine(dir.Path, "configmap"), ConfigFiles(config));
            await Docker.RunAsync("run", "-d", "--name", app, "-p", $"127.0.0.1::{AgentPort}", appImage);
            var port = await PublishedPortAsync(app);

            // The image's bundle holds public roots only: the test CA's app is refused, with the reason.
            await StartAgentAsync(agent, app, configMap, secret, []);
            var refused = await Curl.HttpsAsync(port, "/public-roots", "--cacert", caPath);
            Assert.True(refused.StatusCode == 502, refused.ToString());
            Assert.Contains("certificate not trusted", refused.Body, StringComparison.Ordinal);
            await Docker.RunAsync("rm", "-f", agent);

            // The same image with the test CA as its bundle (the path SSL_CERT_FILE names): the app is trusted.
            await StartAgentAsync(agent, app, configMap, secret, [], ["-v", $"{caPath}:/etc/ssl/certs/ca-certificates.crt:ro"]);
            var trusted = await Curl.HttpsAsync(port, "/test-ca-bundle", "--cacert", caPath);
            Assert.True(trusted.Succeeded, trusted.ToString());
            Assert.Contains("s_server -accept", trusted.Body, StringComparison.Ordinal);
        }
        finally
        {
            await Docker.RemoveAsync([agent, app], [appImage]);
        }
    }

    /// <summary>
    /// Issue 16's availability row: under a container memory limit the agent holds only the connections it can afford
    /// (ConnectionBudget: 64 KiB each above 64 MiB), over all ports; one more is closed at accept (memory_limit).
    /// --memory 72m: (72 - 64) MiB / 64 KiB = 128.
    /// </summary>
    [Fact]
    public async Task UnderAMemoryLimitTheAgentHoldsOnlyTheConnectionsItCanAfford()
    {
        const int Budget = 128;
        using var dir = new TempDir();
        var appCert = TestPki.WritePem(TestPki.Shared.Server, dir.Path, "app");
        var caPath = TestPki.WriteCertPem(TestPki.Shared.Ca, dir.Path, "ca");
        var appImage = Docker.UniqueName("switchyard-nt-app") + ":test";
        var app = Docker.UniqueName("switchyard-nt-app");
        var agent = Docker.UniqueName("switchyard-nt-agent");
        var sockets = new List<System.Net.Sockets.Socket>();
        try
        {
            await BuildAppImageAsync(appImage, appCert);
            var secret = await SecretAsync(dir.Path, appCert, caPath);
            var config = Config(intercepts: []);
            config["ports"]![0]!["limits"] = new JsonObject { ["tlsHandshakeTimeout"] = "120s" }; // held connections say nothing
            var configMap = await ProjectedVolume.CreateAsync(Path.Combine(dir.Path, "configmap"), ConfigFiles(config));
            await Docker.RunAsync("run", "-d", "--name", app, "-p", $"127.0.0.1::{AgentPort}", appImage);
            await StartAgentAsync(agent, app, configMap, secret, [], ["--memory", "72m"]);
            Assert.Contains($"memory limit 72 MiB (cgroup): at most {Budget} open connections over all ports", await LogsAsync(agent), StringComparison.Ordinal);

            var port = await PublishedPortAsync(app);
            for (int i = 0; i <= Budget; i++)
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
                sockets.Add(socket);
            }

            await WaitForAsync("one connection past the budget ended with memory_limit", TimeSpan.FromSeconds(30),
                async () => (await LogsAsync(agent)).Contains("ended: memory_limit", StringComparison.Ordinal), agent);
            string logs = await LogsAsync(agent);
            string[] refused = logs.Split('\n').Where(l => l.Contains("ended: memory_limit", StringComparison.Ordinal)).ToArray();
            Assert.Single(refused);
            Assert.Contains($"the agent holds {Budget} connections, all its memory limit allows", refused[0], StringComparison.Ordinal);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            await Docker.RemoveAsync([agent, app], [appImage]);
        }
    }

    /// <summary>The app: openssl's TLS server with the workload's certificate on the pod's loopback, FROM scratch.</summary>
    private static Task BuildAppImageAsync(string tag, CertFiles appCert) =>
        Docker.BuildScratchImageAsync(tag, "/usr/bin/openssl",
            new Dictionary<string, string>
            {
                ["/certs/tls.crt"] = File.ReadAllText(appCert.CertPem),
                ["/certs/tls.key"] = File.ReadAllText(appCert.KeyPem),
            },
            ["/usr/bin/openssl", "s_server", "-accept", $"127.0.0.1:{AppPort}", "-cert", "/certs/tls.crt", "-key", "/certs/tls.key", "-www", "-quiet"]);

    /// <summary>The TLS Secret volume the agent mounts: the app's certificate pair, and <c>ca.crt</c> when given.</summary>
    private static async Task<ProjectedVolume> SecretAsync(string dir, CertFiles cert, string? caPath)
    {
        var files = new Dictionary<string, string>
        {
            ["tls.crt"] = await File.ReadAllTextAsync(cert.CertPem),
            ["tls.key"] = await File.ReadAllTextAsync(cert.KeyPem),
        };
        if (caPath is not null)
        {
            files["ca.crt"] = await File.ReadAllTextAsync(caPath);
        }

        return await ProjectedVolume.CreateAsync(Path.Combine(dir, "secret"), files);
    }

    /// <summary>
    /// The agent as the injected sidecar runs: in the app container's network namespace, read-only root, the image's
    /// user, no capabilities, the ConfigMap and Secret volumes read-only; returns once its exec readiness probe passes.
    /// </summary>
    private async Task StartAgentAsync(string agent, string app, ProjectedVolume configMap, ProjectedVolume secret, string[] agentArguments, string[]? dockerArguments = null)
    {
        await Docker.RunAsync([
            "run", "-d", "--name", agent,
            "--network", $"container:{app}",
            "--read-only", "--user", $"{ImageUser}:{ImageUser}", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-v", $"{configMap.Path}:{ConfigMount}:ro", "-v", $"{secret.Path}:{SecretMount}:ro",
            .. dockerArguments ?? [],
            image.Tag, "agent", "--config", $"{ConfigMount}/config.json", .. agentArguments]);

        await WaitForAsync("`switchyard probe ready` exec'd in the agent container exits 0", Timeouts.AgentReady, async () =>
            (await Docker.RunAllowingFailureAsync("exec", agent, "/usr/local/bin/switchyard", "probe", "ready")).ExitCode == 0, agent);
    }

    /// <summary>The port on 127.0.0.1 that docker published for the agent's port of the pod.</summary>
    private static async Task<int> PublishedPortAsync(string app) =>
        int.Parse((await Docker.RunAsync("port", app, $"{AgentPort}/tcp")).Split('\n')[0].Split(':')[^1], CultureInfo.InvariantCulture);

    /// <summary>True when the peer closes the connection (end of stream or reset) without sending anything first.</summary>
    private static async Task<bool> ReadUntilClosedAsync(Stream stream)
    {
        var buffer = new byte[256];
        try
        {
            return await stream.ReadAsync(buffer) == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static JsonObject Config(JsonNode[] intercepts)
    {
        var port = AgentConfig.Port("https", AgentPort, AppPort, inspect: "always");
        port["listen"] = $"0.0.0.0:{AgentPort}"; // the published port arrives on the pod's interface, not its loopback
        port["downstreamTls"] = AgentConfig.DownstreamTls(new CertFiles($"{SecretMount}/tls.crt", $"{SecretMount}/tls.key"), ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls($"{SecretMount}/ca.crt");
        var config = AgentConfig.Create(9901, port); // the admin API stays on the pod's loopback, where the probe reaches it
        config["intercepts"] = new JsonArray(intercepts);
        return config;
    }

    private static Dictionary<string, string> ConfigFiles(JsonObject config) => new() { ["config.json"] = config.ToJsonString() };

    private static async Task<string> LogsAsync(string container)
    {
        var logs = await Docker.RunAllowingFailureAsync("logs", container);
        return logs.Stdout + logs.Stderr;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; on timeout fails with the agent's logs.</summary>
    private static async Task WaitForAsync(string what, TimeSpan limit, Func<Task<bool>> condition, string agent)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                var state = await Docker.RunAllowingFailureAsync("inspect", "-f", "{{.State.Status}} exit {{.State.ExitCode}}", agent);
                throw new TimeoutException($"not within {limit.TotalSeconds} s: {what}; agent container: {state.Stdout.Trim()}\n{await LogsAsync(agent)}");
            }

            await Task.Delay(200);
        }
    }
}
