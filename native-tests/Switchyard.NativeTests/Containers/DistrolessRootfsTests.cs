using System.Diagnostics;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Containers;

/// <summary>
/// The image's file system is what containers/rootfs.sh assembles (containers/Dockerfile's build stage and `make image`
/// both run it): the binary, the libraries it links and the ones it dlopens, a CA bundle, one user; no shell. These tests
/// run that script and check its output without a container engine: the libraries the binary needs and nothing else,
/// and the agent terminating and re-encrypting TLS in it with chroot, as the image's non-root user, on a read-only root.
/// (native-tests/Containers/ContainerImageTests runs the image itself in docker.)
/// </summary>
public sealed class DistrolessRootfsTests(ITestOutputHelper output)
{
    /// <summary>The libraries .NET loads with dlopen for SslStream (System.Net.Security), which ldd cannot see.</summary>
    private static readonly string[] Dlopened = ["libssl.so.3", "libcrypto.so.3"];

    private const int ImageUser = 1654; // the Dockerfile's USER (the chiseled images' "app" user)

    [Fact]
    public async Task TheRootfsHoldsTheBinaryExactlyTheLibrariesItLoadsTheCaBundleAndItsUser()
    {
        using var dir = new TempDir();
        var root = await BuildRootfsAsync(dir.Path);

        // What the loader needs: ldd of the binary, and ldd of each library it dlopens (those libraries included).
        var needed = new SortedSet<string>(await LddAsync(RepoPaths.RequireAgentBinary()), StringComparer.Ordinal);
        foreach (var library in Dlopened)
        {
            var path = Directory.GetFiles(root, library, SearchOption.AllDirectories).Single();
            needed.Add(library);
            needed.UnionWith(await LddAsync(path));
        }

        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => f[(root.Length + 1)..]).Order(StringComparer.Ordinal).ToList();
        output.WriteLine(string.Join('\n', files));
        var libraries = files.Where(f => f.StartsWith("lib", StringComparison.Ordinal) || f.StartsWith("usr/lib", StringComparison.Ordinal)).ToList();

        Assert.Contains("libc.so.6", needed);
        Assert.Equal(needed, new SortedSet<string>(libraries.Select(f => Path.GetFileName(f)!), StringComparer.Ordinal));
        Assert.Equal(["etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "usr/local/bin/switchyard"], files.Except(libraries));
        Assert.Equal($"app:x:{ImageUser}:{ImageUser}:app:/nonexistent:/sbin/nologin\n", await File.ReadAllTextAsync(Path.Combine(root, "etc", "passwd")));
    }

    /// <summary>The file names of what ldd says <paramref name="file"/> loads (the interpreter included, the vDSO not).</summary>
    private static async Task<List<string>> LddAsync(string file)
    {
        var ldd = await ProcessRunner.RunAsync("ldd", [file]);
        Assert.True(ldd.ExitCode == 0, ldd.ToString());
        return ldd.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => Path.GetFileName(line.Split(' ')[0]))
            .Where(name => name != "linux-vdso.so.1")
            .ToList();
    }

    [Fact]
    public async Task EveryLibraryTheAgentLoadsWhileItTerminatesAndReEncryptsTlsIsInTheRootfs()
    {
        using var dir = new TempDir();
        var root = await BuildRootfsAsync(dir.Path);
        var inRootfs = Directory.GetFiles(root, "*.so*", SearchOption.AllDirectories).Select(f => Path.GetFileName(f)!).ToHashSet(StringComparer.Ordinal);

        var pem = PemSet.Write(dir.Path);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server });
        var listen = Ports.GetFreeTcpPort();
        var adminPort = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("https", listen, app.Port, inspect: "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        var configPath = dir.File("config.json");
        await File.WriteAllTextAsync(configPath, AgentConfig.Create(adminPort, port).ToJsonString());

        // The dynamic loader reports every object it initializes, at start (ldd's) and at each dlopen (libssl's).
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, configPath, adminPort, new() { ["LD_DEBUG"] = "libs" });
        var result = await Curl.HttpsAsync(listen, "/loads", "--cacert", pem.CaCert);
        Assert.True(result.Succeeded, result.ToString());

        List<string> loaded = [];
        var deadline = DateTime.UtcNow + Timeouts.Short;
        while (!loaded.Contains("libssl.so.3") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50); // the loader's lines arrive on stderr, read on another thread
            loaded = [.. agent.StderrLines.Select(line => line.Split("calling init: ", 2)).Where(parts => parts.Length == 2)
                .Select(parts => Path.GetFileName(parts[1].Trim())).Distinct()];
        }

        output.WriteLine(string.Join('\n', loaded));
        Assert.Contains("libssl.so.3", loaded);
        Assert.Contains("libcrypto.so.3", loaded);
        Assert.All(loaded, library => Assert.Contains(library, inRootfs));
    }

    [Fact]
    public async Task InARootfsWithOnlyTheImageContentsTheAgentTerminatesAndReEncryptsTlsAsANonRootUser()
    {
        using var dir = new TempDir();
        var root = await BuildRootfsAsync(dir.Path);
        Assert.False(File.Exists(Path.Combine(root, "bin", "sh")), "the image has no shell");

        var certs = Directory.CreateDirectory(Path.Combine(root, "etc", "certs")).FullName;
        var pem = PemSet.Write(certs);
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Certificate = TestPki.Shared.Server });
        var listen = Ports.GetFreeTcpPort();
        var adminPort = Ports.GetFreeTcpPort();
        var port = AgentConfig.Port("https", listen, app.Port, inspect: "always");
        port["downstreamTls"] = AgentConfig.DownstreamTls(Inside(root, pem.Server), ["http/1.1"]);
        port["upstreamTls"] = AgentConfig.UpstreamTls(Inside(root, pem.CaCert));
        var configDir = Directory.CreateDirectory(Path.Combine(root, "etc", "switchyard")).FullName;
        await File.WriteAllTextAsync(Path.Combine(configDir, "config.json"), AgentConfig.Create(adminPort, port).ToJsonString());

        // A private mount namespace makes the root read-only (readOnlyRootFilesystem), then chroot drops to the image's user.
        string script = $"mount --bind {root} {root} && mount -o remount,bind,ro {root} && " +
            $"exec chroot --userspec={ImageUser}:{ImageUser} {root} /usr/local/bin/switchyard agent --config /etc/switchyard/config.json";
        List<string> command = Environment.UserName == "root" ? ["unshare", "--mount", "sh", "-c", script] : ["sudo", "-n", "unshare", "--mount", "sh", "-c", script];
        using var agent = Start(command);
        try
        {
            await WaitReadyAsync(adminPort, agent);

            var result = await Curl.HttpsAsync(listen, "/from-the-rootfs", "--cacert", pem.CaCert);

            Assert.True(result.Succeeded, result.ToString());
            Assert.Contains("path=/from-the-rootfs\n", result.Body, StringComparison.Ordinal);
            // unshare and sh exec into chroot, which execs the agent: the process we started is the agent.
            var status = await ProcessRunner.RunAsync("ps", ["-o", "uid=,comm=", "-p", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            Assert.Equal($"{ImageUser} switchyard", string.Join(' ', status.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Trim());
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
            await agent.WaitForExitAsync();
            output.WriteLine(await agent.StandardOutput.ReadToEndAsync());
            output.WriteLine(await agent.StandardError.ReadToEndAsync());
        }
    }

    /// <summary>The image's file system, as containers/rootfs.sh makes it for the image.</summary>
    private static async Task<string> BuildRootfsAsync(string dir)
    {
        var root = Path.Combine(dir, "rootfs");
        var script = await ProcessRunner.RunAsync(Path.Combine(RepoPaths.RepoRoot, "containers", "rootfs.sh"), [RepoPaths.RequireAgentBinary(), root]);
        Assert.True(script.ExitCode == 0, script.ToString());
        return root;
    }

    private static string Inside(string root, string path) => path[root.Length..];

    private static CertFiles Inside(string root, CertFiles files) => new(Inside(root, files.CertPem), Inside(root, files.KeyPem));

    private static Process Start(List<string> command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            psi.ArgumentList.Add(argument);
        }

        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + string.Join(' ', command));
    }

    private static async Task WaitReadyAsync(int adminPort, Process agent)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (agent.HasExited)
            {
                throw new InvalidOperationException($"the agent exited with {agent.ExitCode}: {await agent.StandardError.ReadToEndAsync()} {await agent.StandardOutput.ReadToEndAsync()}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/readyz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the agent in the rootfs did not become ready");
    }
}
