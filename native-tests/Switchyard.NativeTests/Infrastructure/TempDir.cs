namespace Switchyard.NativeTests.Infrastructure;

/// <summary>A per-test temporary directory, removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("switchyard-nt-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file for a moment; the OS cleans /tmp eventually.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
