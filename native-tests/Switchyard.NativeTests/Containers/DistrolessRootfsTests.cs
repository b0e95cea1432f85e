using System.Diagnostics;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Containers;

/// <summary>
/// containers/Dockerfile ships the binary on mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled: no shell, no
/// package manager, only the libraries of ca-certificates, libc6, libgcc-s1, libssl3, libstdc++6 and zlib1g. No container
/// engine runs here, so these tests rebuild that file system by hand (this machine's copies of those libraries) and run
/// the published binary in it with chroot, as the image's non-root user, on a read-only root: what the image would do.
/// </summary>
public sealed class DistrolessRootfsTests(ITestOutputHelper output)
{
    /// <summary>The shared libraries the chiseled runtime-deps image holds (its packages' library slices).</summary>
    private static readonly string[] ImageLibraries =
    [
        "ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", // libc6
        "libgcc_s.so.1", "libstdc++.so.6", "libz.so.1", "libssl.so.3", "libcrypto.so.3",
    ];

    private const int ImageUser = 1654; // the Dockerfile's USER (the chiseled images' "app" user)

    [Fact]
    public async Task TheBinaryLinksOnlyLibrariesTheChiseledImageHas()
    {
        var ldd = await ProcessRunner.RunAsync("ldd", [RepoPaths.RequireAgentBinary()]);
        Assert.Equal(0, ldd.ExitCode);
        output.WriteLine(ldd.Stdout);

        var needed = ldd.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => Path.GetFileName(line.Split(' ')[0]))
            .Where(name => name != "linux-vdso.so.1")
            .ToList();

        Assert.Contains("libc.so.6", needed);
        Assert.All(needed, library => Assert.Contains(library, ImageLibraries));
    }

    [Fact]
    public async Task InARootfsWithOnlyTheImageContentsTheAgentTerminatesAndReEncryptsTlsAsANonRootUser()
    {
        using var dir = new TempDir();
        var root = BuildRootfs(dir.Path);
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

    /// <summary>The image's file system: the binary at /usr/local/bin, the image's libraries, the CA bundle; nothing else.</summary>
    private static string BuildRootfs(string dir)
    {
        var root = Directory.CreateDirectory(Path.Combine(dir, "rootfs")).FullName;
        var binary = Path.Combine(root, "usr", "local", "bin", "switchyard");
        Directory.CreateDirectory(Path.GetDirectoryName(binary)!);
        File.Copy(RepoPaths.RequireAgentBinary(), binary);

        foreach (var library in ImageLibraries)
        {
            var source = library.StartsWith("ld-linux", StringComparison.Ordinal) ? "/lib64/" + library : "/lib/x86_64-linux-gnu/" + library;
            if (!File.Exists(source))
            {
                continue; // glibc >= 2.34 folded libdl/libpthread/librt into libc; the image may still ship stubs
            }

            var target = root + source;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.GetFullPath(new FileInfo(source).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? source), target);
        }

        var bundle = Path.Combine(root, "etc", "ssl", "certs", "ca-certificates.crt");
        Directory.CreateDirectory(Path.GetDirectoryName(bundle)!);
        File.Copy("/etc/ssl/certs/ca-certificates.crt", bundle);
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
