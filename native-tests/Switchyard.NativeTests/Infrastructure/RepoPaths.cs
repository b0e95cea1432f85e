namespace Switchyard.NativeTests.Infrastructure;

/// <summary>Where the repository and the published agent binary are.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> Root = new(FindRepoRoot);

    /// <summary>The folder holding aot.sln, found by walking up from the test assembly.</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>SWITCHYARD_BIN if set, else artifacts/switchyard/switchyard under the repo root.</summary>
    public static string AgentBinary
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("SWITCHYARD_BIN");
            return string.IsNullOrWhiteSpace(fromEnv)
                ? Path.Combine(RepoRoot, "artifacts", "switchyard", "switchyard")
                : Path.GetFullPath(fromEnv);
        }
    }

    /// <summary>The agent binary path; throws with the publish command when it is missing.</summary>
    public static string RequireAgentBinary()
    {
        var path = AgentBinary;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"The published agent binary is missing: {path}. Publish it with " +
                "`dotnet publish src/Switchyard -c Release -r linux-x64 -o artifacts/switchyard` " +
                "or point SWITCHYARD_BIN at it.", path);
        }

        return path;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "aot.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No aot.sln above {AppContext.BaseDirectory}.");
    }
}
