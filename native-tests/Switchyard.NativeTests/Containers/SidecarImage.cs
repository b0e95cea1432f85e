using System.Globalization;
using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Containers;

/// <summary>
/// The image `make image` builds (containers/build-image.sh: containers/rootfs.sh, then containers/Dockerfile's FROM scratch
/// stage), built here from the published binary under a name of its own, and removed when the tests end.
/// </summary>
public sealed class SidecarImage : IAsyncLifetime
{
    public string Tag { get; } = Docker.UniqueName("switchyard-nt") + ":test";

    public long SizeBytes { get; private set; }

    public async Task InitializeAsync()
    {
        await Docker.RequireEngineAsync();
        var script = Path.Combine(RepoPaths.RepoRoot, "containers", "build-image.sh");
        var build = await ProcessRunner.RunAsync(script, [RepoPaths.RequireAgentBinary(), Tag], timeout: TimeSpan.FromMinutes(2));
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException(build.ToString());
        }

        SizeBytes = long.Parse(await Docker.RunAsync("image", "inspect", "-f", "{{.Size}}", Tag), CultureInfo.InvariantCulture);
    }

    public Task DisposeAsync() => Docker.RemoveAsync([], [Tag]);
}
