using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchyard.Admin;

// The /v1/status document (SPEC "Admin API"). Field names are part of the contract.

internal sealed record StatusDocument(
    string Version,
    ConfigStatus Config,
    bool Ready,
    bool Draining,
    IReadOnlyList<PortStatus> Ports,
    IReadOnlyList<InterceptStatus> Intercepts)
{
    /// <summary>tunnel.listen as bound, null when there is no tunnel (`switchyard intercept` reads its port here).</summary>
    public TunnelStatus? Tunnel { get; init; }
}

/// <param name="Connected">Intercept ids whose developer has a control connection attached.</param>
internal sealed record TunnelStatus(string Listen, IReadOnlyList<string> Connected);

internal sealed record ConfigStatus(string Path, string Fingerprint);

internal sealed record PortStatus(string Name, string Listen, string App, string Inspect, DetectedStatus Detected, ConnectionStatus Connections);

internal sealed record DetectedStatus(bool? Tls, string? Http, string Source, string? TlsSource, string? HttpSource, ProbeStatus Probe);

internal sealed record ProbeStatus(string State, int Attempts, string? LastError);

internal sealed record ConnectionStatus(long Active, long Total);

/// <summary>One live intercept or wiretap: its filter in the config file's `match` grammar (null: global), who added it
/// (config, admin API or `switchyard intercept`, with the caller's address) and when, and what it took.</summary>
internal sealed record InterceptStatus(string Id, string Port, string Mode, string? Target, bool FailOpen)
{
    public JsonElement? Match { get; init; }

    public string Source { get; init; } = "config";

    /// <summary>ISO 8601 UTC.</summary>
    public string? Added { get; init; }

    /// <summary>Requests routed to the intercept, or copies a wiretap delivered (`switchyard list`).</summary>
    public long Requests { get; init; }

    /// <summary>Connections a global intercept took at transport level.</summary>
    public long Connections { get; init; }
}

internal sealed record ErrorDocument(string Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StatusDocument))]
[JsonSerializable(typeof(IReadOnlyList<InterceptStatus>))]
[JsonSerializable(typeof(ErrorDocument))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
