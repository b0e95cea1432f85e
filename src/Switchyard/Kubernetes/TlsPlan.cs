namespace Switchyard.Kubernetes;

// What generate will write into ports[].downstreamTls / upstreamTls, filled from annotations and mirrord resources.
// Null members are omitted from the output; the writer keeps the field order of SPEC.md.

/// <summary>ports[].downstreamTls: the agent as the TLS server that callers reach.</summary>
public sealed class DownstreamTlsPlan
{
    public string? CertPem { get; set; }

    public string? KeyPem { get; set; }

    /// <summary>null: the agent's default (h2, http/1.1); empty: no ALPN.</summary>
    public IReadOnlyList<string>? Alpn { get; set; }

    public ClientAuthPlan? ClientAuth { get; set; }
}

/// <summary>ports[].downstreamTls.clientAuth.</summary>
public sealed record ClientAuthPlan(IReadOnlyList<string> TrustRoots, bool AllowAnonymous, bool AcceptAnyCert);

/// <summary>ports[].upstreamTls: the agent as the TLS client of the app.</summary>
public sealed class UpstreamTlsPlan
{
    public string? CertPem { get; set; }

    public string? KeyPem { get; set; }

    public IReadOnlyList<string>? TrustRoots { get; set; }

    public bool? InsecureSkipVerify { get; set; }

    /// <summary>The name the app's certificate is verified against (mirrord's agentAsClient.verification.serverName).</summary>
    public string? ServerName { get; set; }
}

/// <summary>One ports[] entry of the generated config.</summary>
public sealed class PortPlan(GeneratedPort port, string? appProtocol)
{
    public GeneratedPort Port { get; } = port;

    public string? AppProtocol { get; } = appProtocol;

    public string? ProbeTimeout { get; set; }

    public DownstreamTlsPlan? Downstream { get; set; }

    public UpstreamTlsPlan? Upstream { get; set; }

    /// <summary>The mirrord TLS config whose entry filled Downstream/Upstream, null when none did.</summary>
    public MirrordTlsConfig? MirrordSource { get; set; }
}
