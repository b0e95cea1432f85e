using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Switchyard.Tests.TestSupport;

/// <summary>
/// js-yaml (a strict YAML 1.2 parser, the one kubectl plugins, Helm tooling and editors built on Node use) run by the
/// machine's node: <see cref="LoadAll"/> parses a YAML stream and returns its documents as JSON. The package is installed
/// with npm into artifacts/node of the checkout on first use (make deps-test does the same), so a test needs only node
/// and npm on PATH.
/// </summary>
public static class JsYaml
{
    public const string Version = "4.3.2";

    // Reads the whole of stdin, parses it as a YAML stream and prints the documents as one JSON array.
    private const string Script =
        "const y = require(process.argv[1]); let s = ''; process.stdin.setEncoding('utf8');" +
        "process.stdin.on('data', d => s += d).on('end', () => {" +
        " try { process.stdout.write(JSON.stringify(y.loadAll(s))); }" +
        " catch (e) { process.stderr.write(String(e.message)); process.exitCode = 3; } });";

    private static readonly Lazy<string> Module = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The documents of <paramref name="yaml"/> as js-yaml reads them; throws <see cref="YamlRejectedException"/> when it refuses the text.</summary>
    public static JsonElement[] LoadAll(string yaml)
    {
        (int code, string stdout, string stderr) = Run("node", ["-e", Script, "--", Module.Value], yaml);
        if (code == 3)
        {
            throw new YamlRejectedException(stderr);
        }

        Assert.True(code == 0, $"node exited {code}: {stderr}");
        using var document = JsonDocument.Parse(stdout);
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    private static string Install()
    {
        string prefix = Path.Combine(RepositoryRoot(), "artifacts", "node");
        string module = Path.Combine(prefix, "node_modules", "js-yaml");
        string manifest = Path.Combine(module, "package.json");
        if (!File.Exists(manifest) || !File.ReadAllText(manifest).Contains($"\"version\": \"{Version}\"", StringComparison.Ordinal))
        {
            Directory.CreateDirectory(prefix);
            (int code, _, string stderr) = Run("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", "--loglevel=error", $"js-yaml@{Version}"], null);
            Assert.True(code == 0, $"npm install js-yaml@{Version} failed ({code}): {stderr} (make deps-test installs node and npm)");
        }

        return module;
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, string[] args, string? stdin)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{file} is not on PATH ({e.Message}): make deps-test installs nodejs and npm", e);
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(stdin ?? string.Empty);
            process.StandardInput.Close();
            process.WaitForExit();
            return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
        }
    }

    private static string RepositoryRoot([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", ".."));
}

/// <summary>js-yaml refused the text; the message is js-yaml's (e.g. "deficient indentation (3:1)").</summary>
public sealed class YamlRejectedException(string message) : Exception(message);
