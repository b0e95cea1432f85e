// Shared by the unit tests (src/Switchyard.Tests/Config/BrokenConfigTests.cs) and the native tests
// (native-tests/Switchyard.NativeTests/Config/BrokenConfigNativeTests.cs, which link this file): the same broken
// configs are fed to ConfigLoader in-process and to the published AOT binary, where the runtime's messages are
// resource keys (UseSystemResourceKeys) and must never reach the user. Only the BCL is used here.
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Switchyard.BrokenConfigs;

/// <summary>When the error shows: while loading the file, when the agent binds its ports, or when the admin server binds.</summary>
public enum BrokenStage
{
    Load,
    Start,
    Admin,
}

/// <summary>A written case: the config path to pass to the agent, and what must stay open while it runs (a busy port).</summary>
public sealed record BrokenSetup(string ConfigPath, IDisposable? Hold = null);

/// <summary>One way to break a config: the JSON path the one-line error must name and a fragment of its reason.</summary>
public sealed record BrokenConfig(string Name, string JsonPath, string Fragment, Func<CaseDirectory, BrokenSetup> Write, BrokenStage Stage = BrokenStage.Load)
{
    public override string ToString() => Name;
}

/// <summary>A temporary directory for one case (no underscores in its path: they would look like resource keys).</summary>
public sealed class CaseDirectory : IDisposable
{
    public CaseDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sy-broken-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    public string Write(string name, byte[] bytes)
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class BrokenConfigCatalog
{
    /// <summary>A file that even root cannot read (procfs refuses reads of a write-only file regardless of capabilities).</summary>
    public const string RootUnreadable = "/proc/sys/vm/drop_caches";

    /// <summary>The runtime's text that must never appear: type names and resource keys (CamelCase words, words_with_underscores).</summary>
    private static readonly Regex ResourceKey = new(@"\b([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|[A-Za-z]+_[A-Za-z_]+)\b", RegexOptions.CultureInvariant);

    /// <summary>Checks one error line; null when it is right, else why not.</summary>
    public static string? Check(BrokenConfig c, string configPath, string line, CaseDirectory dir)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(dir);
        if (line.Contains('\n', StringComparison.Ordinal) || line.Contains('\r', StringComparison.Ordinal))
        {
            return "more than one line";
        }

        string prefix = $"{configPath}: {c.JsonPath}";
        if (!line.StartsWith(prefix + ": ", StringComparison.Ordinal) && !(line.StartsWith(prefix, StringComparison.Ordinal) && line.Length > prefix.Length && line[prefix.Length] is '.' or '['))
        {
            return $"does not start with \"{prefix}\"";
        }

        if (!line.Contains(c.Fragment, StringComparison.Ordinal))
        {
            return $"lacks \"{c.Fragment}\"";
        }

        string words = line.Replace(dir.Path, "DIR", StringComparison.Ordinal).Replace(RootUnreadable, "FILE", StringComparison.Ordinal);
        if (words.Contains("System.", StringComparison.Ordinal) || words.Contains("Switchyard.", StringComparison.Ordinal))
        {
            return "names a .NET type";
        }

        return ResourceKeyIn(words) is { } key ? $"holds \"{key}\", which looks like a runtime resource key" : null;
    }

    /// <summary>The first word of <paramref name="text"/> that looks like a runtime resource key (CamelCase, snake_case), or null.</summary>
    public static string? ResourceKeyIn(string text)
    {
        Match key = ResourceKey.Match(text);
        return key.Success ? key.Value : null;
    }

    public static IReadOnlyList<BrokenConfig> All { get; } = Build();

    private static List<BrokenConfig> Build()
    {
        var cases = new List<BrokenConfig>
        {
            // The file itself.
            Text("empty file", "$", "the file is empty", string.Empty),
            Text("whitespace only", "$", "the file is empty", "  \n\t\n"),
            Text("not JSON at all", "$", "invalid JSON: unexpected 'h'", "hello"),
            Text("truncated in the middle", "$.ports[0]", "invalid JSON: the file ends before the document is complete", """{"version": 1, "ports": [{"listen": 9900,"""),
            Text("trailing comma in an object", "$.ports[0]", "trailing comma before '}'", """{"version": 1, "ports": [{"listen": 9900, "app": "127.0.0.1:1",}]}"""),
            Text("trailing comma in an array", "$.ports[1]", "trailing comma before ']'", """{"version": 1, "ports": [{"listen": 9900, "app": "127.0.0.1:1"},]}"""),
            Text("line comment", "$", "comments are not allowed", "{\n  // hand-written\n  \"version\": 1\n}"),
            Text("block comment", "$", "comments are not allowed", "{ \"version\": 1, /* the only one */ \"ports\": [] }"),
            Text("single quotes", "$", "double quotes", "{'version': 1}"),
            Text("missing comma", "$", "a ',' is missing", "{\"version\": 1 \"ports\": []}"),
            Text("TRUE in capitals", "$.ports[0].upstreamTls.insecureSkipVerify", "unexpected 'T'", """{"version": 1, "ports": [{"listen": 9900, "app": "127.0.0.1:1", "upstreamTls": {"insecureSkipVerify": TRUE}}]}"""),
            Text("text after the object", "$", "invalid JSON", """{"version": 1, "ports": [{"listen": 9900, "app": "127.0.0.1:1"}]} x"""),
            Text("raw newline in a string", "$.ports[0].app", "control character U+000A in a string must be escaped", "{\"version\": 1, \"ports\": [{\"listen\": 9900, \"app\": \"127.0.0.1\n:1\"}]}"),
            Text("invalid escape in a string", "$.ports[0].app", "an invalid escape sequence", "{\"version\": 1, \"ports\": [{\"listen\": 9900, \"app\": \"127.0.0.1\\q:1\"}]}"),
            Bytes("invalid UTF-8", "$.ports[0].name", "not valid UTF-8", [.. "{\"version\": 1, \"ports\": [{\"name\": \"w"u8, 0xC3, 0x28, .. "\", \"listen\": 9900, \"app\": \"127.0.0.1:1\"}]}"u8]),
            Bytes("byte order mark, then an unknown field", "$.ports[0].lisen", "unknown field 'lisen'", [0xEF, 0xBB, 0xBF, .. "{\"version\": 1, \"ports\": [{\"lisen\": 9900, \"app\": \"127.0.0.1:1\"}]}"u8]),
            Text("root is an array", "$", "expected an object, found an array", "[1, 2]"),
            Text("root is a string", "$", "expected an object, found a string", "\"version\""),
            new("larger than 1 MiB", "$", "the limit is 1048576 bytes", d => Setup(d, d.Write("config.json", "{\"version\": 1" + new string(' ', 2 * 1024 * 1024) + "}"))),
            new("a directory instead of a file", "$", "is a directory, not a file", d => Setup(d, Directory.CreateDirectory(d.File("config.json")).FullName)),
            new("missing file", "$", "file not found", d => Setup(d, d.File("absent.json"))),
            new("unreadable file", "$", "permission denied", d => Setup(d, Unreadable(d, "config.json", "{}"))),

            // Keys and kinds.
            Json("duplicate key at the top", "$.version", "duplicate key \"version\"", j => j.Replace("\"version\": 1,", "\"version\": 1, \"version\": 1,", StringComparison.Ordinal)),
            Json("duplicate key in a port", "$.ports[0].app", "duplicate key \"app\"", j => j.Replace("\"app\": ", "\"app\": \"127.0.0.1:2\", \"app\": ", StringComparison.Ordinal)),
            Node("unknown field with a suggestion", "$.ports[0].lisen", "unknown field 'lisen' (did you mean 'listen'?)", j => Rename(Port(j, 0), "listen", "lisen")),
            Json("field in the wrong case", "$.ports[0].App", "unknown field 'App' (did you mean 'app'?)", j => j.Replace("\"app\"", "\"App\"", StringComparison.Ordinal)),
            Node("version as a string", "$.version", "expected a number, found a string", j => j["version"] = "1"),
            Node("version with a fraction", "$.version", "expected a whole number, found 1.5", j => j["version"] = 1.5),
            Node("version out of range", "$.version", "is out of range", j => j["version"] = 99999999999L),
            Node("version null", "$.version", "expected a number, found null", j => j["version"] = null),
            Node("ports as an object", "$.ports", "expected an array, found an object", j => j["ports"] = new JsonObject()),
            Node("listen as a boolean", "$.ports[0].listen", "expected a port number or a \"HOST:PORT\" string, found a boolean", j => Port(j, 0)["listen"] = true),
            Node("limit as a string", "$.ports[0].limits.maxConnections", "expected a number, found a string", j => Port(j, 0)["limits"] = new JsonObject { ["maxConnections"] = "10" }),
            Node("flag as null", "$.ports[0].upstreamTls.insecureSkipVerify", "expected true or false, found null", j => Port(j, 0)["upstreamTls"] = new JsonObject { ["insecureSkipVerify"] = null }),
            Node("label as a number", "$.workload.labels.app", "expected a string, found a number", j => j["workload"] = new JsonObject { ["name"] = "shop", ["labels"] = new JsonObject { ["app"] = 7 } }),
            Node("deep nesting", "$.intercepts[0].match", "nested deeper than", j => j["intercepts"] = new JsonArray(new JsonObject { ["id"] = "deep", ["port"] = "web", ["target"] = "127.0.0.1:1", ["match"] = Nest(50) })),

            // Names and sizes.
            Node("port name longer than 15", "$.ports[0].name", "is 16 characters long", j => Port(j, 0)["name"] = "abcdefghijklmnop"),
            Node("huge port name", "$.ports[0].name", "a string of 100000 characters; the limit is 4096", j => Port(j, 0)["name"] = new string('a', 100_000)),
            Node("port name in capitals", "$.ports[0].name", "holds 'W'", j => Port(j, 0)["name"] = "Web"),
            Node("port name without a letter", "$.ports[0].name", "has no letter", j => Port(j, 0)["name"] = "8080"),
            Node("port name with a double dash", "$.ports[0].name", "holds \"--\"", j => Port(j, 0)["name"] = "web--tls"),
            Node("intercept id too long", "$.intercepts[0].id", "the limit is 63", j => j["intercepts"] = new JsonArray(Intercept(new string('x', 64), new JsonObject { ["header"] = "x-dev", ["exact"] = "a" }))),
            Node("header name too long", "$.intercepts[0].match.header", "the limit is 256", j => j["intercepts"] = new JsonArray(Intercept("alice", new JsonObject { ["header"] = new string('h', 300), ["exact"] = "a" }))),
            Node("header value too long", "$.intercepts[0].match.exact", "the limit is 4096", j => j["intercepts"] = new JsonArray(Intercept("alice", new JsonObject { ["header"] = "x-dev", ["exact"] = new string('v', 4097) }))),
            Node("unterminated regex set", "$.intercepts[0].match.regex", "regex \"([a-z\": unterminated [] set at offset 5", j => j["intercepts"] = new JsonArray(Intercept("alice", new JsonObject { ["header"] = "x-dev", ["regex"] = "([a-z" }))),
            Node("regex with a backreference", "$.intercepts[0].match.regex", "does not support", j => j["intercepts"] = new JsonArray(Intercept("alice", new JsonObject { ["header"] = "x-dev", ["regex"] = "(a)\\1" }))),
            Node("duplicate key in a filter", "$.intercepts[0].match.header", "duplicate key \"header\"", j => j["intercepts"] = new JsonArray(Intercept("alice", new JsonObject { ["header"] = "x-dev", ["exact"] = "a" })), text => text.Replace("\"header\": \"x-dev\"", "\"header\": \"x-dev\", \"header\": \"x-b\"", StringComparison.Ordinal)),

            // Files the config names.
            new("missing certificate", "$.ports[0].downstreamTls.certPem", "file not found: ", d => Tls(d, (cert, key) => (d.File("absent.crt"), key))),
            new("certificate path is a directory", "$.ports[0].downstreamTls.certPem", "is a directory, not a file", d => Tls(d, (cert, key) => (Directory.CreateDirectory(d.File("certs")).FullName, key))),
            new("certificate file holds no certificate", "$.ports[0].downstreamTls.certPem", "no CERTIFICATE block in ", d => Tls(d, (cert, key) => (d.Write("junk.crt", "not a certificate\n"), key))),
            new("key of another certificate", "$.ports[0].downstreamTls.keyPem", "does not match the certificate in ", d => Tls(d, (cert, key) => (cert, WriteKeyPair(d, "other").Key))),
            new("damaged key", "$.ports[0].downstreamTls.keyPem", "the PEM block is damaged", d => Tls(d, (cert, key) => (cert, d.Write("bad.key", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")))),
            new("unreadable key", "$.ports[0].downstreamTls.keyPem", "permission denied", d => Tls(d, (cert, key) => (cert, Unreadable(d, "tls.key", System.IO.File.ReadAllText(key))))),
            new("missing trust root", "$.ports[0].upstreamTls.trustRoots[0]", "file not found: ", d => Setup(d, WriteConfig(d, j => Port(j, 0)["upstreamTls"] = new JsonObject { ["trustRoots"] = new JsonArray(d.File("absent-ca.crt")) }))),
            new("token file is a directory", "$.admin.tokenFile", "is a directory, not a file", d => Setup(d, WriteConfig(d, j => j["admin"]!["tokenFile"] = Directory.CreateDirectory(d.File("token")).FullName))),

            // Addresses in use.
            new("listen address in use", "$.ports[1].listen", "is already in use", d =>
            {
                Socket busy = Busy(out int port);
                return new BrokenSetup(WriteConfig(d, j => Port(j, 1)["listen"] = $"127.0.0.1:{port}"), busy);
            }, BrokenStage.Start),
            new("admin address in use", "$.admin.listen", "is already in use", d =>
            {
                Socket busy = Busy(out int port);
                return new BrokenSetup(WriteConfig(d, j => j["admin"]!["listen"] = $"127.0.0.1:{port}"), busy);
            }, BrokenStage.Admin),
        };
        return cases;
    }

    /// <summary>A valid config: two plaintext ports on free loopback ports and the admin API on another.</summary>
    public static JsonObject Valid() => new()
    {
        ["version"] = 1,
        ["admin"] = new JsonObject { ["listen"] = $"127.0.0.1:{FreePort()}" },
        ["ports"] = new JsonArray(
            new JsonObject { ["name"] = "web", ["listen"] = $"127.0.0.1:{FreePort()}", ["app"] = "127.0.0.1:1" },
            new JsonObject { ["name"] = "api", ["listen"] = $"127.0.0.1:{FreePort()}", ["app"] = "127.0.0.1:2" }),
    };

    public static string WriteConfig(CaseDirectory dir, Action<JsonObject> change, Func<string, string>? text = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(change);
        JsonObject json = Valid();
        change(json);
        string written = json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, MaxDepth = 256 });
        return dir.Write("config.json", text is null ? written : text(written));
    }

    /// <summary>A self-signed ECDSA certificate and its key as PEM files.</summary>
    public static (string Cert, string Key) WriteKeyPair(CaseDirectory dir, string name)
    {
        ArgumentNullException.ThrowIfNull(dir);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return (dir.Write(name + ".crt", cert.ExportCertificatePem() + "\n"), dir.Write(name + ".key", key.ExportPkcs8PrivateKeyPem() + "\n"));
    }

    private static BrokenConfig Text(string name, string path, string fragment, string text) =>
        new(name, path, fragment, d => Setup(d, d.Write("config.json", text)));

    private static BrokenConfig Bytes(string name, string path, string fragment, byte[] bytes) =>
        new(name, path, fragment, d => Setup(d, d.Write("config.json", bytes)));

    private static BrokenConfig Json(string name, string path, string fragment, Func<string, string> text) =>
        new(name, path, fragment, d => Setup(d, WriteConfig(d, _ => { }, text)));

    private static BrokenConfig Node(string name, string path, string fragment, Action<JsonObject> change, Func<string, string>? text = null) =>
        new(name, path, fragment, d => Setup(d, WriteConfig(d, change, text)));

    private static BrokenSetup Setup(CaseDirectory dir, string path) => new(path);

    private static BrokenSetup Tls(CaseDirectory d, Func<string, string, (string Cert, string Key)> choose)
    {
        (string cert, string key) = WriteKeyPair(d, "tls");
        (string useCert, string useKey) = choose(cert, key);
        return Setup(d, WriteConfig(d, j => Port(j, 0)["downstreamTls"] = new JsonObject { ["certPem"] = useCert, ["keyPem"] = useKey }));
    }

    /// <summary>
    /// A path the agent cannot read. As root (tests often run as root, and root ignores file modes) it is a procfs
    /// file that refuses reads to everyone; otherwise a file with mode 000.
    /// </summary>
    private static string Unreadable(CaseDirectory d, string name, string content)
    {
        if (Environment.UserName == "root" || (OperatingSystem.IsLinux() && IsRoot()))
        {
            return RootUnreadable;
        }

        string path = d.Write(name, content);
        if (!OperatingSystem.IsWindows())
        {
            System.IO.File.SetUnixFileMode(path, UnixFileMode.None);
        }

        return path;
    }

    private static bool IsRoot() => System.IO.File.Exists("/proc/self/status")
        && System.IO.File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) == "0");

    private static void Rename(JsonObject json, string from, string to)
    {
        JsonNode? value = json[from]?.DeepClone();
        json.Remove(from);
        json[to] = value;
    }

    private static JsonObject Port(JsonObject json, int index) => json["ports"]![index]!.AsObject();

    private static JsonObject Intercept(string id, JsonObject match) => new() { ["id"] = id, ["port"] = "web", ["target"] = "127.0.0.1:1", ["match"] = match };

    private static JsonNode Nest(int levels)
    {
        JsonNode node = new JsonObject { ["header"] = "x", ["exact"] = "y" };
        for (int i = 0; i < levels; i++)
        {
            node = new JsonObject { ["not"] = node };
        }

        return node;
    }

    private static Socket Busy(out int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return socket;
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
