using System.Globalization;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>What curl reported: exit code, HTTP status and version (from -w), body and stderr.</summary>
public sealed record CurlResult(ProcessResult Process, int StatusCode, string HttpVersion, string Body)
{
    public int ExitCode => Process.ExitCode;

    public bool Succeeded => Process.ExitCode == 0 && StatusCode == 200;

    public override string ToString() => $"HTTP {StatusCode} (version {HttpVersion})\n{Process}";
}

/// <summary>Runs the system curl with a bounded time and no proxy.</summary>
public static class Curl
{
    private const string Marker = "__switchyard_curl__ ";

    /// <summary>https://localhost:PORT/PATH, with localhost pinned to 127.0.0.1 (the agent listens on IPv4 only).</summary>
    public static Task<CurlResult> HttpsAsync(int port, string path, params string[] extra) =>
        RunAsync([$"https://localhost:{port}{path}", "--resolve", $"localhost:{port}:127.0.0.1", .. extra]);

    /// <summary>http://127.0.0.1:PORT/PATH.</summary>
    public static Task<CurlResult> HttpAsync(int port, string path, params string[] extra) =>
        RunAsync([$"http://127.0.0.1:{port}{path}", .. extra]);

    public static async Task<CurlResult> RunAsync(IEnumerable<string> arguments)
    {
        string[] common =
        [
            "--silent", "--show-error", "--noproxy", "*",
            "--connect-timeout", "5", "--max-time", "15",
            "--write-out", Marker + "%{http_code} %{http_version}",
        ];
        var process = await ProcessRunner.RunAsync("curl", [.. common, .. arguments], timeout: TimeSpan.FromSeconds(25));
        var stdout = process.Stdout;
        var markerIndex = stdout.LastIndexOf(Marker, StringComparison.Ordinal);
        if (markerIndex < 0)
        {
            return new CurlResult(process, 0, "", stdout);
        }

        var body = stdout[..markerIndex];
        var trailer = stdout[(markerIndex + Marker.Length)..].Trim().Split(' ');
        var status = int.TryParse(trailer[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : 0;
        var version = trailer.Length > 1 ? trailer[1] : "";
        return new CurlResult(process, status, version, body);
    }
}
