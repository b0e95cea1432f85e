using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Switchyard.Diagnostics;

/// <summary>A counter per label value (a reason, a result), created on first use.</summary>
internal sealed class LabeledCounter
{
    private readonly ConcurrentDictionary<string, StrongBox<long>> _values = new(StringComparer.Ordinal);

    public void Increment(string label) => Interlocked.Increment(ref _values.GetOrAdd(label, static _ => new StrongBox<long>()).Value);

    public long Get(string label) => _values.TryGetValue(label, out StrongBox<long>? box) ? Volatile.Read(ref box.Value) : 0;

    public IEnumerable<KeyValuePair<string, long>> Snapshot() =>
        _values.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Volatile.Read(ref kv.Value.Value)));
}

/// <summary>Counters of one agent port. Hot-path updates are single interlocked operations.</summary>
internal sealed class PortMetrics(string name)
{
    private long _rawConnections;
    private long _terminatedConnections;
    private long _active;
    private long _bytesDownstreamToApp;
    private long _bytesAppToDownstream;

    public string Name { get; } = name;

    public LabeledCounter Ends { get; } = new();

    public LabeledCounter DownstreamTlsFailures { get; } = new();

    public LabeledCounter UpstreamTlsFailures { get; } = new();

    public LabeledCounter ProbeResults { get; } = new();

    public LabeledCounter ProtocolMismatches { get; } = new();

    /// <summary>Requests by route: "app" or the intercept id that took them.</summary>
    public LabeledCounter Requests { get; } = new();

    /// <summary>Request durations by route, from the routing decision to the end of the response (SPEC switchyard_request_duration_seconds).</summary>
    public LabeledHistogram RequestDurations { get; } = new();

    /// <summary>Requests an intercept could not deliver and sent to the app instead (failOpen), by intercept id.</summary>
    public LabeledCounter FailOpen { get; } = new();

    /// <summary>Connections a global intercept took at transport level, by intercept id.</summary>
    public LabeledCounter GlobalConnections { get; } = new();

    /// <summary>UDP ports: datagrams relayed, by direction (downstream_to_app, app_to_downstream; "app" is the target under a global intercept).</summary>
    public LabeledCounter UdpDatagrams { get; } = new();

    /// <summary>UDP ports: sessions (one per source address) opened, by destination ("app" or the intercept id).</summary>
    public LabeledCounter UdpSessions { get; } = new();

    /// <summary>HTTP/2 connections ended by an abuse limit, by reason (rapid_reset, continuation_flood, ...).</summary>
    public LabeledCounter Http2Abuse { get; } = new();

    /// <summary>HTTP/2 connections we ended with GOAWAY for a protocol error, by error code.</summary>
    public LabeledCounter Http2Errors { get; } = new();

    /// <summary>Limits that ended a connection (or, for HTTP/2 idle, sent GOAWAY), by end reason (idle_timeout, ...).</summary>
    public LabeledCounter Timeouts { get; } = new();

    /// <summary>Failed accepts, by socket error (TooManyOpenSockets is EMFILE/ENFILE: the listener backs off).</summary>
    public LabeledCounter AcceptErrors { get; } = new();

    /// <summary>Body filter evaluations by intercept id and result (<see cref="BodyFilterKey"/>: "id\0result").</summary>
    public LabeledCounter BodyFilters { get; } = new();

    public static string BodyFilterKey(string id, string result) => string.Concat(id, "\0", result);

    public long Active => Volatile.Read(ref _active);

    public long Total => Volatile.Read(ref _rawConnections) + Volatile.Read(ref _terminatedConnections);

    public void Opened(bool terminate)
    {
        Interlocked.Increment(ref terminate ? ref _terminatedConnections : ref _rawConnections);
    }

    public void Accepted() => Interlocked.Increment(ref _active);

    public void Closed(string reason)
    {
        Interlocked.Decrement(ref _active);
        Ends.Increment(reason);
    }

    public void AddBytes(long downstreamToApp, long appToDownstream)
    {
        Interlocked.Add(ref _bytesDownstreamToApp, downstreamToApp);
        Interlocked.Add(ref _bytesAppToDownstream, appToDownstream);
    }

    public long RawConnections => Volatile.Read(ref _rawConnections);

    public long TerminatedConnections => Volatile.Read(ref _terminatedConnections);

    public long BytesDownstreamToApp => Volatile.Read(ref _bytesDownstreamToApp);

    public long BytesAppToDownstream => Volatile.Read(ref _bytesAppToDownstream);

    internal static void Line(StringBuilder sb, string metric, string labels, long value) =>
        sb.Append(metric).Append('{').Append(labels).Append("} ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    internal static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}

/// <summary>Agent-wide counters and the Prometheus text rendering (text format 0.0.4).</summary>
internal sealed class Metrics
{
    private long _configReloadsOk;
    private long _configReloadsFailed;

    public void ConfigReloaded(bool ok) => Interlocked.Increment(ref ok ? ref _configReloadsOk : ref _configReloadsFailed);

    /// <summary>The config watcher's completed checks (events and periodic polls), when a watcher runs.</summary>
    public Func<long>? ConfigChecks { get; set; }

    public long ConfigReloadsOk => Volatile.Read(ref _configReloadsOk);

    public long ConfigReloadsFailed => Volatile.Read(ref _configReloadsFailed);

    /// <summary>Certificate pair reloads after a file change: "ok" (rotated) or "failed" (the old pair stays).</summary>
    public LabeledCounter CertificateReloads { get; } = new();

    public void RenderGlobal(StringBuilder sb)
    {
        sb.Append("# HELP switchyard_config_reloads_total Config reloads by result.\n# TYPE switchyard_config_reloads_total counter\n");
        PortMetrics.Line(sb, "switchyard_config_reloads_total", "result=\"ok\"", Volatile.Read(ref _configReloadsOk));
        PortMetrics.Line(sb, "switchyard_config_reloads_total", "result=\"failed\"", Volatile.Read(ref _configReloadsFailed));
        if (ConfigChecks is { } checks)
        {
            sb.Append("# HELP switchyard_config_checks_total Checks of the config file (file events and periodic polls), changed or not.\n# TYPE switchyard_config_checks_total counter\n");
            sb.Append("switchyard_config_checks_total ").Append(checks().ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        sb.Append("# HELP switchyard_certificate_reloads_total Certificate/key pairs re-read after a file change, by result (failed: the previous pair stays in use).\n# TYPE switchyard_certificate_reloads_total counter\n");
        PortMetrics.Line(sb, "switchyard_certificate_reloads_total", "result=\"ok\"", CertificateReloads.Get("ok"));
        PortMetrics.Line(sb, "switchyard_certificate_reloads_total", "result=\"failed\"", CertificateReloads.Get("failed"));
    }
}
