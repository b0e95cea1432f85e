using System.Text.Json.Serialization;

namespace Switchyard.Config;

// The config file, version 1 (SPEC.md "Config file"). These types mirror the JSON exactly; unknown
// members are rejected by the serializer context (JsonUnmappedMemberHandling.Disallow), and every
// semantic rule lives in ConfigValidator so that errors carry a JSON path.

public sealed class AgentConfig
{
    public int Version { get; set; }
    public WorkloadConfig? Workload { get; set; }
    public AdminConfig? Admin { get; set; }
    public TunnelConfig? Tunnel { get; set; }
    public List<PortConfig>? Ports { get; set; }
    public List<InterceptConfig>? Intercepts { get; set; }
}

public sealed class WorkloadConfig
{
    public string? Kind { get; set; }
    public string? Name { get; set; }
    public string? Namespace { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
}

public sealed class AdminConfig
{
    public string? Listen { get; set; }
    public string? TokenFile { get; set; }
}

public sealed class TunnelConfig
{
    public string? Listen { get; set; }
}

public sealed class PortConfig
{
    public string? Name { get; set; }
    public string? Protocol { get; set; }
    public string? AppProtocol { get; set; }

    /// <summary>A port number (all interfaces) or "HOST:PORT".</summary>
    [JsonConverter(typeof(ListenJsonConverter))]
    public string? Listen { get; set; }

    public string? App { get; set; }
    public string? Tls { get; set; }
    public string? Http { get; set; }
    public string? Inspect { get; set; }
    public string? ProbeTimeout { get; set; }

    /// <summary>Largest HTTP/1 request line + header section accepted (bytes; default 65536). Larger: 400.</summary>
    public int? MaxRequestHeadBytes { get; set; }

    /// <summary>UDP ports: idle time after which a source address's session is closed (default 60s).</summary>
    public string? UdpIdleTimeout { get; set; }

    /// <summary>Timeouts and limits of this port's connections (SPEC "Limits and timeouts"); each absent one keeps its default.</summary>
    public PortLimitsConfig? Limits { get; set; }
    public DownstreamTlsConfig? DownstreamTls { get; set; }
    public UpstreamTlsConfig? UpstreamTls { get; set; }
}

public sealed class PortLimitsConfig
{
    public string? TlsHandshakeTimeout { get; set; }
    public string? RequestHeadTimeout { get; set; }
    public string? IdleTimeout { get; set; }
    public string? StreamIdleTimeout { get; set; }
    public string? WriteStallTimeout { get; set; }
    public string? AppResponseTimeout { get; set; }
    public int? MaxRequestHeadBytes { get; set; }
    public int? MaxConnections { get; set; }
    public int? MaxBodyBytes { get; set; }
    public string? BodyTimeout { get; set; }
}

public sealed class DownstreamTlsConfig
{
    public string? CertPem { get; set; }
    public string? KeyPem { get; set; }
    public List<string>? Alpn { get; set; }
    public ClientAuthConfig? ClientAuth { get; set; }
}

public sealed class ClientAuthConfig
{
    public List<string>? TrustRoots { get; set; }
    public bool AllowAnonymous { get; set; }
    public bool AcceptAnyCert { get; set; }
}

public sealed class UpstreamTlsConfig
{
    public string? CertPem { get; set; }
    public string? KeyPem { get; set; }
    public List<string>? TrustRoots { get; set; }
    public bool InsecureSkipVerify { get; set; }
    public string? ServerName { get; set; }
}

public sealed class InterceptConfig
{
    public string? Id { get; set; }

    /// <summary>A port name or listen number.</summary>
    [JsonConverter(typeof(ListenJsonConverter))]
    public string? Port { get; set; }

    public string? Mode { get; set; }
    public System.Text.Json.JsonElement? Match { get; set; }
    public string? Target { get; set; }
    public bool? FailOpen { get; set; }
    public DeliveryConfig? Delivery { get; set; }
}

public sealed class DeliveryConfig
{
    public bool Plaintext { get; set; }
    public string? Http { get; set; }
    public List<string>? TrustRoots { get; set; }
    public string? ServerName { get; set; }
    public string? CertPem { get; set; }
    public string? KeyPem { get; set; }
}
