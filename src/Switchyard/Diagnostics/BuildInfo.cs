using System.Reflection;

namespace Switchyard.Diagnostics;

/// <summary>What was built: the version and the git commit (`switchyard version`, switchyard_build_info).</summary>
internal static class BuildInfo
{
    /// <summary>
    /// The commit the binary was built from: the SDK appends it to the informational version ("0.1.0+&lt;sha&gt;",
    /// SourceLink's SourceRevisionId) when building inside a git checkout; "unknown" elsewhere (a source tarball).
    /// </summary>
    public static string Commit { get; } = ReadCommit(typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    internal static string ReadCommit(string? informationalVersion) =>
        informationalVersion?.IndexOf('+', StringComparison.Ordinal) is int plus and >= 0 && plus + 1 < informationalVersion.Length
            ? informationalVersion[(plus + 1)..]
            : "unknown";
}
