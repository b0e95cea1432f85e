namespace Switchyard.NativeTests.Infrastructure;

/// <summary>
/// The docker CLI against this machine's engine (Debian's docker.io; `make test` installs it and starts dockerd). Nothing
/// is ever pulled: images are built FROM scratch from files of this machine. No engine fails the test, with the fix.
/// </summary>
public static class Docker
{
    /// <summary>Fails, naming the fix, unless `docker info` answers.</summary>
    public static async Task RequireEngineAsync()
    {
        ProcessResult info;
        try
        {
            info = await ProcessRunner.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], timeout: TimeSpan.FromSeconds(30));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"docker is not installed ({e.Message}): `make deps-docker` (part of `make test`) installs docker.io and starts dockerd", e);
        }

        if (info.ExitCode != 0 || info.Stdout.Trim().Length == 0)
        {
            throw new InvalidOperationException(
                "no container engine answers `docker info`: `make deps-docker` (part of `make test`) installs docker.io and starts dockerd " +
                $"(log: /var/log/dockerd.log)\n{info}");
        }
    }

    /// <summary>Runs `docker ARGS`; throws with the output unless it exits 0. Returns stdout, trimmed.</summary>
    public static async Task<string> RunAsync(params string[] arguments)
    {
        var result = await RunAllowingFailureAsync(arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(result.ToString());
        }

        return result.Stdout.Trim();
    }

    public static Task<ProcessResult> RunAllowingFailureAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("docker", arguments, timeout: TimeSpan.FromSeconds(60));

    /// <summary>Removes containers and images the test made; never throws (the test's own failure matters more).</summary>
    public static async Task RemoveAsync(IEnumerable<string> containers, IEnumerable<string> images)
    {
        foreach (var container in containers)
        {
            await RunAllowingFailureAsync("rm", "-f", "-v", container);
        }

        foreach (var image in images)
        {
            await RunAllowingFailureAsync("rmi", "-f", image);
        }
    }

    /// <summary>A name no other test run on this engine uses.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>
    /// A FROM scratch image of <paramref name="program"/>, the libraries ldd says it links (and the ELF interpreter) and
    /// <paramref name="files"/> (path in the image -> content), run as <paramref name="entrypoint"/>: how a test builds
    /// an app container without pulling a base image.
    /// </summary>
    public static async Task BuildScratchImageAsync(string tag, string program, IReadOnlyDictionary<string, string> files, string[] entrypoint)
    {
        using var context = new TempDir();
        var root = Path.Combine(context.Path, "rootfs");
        var ldd = await ProcessRunner.RunAsync("ldd", [program]);
        if (ldd.ExitCode != 0 || ldd.Stdout.Contains("not found", StringComparison.Ordinal))
        {
            throw new InvalidOperationException(ldd.ToString());
        }

        var paths = ldd.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' '))
            .Select(words => words.Length >= 3 && words[1] == "=>" ? words[2] : words[0])
            .Where(path => path.StartsWith('/'))
            .Append(program);
        foreach (var path in paths)
        {
            var target = root + path;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path, target);
        }

        foreach (var (path, content) in files)
        {
            var target = root + path;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await File.WriteAllTextAsync(target, content);
        }

        var command = string.Join(", ", entrypoint.Select(word => "\"" + word + "\""));
        await File.WriteAllTextAsync(Path.Combine(context.Path, "Dockerfile"), $"FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [{command}]\n");
        await RunAsync("build", "-q", "-t", tag, context.Path);
    }
}
