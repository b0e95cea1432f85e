using System.Text.Json.Nodes;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>Builds config v1 documents (SPEC.md) as JSON nodes, so a test can add or break any field.</summary>
public static class AgentConfig
{
    /// <summary>A config with the given ports, an empty intercept list and admin on <paramref name="adminPort"/>.</summary>
    public static JsonObject Create(int adminPort, params JsonObject[] ports) => new()
    {
        ["version"] = 1,
        ["admin"] = new JsonObject { ["listen"] = Ports.Loopback(adminPort) },
        ["ports"] = new JsonArray([.. ports]),
        ["intercepts"] = new JsonArray(),
    };

    /// <summary>A port listening on 127.0.0.1:<paramref name="listenPort"/> that forwards to 127.0.0.1:<paramref name="appPort"/>.</summary>
    public static JsonObject Port(string name, int listenPort, int appPort, string inspect = "auto") => new()
    {
        ["name"] = name,
        ["protocol"] = "TCP",
        ["listen"] = Ports.Loopback(listenPort),
        ["app"] = Ports.Loopback(appPort),
        ["inspect"] = inspect,
    };

    /// <summary>downstreamTls with the given server certificate and optional ALPN list.</summary>
    public static JsonObject DownstreamTls(CertFiles server, string[]? alpn = null, JsonObject? clientAuth = null)
    {
        var tls = new JsonObject { ["certPem"] = server.CertPem, ["keyPem"] = server.KeyPem };
        if (alpn is not null)
        {
            tls["alpn"] = new JsonArray([.. alpn.Select(a => (JsonNode)JsonValue.Create(a))]);
        }

        if (clientAuth is not null)
        {
            tls["clientAuth"] = clientAuth;
        }

        return tls;
    }

    /// <summary>upstreamTls trusting the given root files.</summary>
    public static JsonObject UpstreamTls(params string[] trustRoots) => new()
    {
        ["trustRoots"] = new JsonArray([.. trustRoots.Select(r => (JsonNode)JsonValue.Create(r))]),
    };

    public static JsonArray Strings(params string[] values) =>
        new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);
}
