namespace Switchyard.NativeTests.Infrastructure;

/// <summary>
/// A directory laid out as the kubelet lays out a ConfigMap or Secret volume: the files live in a timestamped directory
/// `..2026_12_02_10_00_00.000000001`, `..data` is a symlink to it, and each file name is a symlink through `..data`.
/// An update writes a new timestamped directory, points a temporary link at it and renames that link over `..data`
/// (rename(2): one atomic step, what the kubelet's atomic writer does), then removes the old directory.
/// Everything is world-readable, as the kubelet's default mode 0644 makes it, so a non-root container can read it.
/// </summary>
public sealed class ProjectedVolume
{
    private const string Data = "..data";
    private int _generation;
    private string? _current;

    private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Searchable = Readable | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private ProjectedVolume(string path)
    {
        Path = Directory.CreateDirectory(path).FullName;
        SetMode(Path, Searchable);
    }

    /// <summary>The volume at <paramref name="path"/> (created) holding <paramref name="files"/> (name -> content).</summary>
    public static async Task<ProjectedVolume> CreateAsync(string path, IReadOnlyDictionary<string, string> files)
    {
        var volume = new ProjectedVolume(path);
        await volume.UpdateAsync(files);
        return volume;
    }

    public string Path { get; }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>Publishes a new version of the files in one atomic swap of `..data`.</summary>
    public async Task UpdateAsync(IReadOnlyDictionary<string, string> files)
    {
        var name = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{++_generation:D9}";
        var version = Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;
        foreach (var (file, content) in files)
        {
            var path = System.IO.Path.Combine(version, file);
            await File.WriteAllTextAsync(path, content);
            SetMode(path, Readable | UnixFileMode.UserWrite);
        }

        SetMode(version, Searchable);

        var temporary = System.IO.Path.Combine(Path, "..data_tmp");
        File.CreateSymbolicLink(temporary, name);
        var rename = await ProcessRunner.RunAsync("mv", ["-T", temporary, System.IO.Path.Combine(Path, Data)]);
        if (rename.ExitCode != 0)
        {
            throw new InvalidOperationException(rename.ToString());
        }

        foreach (var file in files.Keys)
        {
            var link = System.IO.Path.Combine(Path, file);
            if (!File.Exists(link) && new FileInfo(link).LinkTarget is null)
            {
                File.CreateSymbolicLink(link, $"{Data}/{file}");
            }
        }

        if (_current is not null)
        {
            Directory.Delete(System.IO.Path.Combine(Path, _current), recursive: true);
        }

        _current = name;
    }
}
