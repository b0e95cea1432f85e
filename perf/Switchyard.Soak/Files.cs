using System.Runtime.InteropServices;

namespace Switchyard.Soak;

/// <summary>
/// A directory laid out like a kubelet Secret/ConfigMap volume: NAME -> ..data/NAME, ..data -> ..VERSION. An update
/// writes a new version directory and renames a new ..data link over the old one (rename(2): every file changes
/// at once, names stay the same), which is how certificates are rotated in a pod.
/// </summary>
internal sealed class KubeletVolume
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

    public void Swap(IReadOnlyDictionary<string, string> files)
    {
        string old = Path.Combine(_dir, new FileInfo(Path.Combine(_dir, "..data")).LinkTarget!);
        string version = WriteVersion(files);
        string tmp = Path.Combine(_dir, "..data_tmp");
        File.CreateSymbolicLink(tmp, Path.GetFileName(version));
        // rename(2) of the link itself (File.Move would see a directory behind the existing ..data link).
        if (Rename(tmp, Path.Combine(_dir, "..data")) != 0)
        {
            throw new IOException($"rename {tmp} -> ..data failed: errno {Marshal.GetLastPInvokeError()}");
        }

        Directory.Delete(old, recursive: true);
    }

    private string WriteVersion(IReadOnlyDictionary<string, string> files)
    {
        string version = Path.Combine(_dir, $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{_version++:000}");
        Directory.CreateDirectory(version);
        foreach ((string name, string text) in files)
        {
            File.WriteAllText(Path.Combine(version, name), text);
        }

        return version;
    }

    /// <summary>Writes <paramref name="text"/> next to <paramref name="path"/> and renames it over it (readers never see half a file).</summary>
    public static void WriteAtomically(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    [DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int Rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);
}
