using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;
using Switchyard.Config;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Config;

public sealed class ConfigLoaderTests : IDisposable
{
    private const int FirstValidSeed = 20_250_000;
    private const int ValidConfigCount = 50;
    private static readonly int[] MutationBaseSeeds = [101, 202, 303];

    private readonly TempDirectory _dir = new();
    private readonly ConfigFaker _faker;

    public ConfigLoaderTests() => _faker = new ConfigFaker(_dir);

    public void Dispose() => _dir.Dispose();

    public static TheoryData<int> ValidSeeds()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < ValidConfigCount; i++)
        {
            data.Add(FirstValidSeed + i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ValidSeeds))]
    public void A_generated_valid_config_parses_into_the_settings_it_describes(int seed)
    {
        GeneratedConfig generated = _faker.Generate(seed);
        byte[] bytes = generated.ToUtf8();

        AgentSettings settings = ConfigLoader.Parse(bytes, "generated.json");

        AssertMatches(generated, settings);
        Assert.Equal("generated.json", settings.FilePath);
        Assert.Equal(XxHash3.HashToUInt64(bytes).ToString("x16", CultureInfo.InvariantCulture), settings.Fingerprint);
    }

    [Fact]
    public void Load_reads_the_file_and_records_its_path()
    {
        GeneratedConfig generated = _faker.Generate(seed: 7, minPorts: 3);
        string path = _dir.Write("config.json", generated.ToUtf8());

        AgentSettings settings = ConfigLoader.Load(path);

        AssertMatches(generated, settings);
        Assert.Equal(path, settings.FilePath);
    }

    [Fact]
    public void The_fingerprint_changes_with_the_bytes_of_the_file()
    {
        GeneratedConfig generated = _faker.Generate(seed: 8);
        byte[] bytes = generated.ToUtf8();
        byte[] reformatted = Encoding.UTF8.GetBytes(generated.Json.ToJsonString());

        AgentSettings a = ConfigLoader.Parse(bytes, "a.json");
        AgentSettings b = ConfigLoader.Parse(reformatted, "b.json");

        Assert.NotEqual(a.Fingerprint, b.Fingerprint);
        Assert.Equal(XxHash3.HashToUInt64(reformatted).ToString("x16", CultureInfo.InvariantCulture), b.Fingerprint);
    }

    [Fact]
    public void Comments_in_the_file_are_rejected_as_the_config_is_strict_json()
    {
        string json = """
            {
              "version": 1, // the only version
              "ports": [ { "listen": 9900, "app": "127.0.0.1:8080" } ]
            }
            """;

        ConfigException e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "c.json"));

        Assert.Equal("$", e.JsonPath);
        Assert.Equal("invalid JSON: comments are not allowed (the config is strict JSON) (line 2, column 17)", e.Reason);
    }

    [Fact]
    public void A_port_without_a_name_is_known_by_its_listen_number()
    {
        string json = """{ "version": 1, "ports": [ { "listen": 9900, "app": "127.0.0.1:8080" } ] }""";

        AgentSettings settings = ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "c.json");

        PortSettings port = Assert.Single(settings.Ports);
        Assert.Equal("9900", port.Name);
        Assert.Equal(TimeSpan.FromSeconds(2), port.ProbeTimeout);
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9901), settings.AdminListen);
        Assert.Empty(settings.Intercepts);
    }

    [Fact]
    public void Loading_a_missing_file_names_the_file_and_the_root_path()
    {
        string path = _dir.File("absent.json");

        ConfigException e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        Assert.Equal(path, e.File);
        Assert.Equal("$", e.JsonPath);
        Assert.Equal($"{path}: $: file not found", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n")]
    [InlineData("this is not JSON")]
    [InlineData("null")]
    [InlineData("[1, 2, 3]")]
    [InlineData("\"version\"")]
    public void A_file_that_is_not_a_json_object_fails_at_the_root(string text)
    {
        string path = _dir.Write("config.json", text);

        ConfigException e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        AssertOneLineError(e, path, "$");
    }

    /// <summary>One way to break a valid config: where the error must be reported, and a fragment of the reason.</summary>
    public sealed record Mutation(string Path, Func<TempDirectory, string> Reason, Action<JsonObject, GeneratedConfig, TempDirectory> Apply);

    private static readonly Dictionary<string, Mutation> Mutations = new()
    {
        // Unknown fields, at every depth (the serializer rejects unmapped members).
        ["unknown top-level field"] = new("$.lisen", _ => "unknown field 'lisen'", (j, _, _) => j["lisen"] = 9900),
        ["unknown port field"] = new("$.ports[1].lisen", _ => "unknown field 'lisen'", (j, _, _) => Port(j, 1)["lisen"] = 9900),
        ["field name in the wrong case"] = new("$.ports[1].Inspect", _ => "unknown field 'Inspect'", (j, _, _) => Port(j, 1)["Inspect"] = "auto"),
        ["unknown downstreamTls field"] = new("$.ports[1].downstreamTls.alpns", _ => "unknown field 'alpns'",
            (j, _, _) => Port(j, 1)["downstreamTls"] = new JsonObject { ["certPem"] = "a.crt", ["keyPem"] = "a.key", ["alpns"] = new JsonArray() }),
        ["unknown clientAuth field"] = new("$.ports[1].downstreamTls.clientAuth.trustRoot", _ => "unknown field 'trustRoot'",
            (j, _, _) => Port(j, 1)["downstreamTls"] = new JsonObject { ["clientAuth"] = new JsonObject { ["trustRoot"] = "/etc/ca" } }),
        ["unknown upstreamTls field"] = new("$.ports[1].upstreamTls.serverNme", _ => "unknown field 'serverNme'",
            (j, _, _) => Port(j, 1)["upstreamTls"] = new JsonObject { ["insecureSkipVerify"] = true, ["serverNme"] = "app" }),
        ["unknown workload field"] = new("$.workload.labelz", _ => "unknown field 'labelz'",
            (j, _, _) => j["workload"] = new JsonObject { ["name"] = "echo", ["labelz"] = new JsonObject() }),
        ["unknown admin field"] = new("$.admin.tokenfile", _ => "unknown field 'tokenfile'",
            (j, _, _) => j["admin"] = new JsonObject { ["listen"] = "127.0.0.1:9901", ["tokenfile"] = "/t" }),
        ["bad delivery.http"] = new("$.intercepts[0].delivery.http", _ => "expected \"auto\", \"http1\" or \"http2\", found \"h3\"",
            (j, c, _) => j["intercepts"] = new JsonArray(new JsonObject
            {
                ["id"] = "alice", ["port"] = c.PortName(0), ["target"] = "127.0.0.1:18700",
                ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
                ["delivery"] = new JsonObject { ["http"] = "h3" },
            })),
        ["unknown delivery field"] = new("$.intercepts[0].delivery.plaintxt", _ => "unknown field 'plaintxt'",
            (j, c, _) => j["intercepts"] = new JsonArray(new JsonObject
            {
                ["id"] = "alice", ["port"] = c.PortName(0), ["delivery"] = new JsonObject { ["plaintxt"] = true },
            })),

        // Version.
        ["version 2"] = new("$.version", _ => "unsupported version 2", (j, _, _) => j["version"] = 2),
        ["version missing"] = new("$.version", _ => "missing", (j, _, _) => j.Remove("version")),
        ["version as a string"] = new("$.version", _ => string.Empty, (j, _, _) => j["version"] = "1"),

        // Ports.
        ["no ports"] = new("$.ports", _ => "at least one port is required", (j, _, _) => j["ports"] = new JsonArray()),
        ["ports missing"] = new("$.ports", _ => "at least one port is required", (j, _, _) => j.Remove("ports")),
        ["inspect value unknown"] = new("$.ports[1].inspect", _ => "found \"sometimes\"", (j, _, _) => Port(j, 1)["inspect"] = "sometimes"),
        ["tls value unknown"] = new("$.ports[1].tls", _ => "found \"yes\"", (j, _, _) => Port(j, 1)["tls"] = "yes"),
        ["tls value in upper case"] = new("$.ports[1].tls", _ => "found \"ON\"", (j, _, _) => Port(j, 1)["tls"] = "ON"),
        ["http value unknown"] = new("$.ports[1].http", _ => "found \"http3\"", (j, _, _) => Port(j, 1)["http"] = "http3"),
        ["protocol unknown"] = new("$.ports[1].protocol", _ => "found \"SCTP\"", (j, _, _) => Port(j, 1)["protocol"] = "SCTP"),
        ["UDP port with tls on"] = new("$.ports[1].tls", _ => "not supported on a UDP port", (j, _, _) =>
        {
            JsonObject port = Port(j, 1);
            port.Remove("downstreamTls");
            port.Remove("upstreamTls");
            port["protocol"] = "UDP";
            port["tls"] = "on";
        }),
        ["UDP port with downstreamTls"] = new("$.ports[1].downstreamTls", _ => "not supported on a UDP port", (j, _, d) =>
        {
            JsonObject port = Port(j, 1);
            port["protocol"] = "UDP";
            port["tls"] = "auto";
            port["downstreamTls"] = Pair(WriteCert(d, TestPki.Shared.EcLeaf), WriteKey(d, TestPki.Shared.EcLeaf));
        }),
        ["udpIdleTimeout on a TCP port"] = new("$.ports[1].udpIdleTimeout", _ => "only for UDP ports", (j, _, _) =>
        {
            Port(j, 1)["protocol"] = "TCP";
            Port(j, 1)["udpIdleTimeout"] = "30s";
        }),
        ["probeTimeout in days"] = BadDuration("2d"),
        ["probeTimeout not a number"] = BadDuration("abc"),
        ["probeTimeout negative"] = BadDuration("-1s"),
        ["probeTimeout zero"] = BadDuration("0s"),
        ["probeTimeout without unit"] = BadDuration("1.5"),
        ["probeTimeout empty"] = BadDuration(string.Empty),
        ["probeTimeout with a space"] = BadDuration("2 s"),
        ["probeTimeout unit only"] = BadDuration("ms"),
        ["probeTimeout with exponent"] = BadDuration("1e3ms"),
        ["app missing"] = new("$.ports[1].app", _ => "required", (j, _, _) => Port(j, 1).Remove("app")),
        ["app without port"] = new("$.ports[1].app", _ => "found \"nohostport\"", (j, _, _) => Port(j, 1)["app"] = "nohostport"),
        ["app port out of range"] = new("$.ports[1].app", _ => "found \"127.0.0.1:65536\"", (j, _, _) => Port(j, 1)["app"] = "127.0.0.1:65536"),
        ["app IPv6 without brackets"] = new("$.ports[1].app", _ => "found \"::1:8080\"", (j, _, _) => Port(j, 1)["app"] = "::1:8080"),
        ["listen missing"] = new("$.ports[1].listen", _ => "required", (j, _, _) => Port(j, 1).Remove("listen")),
        ["listen host without port"] = new("$.ports[1].listen", _ => "found \"localhost\"", (j, _, _) => Port(j, 1)["listen"] = "localhost"),
        ["listen port zero"] = new("$.ports[1].listen", _ => "found \"0\"", (j, _, _) => Port(j, 1)["listen"] = 0),
        ["listen port out of range"] = new("$.ports[1].listen", _ => "found \"70000\"", (j, _, _) => Port(j, 1)["listen"] = 70000),
        ["listen as a boolean"] = new("$.ports[1].listen", _ => "expected a port number", (j, _, _) => Port(j, 1)["listen"] = true),
        ["empty port name"] = new("$.ports[1].name", _ => "must not be empty", (j, _, _) => Port(j, 1)["name"] = string.Empty),
        ["duplicate port name"] = new("$.ports[1].name", _ => "duplicate port name", (j, c, _) => Port(j, 1)["name"] = c.PortName(0)),
        ["duplicate listen port"] = new("$.ports[1].listen", _ => "duplicate listen port", (j, c, _) =>
        {
            Port(j, 1)["name"] = "dup-listen"; // a distinct name, so that the listen port is what clashes
            Port(j, 1)["listen"] = c.Ports[0].Listen.Port;
        }),

        // Certificates.
        ["missing certificate file"] = new("$.ports[1].downstreamTls.certPem", d => $"file not found: {d.File("missing.crt")}",
            (j, _, d) => Port(j, 1)["downstreamTls"] = Pair(d.File("missing.crt"), WriteKey(d, TestPki.Shared.EcLeaf))),
        ["missing key file"] = new("$.ports[1].downstreamTls.keyPem", d => $"file not found: {d.File("missing.key")}",
            (j, _, d) => Port(j, 1)["downstreamTls"] = Pair(WriteCert(d, TestPki.Shared.EcLeaf), d.File("missing.key"))),
        ["key of another certificate"] = new("$.ports[1].downstreamTls.keyPem", _ => "does not match the certificate",
            (j, _, d) => Port(j, 1)["downstreamTls"] = Pair(WriteCert(d, TestPki.Shared.EcLeaf), WriteKey(d, TestPki.Shared.OtherEcLeaf))),
        ["RSA key for an ECDSA certificate"] = new("$.ports[1].downstreamTls.keyPem", _ => "does not match the certificate",
            (j, _, d) => Port(j, 1)["downstreamTls"] = Pair(WriteCert(d, TestPki.Shared.EcLeaf), WriteKey(d, TestPki.Shared.RsaLeaf))),
        ["certificate without key"] = new("$.ports[1].downstreamTls.keyPem", _ => "required when certPem is set",
            (j, _, d) => Port(j, 1)["downstreamTls"] = new JsonObject { ["certPem"] = WriteCert(d, TestPki.Shared.EcLeaf) }),
        ["downstreamTls without certificate"] = new("$.ports[1].downstreamTls.certPem", _ => "required",
            (j, _, _) => Port(j, 1)["downstreamTls"] = new JsonObject()),
        ["tls off with downstreamTls"] = new("$.ports[1].tls", _ => "contradicts downstreamTls", (j, _, d) =>
        {
            Port(j, 1)["tls"] = "off";
            Port(j, 1)["downstreamTls"] = Pair(WriteCert(d, TestPki.Shared.EcLeaf), WriteKey(d, TestPki.Shared.EcLeaf));
        }),
        ["empty ALPN id"] = new("$.ports[1].downstreamTls.alpn[1]", _ => "1 to 255 bytes", (j, _, d) =>
        {
            JsonObject tls = Pair(WriteCert(d, TestPki.Shared.EcLeaf), WriteKey(d, TestPki.Shared.EcLeaf));
            tls["alpn"] = new JsonArray("h2", string.Empty);
            Port(j, 1)["downstreamTls"] = tls;
        }),
        ["clientAuth that can accept nobody"] = new("$.ports[1].downstreamTls.clientAuth.trustRoots", _ => "no trust roots", (j, _, d) =>
        {
            JsonObject tls = Pair(WriteCert(d, TestPki.Shared.EcLeaf), WriteKey(d, TestPki.Shared.EcLeaf));
            tls["clientAuth"] = new JsonObject { ["trustRoots"] = new JsonArray(), ["allowAnonymous"] = false };
            Port(j, 1)["downstreamTls"] = tls;
        }),
        ["clientAuth root that does not exist"] = new("$.ports[1].downstreamTls.clientAuth.trustRoots[1]", d => $"file not found: {d.File("no-such-ca")}", (j, _, d) =>
        {
            JsonObject tls = Pair(WriteCert(d, TestPki.Shared.EcLeaf), WriteKey(d, TestPki.Shared.EcLeaf));
            tls["clientAuth"] = new JsonObject { ["trustRoots"] = new JsonArray(d.Write("ca.pem", TestPki.Shared.RootPem), d.File("no-such-ca")) };
            Port(j, 1)["downstreamTls"] = tls;
        }),
        ["upstream client certificate without clientAuth"] = new("$.ports[1].downstreamTls.clientAuth",
            _ => "required: upstreamTls presents a client certificate (the app requires mTLS), so an intercept would let anonymous callers in; add clientAuth.trustRoots",
            (j, _, d) => MutualTlsPort(j, d, clientAuth: null)),
        ["upstream client certificate with acceptAnyCert"] = new("$.ports[1].downstreamTls.clientAuth.acceptAnyCert", _ => "lets any self-signed certificate in",
            (j, _, d) => MutualTlsPort(j, d, new JsonObject { ["trustRoots"] = new JsonArray(d.Write("ca.pem", TestPki.Shared.RootPem)), ["acceptAnyCert"] = true })),
        ["upstream client certificate with a missing caller CA"] = new("$.ports[1].downstreamTls.clientAuth.trustRoots[0]", d => $"file not found: {d.File("no-such-ca.crt")}",
            (j, _, d) => MutualTlsPort(j, d, new JsonObject { ["trustRoots"] = new JsonArray(d.File("no-such-ca.crt")) })),
        ["upstream key without certificate"] = new("$.ports[1].upstreamTls.certPem", _ => "required when keyPem is set",
            (j, _, d) => Port(j, 1)["upstreamTls"] = new JsonObject { ["keyPem"] = WriteKey(d, TestPki.Shared.EcLeaf) }),
        ["upstream empty serverName"] = new("$.ports[1].upstreamTls.serverName", _ => "must not be empty",
            (j, _, _) => Port(j, 1)["upstreamTls"] = new JsonObject { ["serverName"] = string.Empty }),
        ["upstream trust root that holds no certificate"] = new("$.ports[1].upstreamTls.trustRoots[0]", d => $"no certificate in {d.File("junk.pem")}",
            (j, _, d) => Port(j, 1)["upstreamTls"] = new JsonObject { ["trustRoots"] = new JsonArray(d.Write("junk.pem", "not a certificate\n")) }),

        // Admin and tunnel.
        ["admin off loopback without a token file"] = new("$.admin.tokenFile", _ => "not a loopback address",
            (j, _, _) => j["admin"] = new JsonObject { ["listen"] = "0.0.0.0:9901" }),
        ["admin on an external address without a token file"] = new("$.admin.tokenFile", _ => "not a loopback address",
            (j, _, _) => j["admin"] = new JsonObject { ["listen"] = "10.1.2.3:9901", ["tokenFile"] = null }),
        ["admin listen unparsable"] = new("$.admin.listen", _ => "found \"admin-host\"",
            (j, _, _) => j["admin"] = new JsonObject { ["listen"] = "admin-host" }),
        ["admin token file missing"] = new("$.admin.tokenFile", d => $"file not found: {d.File("no-token")}",
            (j, _, d) => j["admin"] = new JsonObject { ["listen"] = "0.0.0.0:9901", ["tokenFile"] = d.File("no-token") }),
        ["admin token file blank"] = new("$.admin.tokenFile", _ => "token file is empty",
            (j, _, d) => j["admin"] = new JsonObject { ["listen"] = "0.0.0.0:9901", ["tokenFile"] = d.Write("blank-token", " \n") }),
        ["tunnel listen unparsable"] = new("$.tunnel.listen", _ => "found \"tunnel\"", (j, _, _) => j["tunnel"] = new JsonObject { ["listen"] = "tunnel" }),

        // Intercepts.
        ["intercept on a port that does not exist"] = new("$.intercepts[0].port", _ => "no port named or listening on \"nope\"",
            (j, _, _) => j["intercepts"] = new JsonArray(new JsonObject { ["id"] = "alice", ["port"] = "nope" })),
        ["intercept on a listen number that does not exist"] = new("$.intercepts[0].port", _ => "no port named or listening on \"1\"",
            (j, _, _) => j["intercepts"] = new JsonArray(new JsonObject { ["id"] = "alice", ["port"] = 1 })),
        ["intercept without id"] = new("$.intercepts[0].id", _ => "required",
            (j, c, _) => j["intercepts"] = new JsonArray(new JsonObject { ["port"] = c.PortName(0) })),
        ["intercept without port"] = new("$.intercepts[0].port", _ => "required",
            (j, _, _) => j["intercepts"] = new JsonArray(new JsonObject { ["id"] = "alice" })),
        ["duplicate intercept id"] = new("$.intercepts[1].id", _ => "duplicate intercept id \"alice\"",
            (j, c, _) => j["intercepts"] = new JsonArray(
                new JsonObject { ["id"] = "alice", ["port"] = c.PortName(0), ["target"] = "127.0.0.1:18080" },
                new JsonObject { ["id"] = "alice", ["port"] = c.PortName(1), ["target"] = "127.0.0.1:18080" })),
        ["request head limit too small"] = new("$.ports[0].maxRequestHeadBytes", _ => "expected 1024 to 1048576 bytes, found 100",
            (j, _, _) => j["ports"]![0]!["maxRequestHeadBytes"] = 100),
        ["intercept without target"] = new("$.intercepts[0].target", _ => "required",
            (j, c, _) => j["intercepts"] = new JsonArray(new JsonObject { ["id"] = "alice", ["port"] = c.PortName(0) })),
        ["intercept with a backtracking-only regex"] = new("$.intercepts[0].match.regex", _ => "regex",
            (j, c, _) => j["intercepts"] = new JsonArray(new JsonObject
            {
                ["id"] = "alice", ["port"] = c.PortName(0), ["target"] = "127.0.0.1:18080",
                ["match"] = new JsonObject { ["header"] = "x-dev", ["regex"] = "(a)\\1" },
            })),
        ["intercept mode unknown"] = new("$.intercepts[0].mode", _ => "found \"mirror\"",
            (j, c, _) => j["intercepts"] = new JsonArray(new JsonObject { ["id"] = "alice", ["port"] = c.PortName(0), ["mode"] = "mirror" })),
        ["intercept target without port"] = new("$.intercepts[0].target", _ => "found \"nohostport\"",
            (j, c, _) => j["intercepts"] = new JsonArray(new JsonObject { ["id"] = "alice", ["port"] = c.PortName(0), ["target"] = "nohostport" })),
    };

    public static TheoryData<string, int> InvalidCases()
    {
        var data = new TheoryData<string, int>();
        foreach (string name in Mutations.Keys)
        {
            foreach (int seed in MutationBaseSeeds)
            {
                data.Add(name, seed);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void An_invalid_config_fails_with_the_json_path_of_its_error(string mutation, int seed)
    {
        GeneratedConfig valid = _faker.Generate(seed, minPorts: 2);
        ConfigLoader.Parse(valid.ToUtf8(), "base.json"); // the base is valid: the mutation alone breaks it
        Mutation m = Mutations[mutation];
        JsonObject json = valid.CloneJson();
        m.Apply(json, valid, _dir);
        string path = _dir.Write("config.json", json.ToJsonString());

        ConfigException e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));

        AssertOneLineError(e, path, m.Path);
        Assert.Contains(m.Reason(_dir), e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_json_syntax_error_reports_the_line_and_byte()
    {
        string text = "{\n  \"version\": 1,\n  \"ports\": [ { \"listen\": 9900, } ]\n}";

        ConfigException e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Encoding.UTF8.GetBytes(text), "c.json"));

        Assert.StartsWith("$.ports[0]", e.JsonPath, StringComparison.Ordinal);
        Assert.Contains("(line 3,", e.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", e.Reason, StringComparison.Ordinal);
    }

    /// <summary>Port 1 terminates TLS (inspect auto) and presents a client certificate to its app, with the given clientAuth.</summary>
    private static JsonObject MutualTlsPort(JsonObject json, TempDirectory d, JsonObject? clientAuth)
    {
        JsonObject port = Port(json, 1);
        port["protocol"] = "TCP";
        port["tls"] = "auto";
        port["inspect"] = "auto";
        JsonObject downstream = Pair(WriteCert(d, TestPki.Shared.EcLeaf), WriteKey(d, TestPki.Shared.EcLeaf));
        if (clientAuth is not null)
        {
            downstream["clientAuth"] = clientAuth;
        }

        port["downstreamTls"] = downstream;
        port["upstreamTls"] = Pair(WriteCert(d, TestPki.Shared.RsaLeaf), WriteKey(d, TestPki.Shared.RsaLeaf));
        return port;
    }

    public static TheoryData<string> CallerPolicies() => new()
    {
        """{"downstreamTls":{"clientAuth":{"trustRoots":["CA"]}}}""", // verified callers
        """{"downstreamTls":{"clientAuth":{"allowAnonymous":true}}}""", // the explicit opt-in
        """{"downstreamTls":{"clientAuth":{"trustRoots":["CA"],"acceptAnyCert":true,"allowAnonymous":true}}}""",
        """{"inspect":"never"}""", // never terminates: the caller's handshake reaches the app, which verifies it
        """{"noDownstreamTls":true}""", // no certificate to terminate with: raw passthrough only
    };

    [Theory]
    [MemberData(nameof(CallerPolicies))]
    public void A_port_presenting_a_client_certificate_loads_when_it_says_who_may_call_or_never_terminates(string policy)
    {
        GeneratedConfig valid = _faker.Generate(seed: 11, minPorts: 2);
        JsonObject json = valid.CloneJson();
        JsonObject port = MutualTlsPort(json, _dir, clientAuth: null);
        JsonObject change = JsonNode.Parse(policy.Replace("CA", _dir.Write("ca.pem", TestPki.Shared.RootPem), StringComparison.Ordinal))!.AsObject();
        if (change["downstreamTls"]?["clientAuth"] is JsonNode auth)
        {
            port["downstreamTls"]!["clientAuth"] = auth.DeepClone();
        }

        if (change["inspect"] is JsonNode inspect)
        {
            port["inspect"] = inspect.DeepClone();
        }

        if (change.ContainsKey("noDownstreamTls"))
        {
            port.Remove("downstreamTls");
        }

        AgentSettings settings = ConfigLoader.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), "c.json");

        Assert.NotNull(settings.Ports[1].UpstreamTls!.ClientCertificate);
        Assert.Equal(change["downstreamTls"] is null ? null : change["downstreamTls"]!["clientAuth"]!["allowAnonymous"] is not null,
            settings.Ports[1].DownstreamTls?.ClientAuth?.AllowAnonymous);
    }

    private static Mutation BadDuration(string text) =>
        new("$.ports[1].probeTimeout", _ => $"found \"{text}\"", (j, _, _) => Port(j, 1)["probeTimeout"] = text);

    private static JsonObject Port(JsonObject json, int index) => (JsonObject)json["ports"]![index]!;

    private static JsonObject Pair(string cert, string key) => new() { ["certPem"] = cert, ["keyPem"] = key };

    private static string WriteCert(TempDirectory d, IssuedCertificate c) => d.Write($"{c.Certificate.Thumbprint}.crt", c.CertificatePem);

    private static string WriteKey(TempDirectory d, IssuedCertificate c) => d.Write($"{c.Certificate.Thumbprint}.key", c.KeyPem(KeyFormat.Pkcs8));

    private static void AssertOneLineError(ConfigException e, string file, string jsonPath)
    {
        Assert.Equal(file, e.File);
        Assert.Equal(jsonPath, e.JsonPath);
        Assert.Equal($"{file}: {jsonPath}: {e.Reason}", e.Message);
        Assert.NotEmpty(e.Reason);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
    }

    private static void AssertMatches(GeneratedConfig expected, AgentSettings actual)
    {
        Assert.Equal(expected.AdminListen, actual.AdminListen);
        Assert.Equal(expected.AdminToken, actual.AdminToken);
        Assert.Equal(expected.Ports.Count, actual.Ports.Count);
        for (int i = 0; i < expected.Ports.Count; i++)
        {
            ExpectedPort e = expected.Ports[i];
            PortSettings a = actual.Ports[i];
            Assert.Equal(i, a.Index);
            Assert.Equal(e.Name, a.Name);
            Assert.Equal("TCP", a.Protocol);
            Assert.Equal(e.AppProtocol, a.AppProtocol);
            Assert.Equal(e.Listen, a.Listen);
            Assert.Equal(e.AppHost, a.AppHost);
            Assert.Equal(e.AppPort, a.AppPort);
            Assert.Equal(e.Tls, a.Tls);
            Assert.Equal(e.Http, a.Http);
            Assert.Equal(e.Inspect, a.Inspect);
            Assert.Equal(e.ProbeTimeout, a.ProbeTimeout);

            if (e.DownstreamTls is null)
            {
                Assert.Null(a.DownstreamTls);
            }
            else
            {
                DownstreamTlsSettings d = Assert.IsType<DownstreamTlsSettings>(a.DownstreamTls);
                Assert.Equal(e.DownstreamTls.Subject, d.Certificate.Current.Leaf.Subject);
                Assert.True(d.Certificate.Current.Leaf.HasPrivateKey);
                Assert.Equal(e.DownstreamTls.Intermediates, d.Certificate.Current.Intermediates.Count);
                Assert.Equal(e.DownstreamTls.Alpn, ConfigFaker.AlpnNames(d.Alpn));
                Assert.Equal(e.DownstreamTls.ClientAuthRoots, d.ClientAuth?.TrustRoots.Count);
                Assert.Equal(e.DownstreamTls.AllowAnonymous, d.ClientAuth?.AllowAnonymous ?? false);
                Assert.Equal(e.DownstreamTls.AcceptAnyCert, d.ClientAuth?.AcceptAnyCert ?? false);
            }

            if (e.UpstreamTls is null)
            {
                Assert.Null(a.UpstreamTls);
            }
            else
            {
                UpstreamTlsSettings u = Assert.IsType<UpstreamTlsSettings>(a.UpstreamTls);
                Assert.Equal(e.UpstreamTls.ClientSubject, u.ClientCertificate?.Current.Leaf.Subject);
                Assert.Equal(e.UpstreamTls.ClientSubject is not null, u.ClientCertificate?.Current.Leaf.HasPrivateKey ?? false);
                Assert.Equal(e.UpstreamTls.TrustRoots, u.TrustRoots.Count);
                Assert.Equal(e.UpstreamTls.InsecureSkipVerify, u.InsecureSkipVerify);
                Assert.Equal(e.UpstreamTls.ServerName, u.ServerName);
            }
        }

        Assert.Equal(expected.Intercepts, actual.Intercepts);
    }
}
