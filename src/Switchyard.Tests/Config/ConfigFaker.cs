using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bogus;
using Switchyard.Config;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Config;

/// <summary>What a generated downstreamTls block must load as.</summary>
public sealed record ExpectedDownstreamTls(string Subject, int Intermediates, string[] Alpn, int? ClientAuthRoots, bool AllowAnonymous, bool AcceptAnyCert);

/// <summary>What a generated upstreamTls block must load as.</summary>
public sealed record ExpectedUpstreamTls(string? ClientSubject, int TrustRoots, bool InsecureSkipVerify, string? ServerName);

/// <summary>What a generated port must load as (computed by the generator from what it wrote, never by the loader).</summary>
public sealed record ExpectedPort(
    string Name,
    string? AppProtocol,
    IPEndPoint Listen,
    string AppHost,
    int AppPort,
    TlsMode Tls,
    HttpMode Http,
    InspectMode Inspect,
    TimeSpan ProbeTimeout,
    ExpectedDownstreamTls? DownstreamTls,
    ExpectedUpstreamTls? UpstreamTls);

/// <summary>A generated config file: the JSON tree (mutable, for the invalid-config cases) and what it must load as.</summary>
public sealed record GeneratedConfig(
    int Seed,
    JsonObject Json,
    IPEndPoint AdminListen,
    string? AdminToken,
    IReadOnlyList<ExpectedPort> Ports,
    IReadOnlyList<InterceptSettings> Intercepts)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public byte[] ToUtf8() => Encoding.UTF8.GetBytes(Json.ToJsonString(Indented));

    /// <summary>A deep copy of the JSON to mutate.</summary>
    public JsonObject CloneJson() => (JsonObject)Json.DeepClone();

    /// <summary>The name port <paramref name="index"/> is known by (its "name", or its listen port number).</summary>
    public string PortName(int index) => Ports[index].Name;
}

/// <summary>
/// Bogus generator of valid version-1 config files, with real PEM files written into a temp dir. Every choice comes
/// from a <see cref="Randomizer"/> seeded per config, so a failing seed reproduces.
/// </summary>
public sealed class ConfigFaker(TempDirectory directory)
{
    private static readonly string[] NameWords =
        ["http", "https", "web", "api", "grpc", "metrics", "admin", "h2c", "ws", "shop", "echo", "auth", "cart", "search", "db"];

    private static readonly string[] AppProtocols =
        ["https", "http", "wss", "ws", "kubernetes.io/wss", "kubernetes.io/ws", "kubernetes.io/h2c", "h2c", "http2", "grpc", "tls", "tcp"];

    public GeneratedConfig Generate(int seed, int minPorts = 1, int maxPorts = 4)
    {
        var f = new Faker { Random = new Randomizer(seed) };
        var json = new JsonObject { ["version"] = 1 };

        if (f.Random.Bool(0.5f))
        {
            json["workload"] = new JsonObject
            {
                ["kind"] = f.PickRandom("Deployment", "StatefulSet", "DaemonSet"),
                ["name"] = f.Internet.DomainWord(),
                ["namespace"] = f.PickRandom("default", "shop", "kube-public"),
                ["labels"] = new JsonObject { ["app"] = f.Internet.DomainWord(), ["tier"] = f.PickRandom("web", "backend") },
            };
        }

        (IPEndPoint adminListen, string? token) = GenerateAdmin(f, json, seed);
        if (f.Random.Bool(0.3f))
        {
            json["tunnel"] = new JsonObject { ["listen"] = $"0.0.0.0:{f.Random.Int(9000, 9999)}" };
        }

        int portCount = f.Random.Int(minPorts, maxPorts);
        var ports = new JsonArray();
        var expectedPorts = new List<ExpectedPort>();
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        var usedListen = new HashSet<int>();
        for (int i = 0; i < portCount; i++)
        {
            (JsonObject port, ExpectedPort expected) = GeneratePort(f, seed, i, usedNames, usedListen);
            ports.Add(port);
            expectedPorts.Add(expected);
        }

        json["ports"] = ports;
        List<InterceptSettings> intercepts = GenerateIntercepts(f, json, expectedPorts);
        return new GeneratedConfig(seed, json, adminListen, token, expectedPorts, intercepts);
    }

    private (IPEndPoint Listen, string? Token) GenerateAdmin(Faker f, JsonObject json, int seed)
    {
        int port = f.Random.Int(9000, 9999);
        switch (f.Random.Int(0, 3))
        {
            case 0:
                return (new IPEndPoint(IPAddress.Loopback, 9901), null); // no admin block: the default
            case 1:
                json["admin"] = new JsonObject { ["listen"] = $"127.0.0.1:{port}", ["tokenFile"] = null };
                return (new IPEndPoint(IPAddress.Loopback, port), null);
            case 2:
                json["admin"] = new JsonObject { ["listen"] = $"[::1]:{port}" };
                return (new IPEndPoint(IPAddress.IPv6Loopback, port), null);
            default:
            {
                // Off loopback /v1/ needs a token; the file's surrounding whitespace is not part of it.
                string token = f.Random.AlphaNumeric(32);
                string path = directory.Write($"token-{seed}", $"  {token}\n");
                json["admin"] = new JsonObject { ["listen"] = $"0.0.0.0:{port}", ["tokenFile"] = path };
                return (new IPEndPoint(IPAddress.Any, port), token);
            }
        }
    }

    private (JsonObject Port, ExpectedPort Expected) GeneratePort(Faker f, int seed, int index, HashSet<string> usedNames, HashSet<int> usedListen)
    {
        var port = new JsonObject();
        int listenPort;
        do
        {
            listenPort = f.Random.Int(1024, 65535);
        }
        while (!usedListen.Add(listenPort));

        string? name = null;
        if (f.Random.Bool(0.85f))
        {
            do
            {
                name = f.PickRandom(NameWords) + (f.Random.Bool() ? string.Empty : "-" + f.Random.Int(1, 99).ToString(CultureInfo.InvariantCulture));
            }
            while (usedNames.Contains(name));

            port["name"] = name;
        }

        string expectedName = name ?? listenPort.ToString(CultureInfo.InvariantCulture);
        usedNames.Add(expectedName);

        if (f.Random.Bool(0.3f))
        {
            port["protocol"] = "TCP";
        }

        string? appProtocol = f.Random.Bool(0.4f) ? f.PickRandom(AppProtocols) : null;
        if (appProtocol is not null)
        {
            port["appProtocol"] = appProtocol;
        }

        (JsonNode listenJson, IPAddress listenAddress) = f.Random.Int(0, 5) switch
        {
            0 or 1 => ((JsonNode)JsonValue.Create(listenPort), IPAddress.IPv6Any),
            2 => (JsonValue.Create($"127.0.0.1:{listenPort}"), IPAddress.Loopback),
            3 => (JsonValue.Create($"[::1]:{listenPort}"), IPAddress.IPv6Loopback),
            4 => (JsonValue.Create($"0.0.0.0:{listenPort}"), IPAddress.Any),
            _ => (JsonValue.Create($"localhost:{listenPort}"), IPAddress.Loopback),
        };
        port["listen"] = listenJson;

        int appPort = f.Random.Int(1, 65535);
        string appHost = f.Random.Int(0, 4) switch
        {
            0 => "127.0.0.1",
            1 => "localhost",
            2 => "::1",
            3 => f.Internet.DomainName(),
            _ => f.Internet.Ip(),
        };
        string appText = appHost.Contains(':') ? $"[{appHost}]:{appPort}" : $"{appHost}:{appPort}";
        port["app"] = appText;

        bool withDownstream = f.Random.Bool(0.3f);
        // "off" contradicts downstreamTls, so a port with one never gets it
        (string? tlsText, TlsMode tls) = f.Random.Int(0, withDownstream ? 2 : 3) switch
        {
            0 => ((string?)null, TlsMode.Auto),
            1 => ("auto", TlsMode.Auto),
            2 => ("on", TlsMode.On),
            _ => ("off", TlsMode.Off),
        };
        (string? httpText, HttpMode http) = f.Random.Int(0, 4) switch
        {
            0 => ((string?)null, HttpMode.Auto),
            1 => ("auto", HttpMode.Auto),
            2 => ("http1", HttpMode.Http1),
            3 => ("http2", HttpMode.Http2),
            _ => ("none", HttpMode.None),
        };
        (string? inspectText, InspectMode inspect) = f.Random.Int(0, 3) switch
        {
            0 => ((string?)null, InspectMode.Auto),
            1 => ("auto", InspectMode.Auto),
            2 => ("always", InspectMode.Always),
            _ => ("never", InspectMode.Never),
        };
        SetIfNotNull(port, "tls", tlsText);
        SetIfNotNull(port, "http", httpText);
        SetIfNotNull(port, "inspect", inspectText);

        (string? probeText, TimeSpan probe) = GenerateDuration(f);
        SetIfNotNull(port, "probeTimeout", probeText);

        ExpectedDownstreamTls? downstream = null;
        if (withDownstream)
        {
            (port["downstreamTls"], downstream) = GenerateDownstream(f, $"{seed}-{index}");
        }

        ExpectedUpstreamTls? upstream = null;
        if (f.Random.Bool(0.3f))
        {
            (port["upstreamTls"], upstream) = GenerateUpstream(f, $"{seed}-{index}");
        }

        if (upstream?.ClientSubject is not null && downstream is not null && inspect != InspectMode.Never
            && (downstream.ClientAuthRoots is null || (downstream.AcceptAnyCert && !downstream.AllowAnonymous)))
        {
            // SPEC "Client certificates": a port presenting a client certificate to the app must verify its callers.
            var clientAuth = new JsonObject { ["trustRoots"] = new JsonArray(JsonValue.Create(directory.Write($"client-ca-{seed}-{index}.pem", TestPki.Shared.RootPem))) };
            port["downstreamTls"]!["clientAuth"] = clientAuth;
            downstream = downstream with { ClientAuthRoots = 1, AllowAnonymous = false, AcceptAnyCert = false };
        }

        return (port, new ExpectedPort(expectedName, appProtocol, new IPEndPoint(listenAddress, listenPort), appHost, appPort, tls, http, inspect, probe, downstream, upstream));
    }

    /// <summary>A duration and its value, computed from the number and unit chosen (fractions are exact in binary).</summary>
    public static (string? Text, TimeSpan Value) GenerateDuration(Faker f)
    {
        switch (f.Random.Int(0, 4))
        {
            case 0:
                return (null, TimeSpan.FromSeconds(2)); // SPEC default
            case 1:
            {
                int ms = f.Random.Int(1, 5000);
                return ($"{ms}ms", TimeSpan.FromMilliseconds(ms));
            }

            case 2:
            {
                int s = f.Random.Int(1, 60);
                return ($"{s}s", TimeSpan.FromSeconds(s));
            }

            case 3:
            {
                int m = f.Random.Int(1, 10);
                return ($"{m}m", TimeSpan.FromMinutes(m));
            }

            default:
            {
                int quarters = f.Random.Int(1, 40);
                string text = (quarters / 4m).ToString(CultureInfo.InvariantCulture) + "s";
                return (text, TimeSpan.FromMilliseconds(quarters * 250));
            }
        }
    }

    private (JsonObject Json, ExpectedDownstreamTls Expected) GenerateDownstream(Faker f, string tag)
    {
        TestPki pki = TestPki.Shared;
        IssuedCertificate leaf = pki.Leaf(rsa: f.Random.Bool());
        KeyFormat format = leaf.IsRsa ? f.PickRandom(KeyFormat.Pkcs1, KeyFormat.Pkcs8) : f.PickRandom(KeyFormat.Sec1, KeyFormat.Pkcs8);
        bool withIntermediate = f.Random.Bool(0.7f);
        var chain = new StringBuilder(leaf.CertificatePem).Append('\n');
        if (withIntermediate)
        {
            chain.Append(pki.IntermediatePem).Append('\n');
        }

        var json = new JsonObject
        {
            ["certPem"] = directory.Write($"downstream-{tag}.crt", chain.ToString()),
            ["keyPem"] = directory.Write($"downstream-{tag}.key", leaf.KeyPem(format) + "\n"),
        };

        string[] alpn = ["h2", "http/1.1"];
        if (f.Random.Bool(0.4f))
        {
            alpn = f.PickRandom<string[]>(["http/1.1"], ["h2"], ["http/1.1", "h2"], ["h2", "http/1.1", "grpc-exp"]);
            json["alpn"] = new JsonArray([.. alpn.Select(a => (JsonNode)JsonValue.Create(a))]);
        }

        int? roots = null;
        bool allowAnonymous = false;
        bool acceptAnyCert = false;
        if (f.Random.Bool(0.4f))
        {
            allowAnonymous = f.Random.Bool();
            acceptAnyCert = f.Random.Bool(0.2f);
            string rootFile = directory.Write($"client-ca-{tag}.pem", pki.RootPem);
            json["clientAuth"] = new JsonObject
            {
                ["trustRoots"] = new JsonArray(JsonValue.Create(rootFile)),
                ["allowAnonymous"] = allowAnonymous,
                ["acceptAnyCert"] = acceptAnyCert,
            };
            roots = 1;
        }

        return (json, new ExpectedDownstreamTls(leaf.Subject, withIntermediate ? 1 : 0, alpn, roots, allowAnonymous, acceptAnyCert));
    }

    private (JsonObject Json, ExpectedUpstreamTls Expected) GenerateUpstream(Faker f, string tag)
    {
        TestPki pki = TestPki.Shared;
        var json = new JsonObject();
        string? clientSubject = null;
        if (f.Random.Bool())
        {
            IssuedCertificate client = pki.Leaf(rsa: f.Random.Bool());
            json["certPem"] = directory.Write($"upstream-{tag}.crt", client.CertificatePem);
            json["keyPem"] = directory.Write($"upstream-{tag}.key", client.KeyPem(KeyFormat.Pkcs8));
            clientSubject = client.Subject;
        }

        int roots = 0;
        if (f.Random.Bool())
        {
            string rootDir = directory.CreateSubdirectory($"upstream-roots-{tag}");
            File.WriteAllText(Path.Combine(rootDir, "root.pem"), pki.RootPem);
            File.WriteAllText(Path.Combine(rootDir, "other.pem"), pki.OtherRoot.ExportCertificatePem());
            json["trustRoots"] = new JsonArray(JsonValue.Create(rootDir));
            roots = 2;
        }
        else if (f.Random.Bool())
        {
            json["trustRoots"] = new JsonArray();
        }

        bool skip = f.Random.Bool(0.3f);
        if (skip || f.Random.Bool())
        {
            json["insecureSkipVerify"] = skip;
        }

        string? serverName = f.Random.Bool() ? f.Internet.DomainName() : null;
        json["serverName"] = serverName;
        return (json, new ExpectedUpstreamTls(clientSubject, roots, skip, serverName));
    }

    private static List<InterceptSettings> GenerateIntercepts(Faker f, JsonObject json, List<ExpectedPort> ports)
    {
        var expected = new List<InterceptSettings>();
        int count = f.Random.Int(0, 2);
        if (count == 0)
        {
            if (f.Random.Bool())
            {
                json["intercepts"] = new JsonArray();
            }

            return expected;
        }

        var array = new JsonArray();
        for (int i = 0; i < count; i++)
        {
            ExpectedPort port = f.PickRandom(ports);
            string id = $"{f.Name.FirstName().ToLowerInvariant()}-{i}";
            var intercept = new JsonObject { ["id"] = id };
            string portRef; // how the config names the port
            if (f.Random.Bool())
            {
                portRef = port.Name;
                intercept["port"] = portRef;
            }
            else
            {
                // by listen number, as a JSON number or a string
                portRef = port.Listen.Port.ToString(CultureInfo.InvariantCulture);
                intercept["port"] = f.Random.Bool() ? JsonValue.Create(port.Listen.Port) : JsonValue.Create(portRef);
            }

            string mode = "intercept";
            if (f.Random.Bool())
            {
                mode = f.PickRandom("intercept", "wiretap");
                intercept["mode"] = mode;
            }

            intercept["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = id };
            string target = $"127.0.0.1:{f.Random.Int(10000, 20000)}";
            intercept["target"] = target;
            bool failOpen = true;
            if (f.Random.Bool())
            {
                failOpen = f.Random.Bool();
                intercept["failOpen"] = failOpen;
            }

            bool plaintext = false;
            HttpMode deliveryHttp = HttpMode.Auto;
            if (f.Random.Bool())
            {
                plaintext = f.Random.Bool();
                string http = f.PickRandom("auto", "http1", "http2");
                deliveryHttp = http switch { "http1" => HttpMode.Http1, "http2" => HttpMode.Http2, _ => HttpMode.Auto };
                intercept["delivery"] = new JsonObject { ["plaintext"] = plaintext, ["http"] = http };
            }

            array.Add(intercept);

            // The settings name the port by its name whichever way the config referred to it.
            var rule = new Switchyard.Routing.InterceptRule(id, port.Name, mode == "wiretap" ? Switchyard.Routing.InterceptMode.Wiretap : Switchyard.Routing.InterceptMode.Intercept,
                new Switchyard.Routing.HeaderFilter("x-dev", Switchyard.Routing.StringMatch.Exact(id)), target, failOpen);
            expected.Add(new InterceptSettings(id, port.Name, mode, target, failOpen, rule, plaintext) { DeliveryHttp = deliveryHttp });
        }

        json["intercepts"] = array;
        return expected;
    }

    private static void SetIfNotNull(JsonObject json, string name, string? value)
    {
        if (value is not null)
        {
            json[name] = value;
        }
    }

    /// <summary>The ALPN ids as the settings carry them.</summary>
    public static string[] AlpnNames(IEnumerable<SslApplicationProtocol> protocols) => [.. protocols.Select(p => p.ToString())];
}
