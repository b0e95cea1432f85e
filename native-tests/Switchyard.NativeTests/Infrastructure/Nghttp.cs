using System.Text.Json.Nodes;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>One response nghttp received, from its HAR file.</summary>
public sealed record NghttpEntry(string Url, int Status);

/// <summary>What an nghttp run printed (the bodies, concatenated) and its HAR entries (URL and status per stream).</summary>
public sealed record NghttpResult(ProcessResult Process, IReadOnlyList<NghttpEntry> Entries)
{
    public string Body => Process.Stdout;

    public override string ToString() => $"entries: [{string.Join(", ", Entries)}]\n{Process}";
}

/// <summary>
/// nghttp (nghttp2-client): HTTP/2 only, every URI of one run on one connection. https:// negotiates ALPN h2 (it does
/// not verify the certificate); http:// starts with the h2c connection preface (prior knowledge).
/// </summary>
public static class Nghttp
{
    public static async Task<NghttpResult> RunAsync(TempDir dir, IEnumerable<string> urls, IEnumerable<string>? headers = null, string? dataFile = null)
    {
        string har = dir.File($"nghttp-{Guid.NewGuid():N}.har");
        List<string> arguments = ["--timeout=10", "--har=" + har];
        foreach (var header in headers ?? [])
        {
            arguments.Add("--header=" + header);
        }

        if (dataFile is not null)
        {
            arguments.Add("--data=" + dataFile);
        }

        arguments.AddRange(urls);
        var process = await ProcessRunner.RunAsync("nghttp", arguments, timeout: TimeSpan.FromSeconds(25));
        var entries = new List<NghttpEntry>();
        if (File.Exists(har))
        {
            var log = JsonNode.Parse(await File.ReadAllTextAsync(har))?["log"]?["entries"]?.AsArray() ?? [];
            foreach (var entry in log)
            {
                entries.Add(new NghttpEntry(
                    entry?["request"]?["url"]?.GetValue<string>() ?? "",
                    entry?["response"]?["status"]?.GetValue<int>() ?? 0));
            }
        }

        return new NghttpResult(process, entries);
    }

    /// <summary>https://127.0.0.1:PORT/PATH or http://127.0.0.1:PORT/PATH.</summary>
    public static string Url(int port, bool tls, string path) => $"{(tls ? "https" : "http")}://127.0.0.1:{port}{path}";
}
