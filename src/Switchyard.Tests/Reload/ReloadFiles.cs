using System.Globalization;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Reload;

/// <summary>Config texts and the two ways a mounted file changes: rewritten in place, or a kubelet <c>..data</c> swap.</summary>
internal static class ReloadFiles
{
    /// <summary>The app every generated port forwards to (a closed port: nothing in these tests reaches the app).</summary>
    public static readonly int App = Loopback.ClosedPort();

    public static string Config(IEnumerable<(string Name, int Listen)> ports, params string[] intercepts) => Config(App, ports, intercepts);

    public static string Config(int app, IEnumerable<(string Name, int Listen)> ports, params string[] intercepts)
    {
        string portList = string.Join(",", ports.Select(p => $$"""{"name":"{{p.Name}}","listen":"127.0.0.1:{{p.Listen.ToString(CultureInfo.InvariantCulture)}}","app":"127.0.0.1:{{app.ToString(CultureInfo.InvariantCulture)}}","tls":"off","http":"http1"}"""));
        string interceptList = string.Join(",", intercepts.Select(Intercept));
        return $$"""{"version":1,"ports":[{{portList}}],"intercepts":[{{interceptList}}]}""";
    }

    /// <summary>An intercept "ID@PORT" (port name) matching header x-dev: ID, delivering to a closed local port.</summary>
    public static string Intercept(string spec)
    {
        string[] parts = spec.Split('@');
        return $$"""{"id":"{{parts[0]}}","port":"{{parts[1]}}","mode":"intercept","match":{"all":[{"header":"x-dev","exact":"{{parts[0]}}"}]},"target":"127.0.0.1:{{Loopback.ClosedPort().ToString(CultureInfo.InvariantCulture)}}"}""";
    }

    /// <summary>
    /// The kubelet's ConfigMap layout: DIR/NAME -> ..data/NAME, ..data -> ..TIMESTAMP/ holding the files. Returns the
    /// path the agent is configured with (DIR/NAME).
    /// </summary>
    public static string KubeletLayout(string dir, IReadOnlyDictionary<string, string> files)
    {
        string version = WriteVersion(dir, files);
        File.CreateSymbolicLink(Path.Combine(dir, "..data"), Path.GetFileName(version));
        foreach (string name in files.Keys)
        {
            File.CreateSymbolicLink(Path.Combine(dir, name), Path.Combine("..data", name));
        }

        return Path.Combine(dir, files.Keys.First());
    }

    /// <summary>
    /// A kubelet update (AtomicWriter): a new timestamped directory, a ..data_tmp symlink to it, renamed over ..data,
    /// then the old directory removed.
    /// </summary>
    public static void KubeletSwap(string dir, IReadOnlyDictionary<string, string> files)
    {
        string old = Path.Combine(dir, new FileInfo(Path.Combine(dir, "..data")).LinkTarget!);
        string version = WriteVersion(dir, files);
        string tmp = Path.Combine(dir, "..data_tmp");
        File.CreateSymbolicLink(tmp, Path.GetFileName(version));
        Rename(tmp, Path.Combine(dir, "..data"));
        Directory.Delete(old, recursive: true);
    }

    /// <summary>rename(2) of the link itself (File.Move follows a link to a directory): `mv -T` does exactly that.</summary>
    private static void Rename(string from, string to)
    {
        using var mv = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mv") { ArgumentList = { "-T", from, to } })!;
        mv.WaitForExit();
        if (mv.ExitCode != 0)
        {
            throw new IOException($"mv -T {from} {to} failed with {mv.ExitCode}");
        }
    }

    private static string WriteVersion(string dir, IReadOnlyDictionary<string, string> files)
    {
        string version = Path.Combine(dir, $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(version);
        foreach ((string name, string text) in files)
        {
            File.WriteAllText(Path.Combine(version, name), text);
        }

        return version;
    }
}
