using System.Diagnostics;

namespace Switchyard.NativeTests.Reload;

/// <summary>
/// A directory laid out and updated the way the kubelet does for ConfigMap and Secret volumes (AtomicWriter):
/// DIR/NAME -> ..data/NAME, ..data -> ..TIMESTAMP/; an update writes a new timestamped directory, points a
/// ..data_tmp symlink at it, renames that over ..data (one atomic rename) and removes the old directory.
/// </summary>
public sealed class KubeletVolume
{
    private readonly string _dir;
    private int _version;

    public KubeletVolume(string dir, IReadOnlyDictionary<string, string> files)
    {
        _dir = dir;
        Directory.CreateDirectory(dir);
        string version = WriteVersion(files);
        File.CreateSymbolicLink(Path.Combine(dir, "..data"), Path.GetFileName(version));
        foreach (string name in files.Keys)
        {
            File.CreateSymbolicLink(Path.Combine(dir, name), Path.Combine("..data", name));
        }
    }

    public string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>Replaces every file at once, exactly like a kubelet update.</summary>
    public void Swap(IReadOnlyDictionary<string, string> files)
    {
        string old = Path.Combine(_dir, new FileInfo(Path.Combine(_dir, "..data")).LinkTarget!);
        string version = WriteVersion(files);
        string tmp = Path.Combine(_dir, "..data_tmp");
        System.IO.File.CreateSymbolicLink(tmp, Path.GetFileName(version));
        // rename(2) of the link itself; File.Move would follow a link to a directory. `mv -T` renames.
        using (var mv = Process.Start(new ProcessStartInfo("mv") { ArgumentList = { "-T", tmp, Path.Combine(_dir, "..data") } })!)
        {
            mv.WaitForExit();
            if (mv.ExitCode != 0)
            {
                throw new IOException($"mv -T {tmp} ..data failed with exit code {mv.ExitCode}");
            }
        }

        Directory.Delete(old, recursive: true);
    }

    private string WriteVersion(IReadOnlyDictionary<string, string> files)
    {
        string version = Path.Combine(_dir, $"..2026_11_23_16_00_{_version++:00}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(version);
        foreach ((string name, string text) in files)
        {
            System.IO.File.WriteAllText(Path.Combine(version, name), text);
        }

        return version;
    }
}
