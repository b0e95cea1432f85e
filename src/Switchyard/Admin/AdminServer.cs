using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Detection;
using Switchyard.Diagnostics;
using Switchyard.Proxy;
using Switchyard.Transport;

namespace Switchyard.Admin;

/// <summary>The admin listener: health, readiness, Prometheus metrics and the /v1 API (SPEC "Admin API").</summary>
internal sealed class AdminServer(Agent agent, ILogger logger, TimeProvider? clock = null) : IDisposable
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>
    /// An admin connection with no request for this long is closed (end reason "admin idle", Debug): probes and
    /// Prometheus scrapes (every 15-60 s) reconnect or send within it; a forgotten client does not hold a socket forever.
    /// </summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    private Listener? _listener;

    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint;

    public void Start(IPEndPoint endPoint)
    {
        _listener = Listener.Bind(endPoint, backlog: 128);
        _ = _listener.AcceptLoopAsync(ServeAsync); // ends when the listener is disposed
    }

    private async Task ServeAsync(SocketChannel channel)
    {
        string remote = channel.RemoteEndPoint?.ToString() ?? "?";
        await using (channel.ConfigureAwait(false))
        {
            using var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _clock);
            try
            {
                while (true)
                {
                    idle.CancelAfter(IdleTimeout); // restarted before every read: a scraper's keep-alive connection stays
                    ReadResult read = await channel.Input.ReadAsync(idle.Token).ConfigureAwait(false);
                    ReadOnlySequence<byte> buffer = read.Buffer;
                    AdminRequest? request;
                    try
                    {
                        if (!AdminRequest.TryRead(ref buffer, out request))
                        {
                            channel.Input.AdvanceTo(buffer.Start, buffer.End);
                            if (read.IsCompleted)
                            {
                                return;
                            }

                            continue;
                        }
                    }
                    catch (FormatException e)
                    {
                        channel.Input.AdvanceTo(buffer.End);
                        await WriteAsync(channel.Output, 400, "text/plain", $"bad request: {e.Message}\n", close: true).ConfigureAwait(false);
                        return;
                    }

                    channel.Input.AdvanceTo(buffer.Start);
                    bool close = request!.Headers.TryGetValue("Connection", out string? c) && c.Equals("close", StringComparison.OrdinalIgnoreCase);
                    (int status, string type, string body) = Handle(request, remote);
                    await WriteAsync(channel.Output, status, type, body, close).ConfigureAwait(false);
                    if (close)
                    {
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested)
            {
                logger.AdminConnectionIdle(remote, (long)IdleTimeout.TotalSeconds); // expected: no stack trace, not a warning
            }
            catch (Exception e) when (Relay.IsConnectionError(e))
            {
                logger.AdminRequestFailed(remote, Diagnostics.ErrorText.Describe(e));
            }
        }
    }

    internal (int Status, string ContentType, string Body) Handle(AdminRequest request, string remote = "?")
    {
        string path = request.Path;
        if (path.StartsWith("/v1/", StringComparison.Ordinal) && !Authorized(request))
        {
            return (401, "application/json", Json(new ErrorDocument("missing or wrong bearer token"), AdminJsonContext.Default.ErrorDocument));
        }

        return (request.Method, path) switch
        {
            ("GET", "/healthz") => (200, "text/plain", "ok\n"),
            ("GET", "/readyz") => agent.Ready ? (200, "text/plain", "ready\n") : (503, "text/plain", agent.Draining ? "draining\n" : "not ready\n"),
            ("GET", "/metrics") => (200, "text/plain; version=0.0.4", RenderMetrics()),
            ("GET", "/v1/status") => (200, "application/json", Json(Status(), AdminJsonContext.Default.StatusDocument)),
            ("GET", "/v1/intercepts") => (200, "application/json", Json(Intercepts(), AdminJsonContext.Default.IReadOnlyListInterceptStatus)),
            ("POST", "/v1/intercepts") => AddIntercept(request.Body, Who(request, remote)),
            ("POST", "/v1/explain") => Explain(request.Body),
            ("DELETE", _) when path.StartsWith("/v1/intercepts/", StringComparison.Ordinal) && path.Length > "/v1/intercepts/".Length =>
                agent.RemoveIntercept(Uri.UnescapeDataString(path["/v1/intercepts/".Length..]), Who(request, remote))
                    ? (200, "application/json", Json(Intercepts(), AdminJsonContext.Default.IReadOnlyListInterceptStatus))
                    : (404, "application/json", Json(new ErrorDocument($"no intercept \"{Uri.UnescapeDataString(path["/v1/intercepts/".Length..])}\""), AdminJsonContext.Default.ErrorDocument)),
            (_, "/healthz" or "/readyz" or "/metrics" or "/v1/status" or "/v1/intercepts" or "/v1/explain") => MethodNotAllowed(request.Method, path),
            _ when path.StartsWith("/v1/intercepts/", StringComparison.Ordinal) => MethodNotAllowed(request.Method, path),
            _ => (404, "application/json", Json(new ErrorDocument($"no such endpoint: {path}"), AdminJsonContext.Default.ErrorDocument)),
        };
    }

    /// <summary>Who is asking, for the intercept lifecycle log and /v1/intercepts: the CLI says so in its User-Agent.</summary>
    private static string Who(AdminRequest request, string remote) =>
        request.Headers.TryGetValue("User-Agent", out string? agent) && agent.StartsWith(Cli.AgentClient.UserAgentProduct, StringComparison.Ordinal)
            ? $"switchyard intercept from {remote}"
            : $"admin API from {remote}";

    private static (int, string, string) MethodNotAllowed(string method, string path) =>
        (405, "application/json", Json(new ErrorDocument($"method {method} not allowed on {path}"), AdminJsonContext.Default.ErrorDocument));

    private bool Authorized(AdminRequest request)
    {
        if (agent.Settings.AdminToken is not { } token)
        {
            return true;
        }

        if (!request.Headers.TryGetValue("Authorization", out string? value) || !value.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(value[7..].Trim()), Encoding.UTF8.GetBytes(token));
    }

    private StatusDocument Status()
    {
        var ports = new List<PortStatus>(agent.Ports.Count);
        foreach (PortRuntime port in agent.Ports)
        {
            PortProtocol p = port.Detector.Protocol;
            (ProbeState state, int attempts, string? lastError) = port.Detector.ProbeStatus;
            var detected = new DetectedStatus(
                Tls: p.Tls switch { TlsDetection.Tls => true, TlsDetection.Plaintext => false, _ => null },
                Http: p.Http == HttpDetection.Unknown ? null : PortProtocol.Name(p.Http),
                Source: PortProtocol.Name(p.Tls == TlsDetection.Unknown ? DetectionSource.Pending : p.TlsSource),
                TlsSource: p.Tls == TlsDetection.Unknown ? null : PortProtocol.Name(p.TlsSource),
                HttpSource: p.Http == HttpDetection.Unknown ? null : PortProtocol.Name(p.HttpSource),
                Probe: new ProbeStatus(PortProtocol.Name(state), attempts, lastError));
            string listen = port.Listener is { } l ? Endpoints.Format(l.LocalEndPoint) : Endpoints.Format(port.Settings.Listen);
            ports.Add(new PortStatus(port.Settings.Name, listen, port.Settings.App, port.Settings.Inspect.ToString().ToLowerInvariant(), detected,
                new ConnectionStatus(port.Metrics.Active, port.Metrics.Total)));
        }

        AgentSettings settings = agent.Settings; // one snapshot: a reload may swap it meanwhile
        TunnelStatus? tunnel = agent.Tunnel is { LocalEndPoint: { } tunnelListen } t
            ? new TunnelStatus(Endpoints.Format(tunnelListen), agent.Intercepts.Keys.Where(t.Registry.IsConnected).Order(StringComparer.Ordinal).ToList())
            : null;
        return new StatusDocument(Program.Version, new ConfigStatus(settings.FilePath, settings.Fingerprint), agent.Ready, agent.Draining, ports, Intercepts())
        {
            Tunnel = tunnel,
        };
    }

    private List<InterceptStatus> Intercepts()
    {
        var list = new List<InterceptStatus>(agent.Intercepts.Count);
        foreach (InterceptSettings i in agent.Intercepts.Values.OrderBy(i => i.Id, StringComparer.Ordinal))
        {
            InterceptOrigin? origin = agent.Origins.GetValueOrDefault(i.Id);
            list.Add(new InterceptStatus(i.Id, i.Port, i.Mode, i.Target, i.FailOpen)
            {
                Match = i.Rule.Filter is { } filter ? MatchJson(filter) : null,
                Source = origin?.Source ?? InterceptOrigin.Config,
                Added = origin?.Added.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                Requests = i.Rule.Mode == Routing.InterceptMode.Wiretap
                    ? agent.Wiretaps.Delivered.Get(i.Id)
                    : agent.Ports.Sum(p => p.Metrics.Requests.Get(i.Id)),
                Connections = agent.Ports.Sum(p => p.Metrics.GlobalConnections.Get(i.Id)),
            });
        }

        return list;
    }

    private static JsonElement MatchJson(Routing.Filter filter)
    {
        using JsonDocument document = JsonDocument.Parse(Routing.FilterWriter.ToJson(filter));
        return document.RootElement.Clone();
    }

    /// <summary>
    /// POST /v1/explain: {"port"?: name, "method": M, "path": P, "headers": {name: value | [values]}, "body"?: text} ->
    /// which route the request would take on that port (default: the first port) and why, rule by rule. Body filters
    /// see "body" (its UTF-8 bytes) as the whole request body; without it they do not match ("no body given").
    /// </summary>
    private (int, string, string) Explain(byte[] body)
    {
        string port;
        Routing.RequestView view;
        try
        {
            using JsonDocument document = JsonDocument.Parse(body);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return BadRequest("$: expected an object with method, path and headers");
            }

            port = root.TryGetProperty("port", out JsonElement p) ? p.GetString() ?? string.Empty : agent.Settings.Ports[0].Name;
            if (!agent.Settings.Ports.Any(s => s.Name == port))
            {
                return BadRequest($"$.port: no port named \"{port}\"");
            }

            string method = root.TryGetProperty("method", out JsonElement m) ? m.GetString() ?? "GET" : "GET";
            string path = root.TryGetProperty("path", out JsonElement t) ? t.GetString() ?? "/" : "/";
            var headers = new List<KeyValuePair<string, string>>();
            if (root.TryGetProperty("headers", out JsonElement h))
            {
                if (h.ValueKind != JsonValueKind.Object)
                {
                    return BadRequest("$.headers: expected an object of name: value");
                }

                foreach (JsonProperty header in h.EnumerateObject())
                {
                    if (header.Value.ValueKind == JsonValueKind.Array)
                    {
                        headers.AddRange(header.Value.EnumerateArray().Select(v => KeyValuePair.Create(header.Name, v.GetString() ?? string.Empty)));
                    }
                    else
                    {
                        headers.Add(KeyValuePair.Create(header.Name, header.Value.GetString() ?? string.Empty));
                    }
                }
            }

            byte[]? requestBody = null;
            if (root.TryGetProperty("body", out JsonElement b))
            {
                if (b.ValueKind != JsonValueKind.String)
                {
                    return BadRequest("$.body: expected a string: the request body as text, e.g. \"{\\\"customer\\\":{\\\"id\\\":42}}\"");
                }

                requestBody = Encoding.UTF8.GetBytes(b.GetString()!);
            }

            view = new Routing.RequestView(method, path, headers, requestBody);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return BadRequest($"request body: {(e is JsonException ? "invalid JSON" : Diagnostics.ErrorText.Describe(e))}");
        }

        var output = new System.IO.MemoryStream();
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            agent.Routes.Snapshot.Explain(view, port).WriteTo(writer);
        }

        return (200, "application/json", Encoding.UTF8.GetString(output.ToArray()) + "\n");
    }

    private static (int, string, string) BadRequest(string message) =>
        (400, "application/json", Json(new ErrorDocument(message), AdminJsonContext.Default.ErrorDocument));

    /// <summary>POST /v1/intercepts: one intercept object, validated like the config file (errors name the JSON path).</summary>
    private (int, string, string) AddIntercept(byte[] body, string source)
    {
        InterceptSettings intercept;
        InterceptConfig? config = null;
        try
        {
            ConfigJsonReader.Check(ConfigJsonReader.WithoutBom(body), "request body", typeof(InterceptConfig), "the body");
            config = JsonSerializer.Deserialize(ConfigJsonReader.WithoutBom(body), ConfigJsonContext.Default.InterceptConfig)
                ?? throw new ConfigException("request body", "$", "expected an intercept object, found null");
            intercept = new ConfigValidator("request body").ValidateIntercept(config, "$", agent.Settings.Ports, agent.Intercepts.Values, tunnel: agent.Tunnel is not null);
        }
        catch (JsonException e)
        {
            // Not expected after ConfigJsonReader; the serializer's own message is a resource key in the AOT build.
            return Refused(400, config?.Id, $"request body: {e.Path ?? "$"}: invalid value", source);
        }
        catch (ConfigException e)
        {
            bool conflict = e.Reason.StartsWith("duplicate intercept id", StringComparison.Ordinal) || e.Reason.StartsWith("conflicts with", StringComparison.Ordinal);
            return Refused(conflict ? 409 : 400, config?.Id, e.Message, source);
        }

        return agent.TryAddIntercept(intercept, source)
            ? (201, "application/json", Json(Intercepts(), AdminJsonContext.Default.IReadOnlyListInterceptStatus))
            : Refused(409, intercept.Id, $"duplicate intercept id \"{intercept.Id}\"", source);
    }

    private (int, string, string) Refused(int status, string? id, string reason, string source)
    {
        logger.InterceptRefused(id ?? "(no id)", source, status, reason);
        return (status, "application/json", Json(new ErrorDocument(reason), AdminJsonContext.Default.ErrorDocument));
    }

    private string RenderMetrics()
    {
        var sb = new StringBuilder(4096);
        IReadOnlyList<PortRuntime> ports = agent.Ports;
        Family(sb, "switchyard_connections_total", "counter", "Accepted connections by port and path (raw = bytes forwarded as they are, terminate = decrypted).");
        foreach (PortRuntime p in ports)
        {
            string n = PortMetrics.Escape(p.Settings.Name);
            PortMetrics.Line(sb, "switchyard_connections_total", $"port=\"{n}\",path=\"raw\"", p.Metrics.RawConnections);
            PortMetrics.Line(sb, "switchyard_connections_total", $"port=\"{n}\",path=\"terminate\"", p.Metrics.TerminatedConnections);
        }

        Family(sb, "switchyard_connections_active", "gauge", "Open downstream connections by port.");
        foreach (PortRuntime p in ports)
        {
            PortMetrics.Line(sb, "switchyard_connections_active", $"port=\"{PortMetrics.Escape(p.Settings.Name)}\"", p.Metrics.Active);
        }

        Family(sb, "switchyard_bytes_total", "counter", "Bytes relayed by port and direction (decrypted bytes on the terminate path).");
        foreach (PortRuntime p in ports)
        {
            string n = PortMetrics.Escape(p.Settings.Name);
            PortMetrics.Line(sb, "switchyard_bytes_total", $"port=\"{n}\",direction=\"downstream_to_app\"", p.Metrics.BytesDownstreamToApp);
            PortMetrics.Line(sb, "switchyard_bytes_total", $"port=\"{n}\",direction=\"app_to_downstream\"", p.Metrics.BytesAppToDownstream);
        }

        Labeled(sb, ports, "switchyard_connection_ends_total", "Closed connections by port and reason.", "reason", p => p.Metrics.Ends, _ => ConnectionEndReasons.AllNames);
        Family(sb, "switchyard_tls_handshake_failures_total", "counter", "TLS handshake failures by port, side and reason.");
        foreach (PortRuntime p in ports)
        {
            string n = PortMetrics.Escape(p.Settings.Name);
            foreach ((string reason, long v) in p.Metrics.DownstreamTlsFailures.Snapshot())
            {
                PortMetrics.Line(sb, "switchyard_tls_handshake_failures_total", $"port=\"{n}\",side=\"downstream\",reason=\"{reason}\"", v);
            }

            foreach ((string reason, long v) in p.Metrics.UpstreamTlsFailures.Snapshot())
            {
                PortMetrics.Line(sb, "switchyard_tls_handshake_failures_total", $"port=\"{n}\",side=\"upstream\",reason=\"{reason}\"", v);
            }
        }

        // Known label sets start at 0 (a rate() over a series that appears on its first increment misses that one).
        Func<PortRuntime, IEnumerable<string>> routes = p => agent.Intercepts.Values.Where(i => i.Port == p.Settings.Name).Select(i => i.Id).Prepend("app");
        Func<PortRuntime, IEnumerable<string>> intercepts = p => agent.Intercepts.Values.Where(i => i.Port == p.Settings.Name && i.Mode == "intercept").Select(i => i.Id);
        Labeled(sb, ports, "switchyard_requests_total", "Parsed requests by port and route (app or the intercept id).", "route", p => p.Metrics.Requests, routes);
        Family(sb, "switchyard_request_duration_seconds", "histogram", "Request durations by port and route, from the routing decision to the end of the response.");
        foreach (PortRuntime p in ports)
        {
            string n = PortMetrics.Escape(p.Settings.Name);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach ((string route, DurationHistogram histogram) in p.Metrics.RequestDurations.Snapshot())
            {
                seen.Add(route);
                histogram.Render(sb, "switchyard_request_duration_seconds", $"port=\"{n}\",route=\"{PortMetrics.Escape(route)}\"");
            }

            foreach (string route in routes(p).Where(r => !seen.Contains(r)).Order(StringComparer.Ordinal))
            {
                new DurationHistogram().Render(sb, "switchyard_request_duration_seconds", $"port=\"{n}\",route=\"{PortMetrics.Escape(route)}\"");
            }
        }

        Family(sb, "switchyard_body_filter_total", "counter", "Requests held for a body filter, by port, intercept (or wiretap) id and result: match, no_match, too_large (over maxBodyBytes), timeout (slower than bodyTimeout), not_json.");
        foreach (PortRuntime p in ports)
        {
            string n = PortMetrics.Escape(p.Settings.Name);
            var lines = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (string id in agent.Intercepts.Values.Where(i => i.Port == p.Settings.Name && i.Rule.Filter is { HasBodyCondition: true }).Select(i => i.Id))
            {
                foreach (string result in (string[])["match", "no_match", "too_large", "timeout", "not_json"])
                {
                    lines[PortMetrics.BodyFilterKey(id, result)] = 0;
                }
            }

            foreach ((string key, long v) in p.Metrics.BodyFilters.Snapshot())
            {
                lines[key] = v;
            }

            foreach ((string key, long v) in lines)
            {
                int cut = key.IndexOf('\0', StringComparison.Ordinal);
                PortMetrics.Line(sb, "switchyard_body_filter_total", $"port=\"{n}\",intercept=\"{PortMetrics.Escape(key[..cut])}\",result=\"{key[(cut + 1)..]}\"", v);
            }
        }

        Labeled(sb, ports, "switchyard_intercept_fail_open_total", "Requests an unreachable intercept target sent to the app instead, by intercept id.", "intercept", p => p.Metrics.FailOpen, intercepts);
        Labeled(sb, ports, "switchyard_global_intercept_connections_total", "Connections a global intercept took at transport level (not decrypted), by intercept id.", "intercept", p => p.Metrics.GlobalConnections);
        Labeled(sb, ports, "switchyard_udp_sessions_total", "UDP sessions (one per source address) by destination (app or the intercept id).", "route", p => p.Metrics.UdpSessions);
        Labeled(sb, ports, "switchyard_udp_datagrams_total", "UDP datagrams relayed by direction.", "direction", p => p.Metrics.UdpDatagrams);
        Labeled(sb, ports, "switchyard_timeouts_total", "Connections a timeout ended (an idle HTTP/2 connection: sent GOAWAY), by port and limit.", "reason", p => p.Metrics.Timeouts);
        Labeled(sb, ports, "switchyard_accept_errors_total", "Failed accepts by port and socket error (TooManyOpenSockets: out of file descriptors; the listener backs off).", "error", p => p.Metrics.AcceptErrors);
        Labeled(sb, ports, "switchyard_http2_abuse_total", "HTTP/2 connections closed by an abuse limit (GOAWAY), by reason.", "reason", p => p.Metrics.Http2Abuse);
        Labeled(sb, ports, "switchyard_http2_goaway_total", "HTTP/2 connections closed by the agent for a protocol error (GOAWAY), by error code.", "code", p => p.Metrics.Http2Errors);
        Labeled(sb, ports, "switchyard_protocol_mismatches_total", "Callers that spoke TLS to a plaintext port or plaintext to a TLS port.", "reason", p => p.Metrics.ProtocolMismatches);
        Labeled(sb, ports, "switchyard_probe_results_total", "Protocol probes of the app by port and result.", "result", p => p.Metrics.ProbeResults);
        Family(sb, "switchyard_port_protocol", "gauge", "Detected protocol per port (always 1; the labels carry the value).");
        foreach (PortRuntime p in ports)
        {
            PortProtocol protocol = p.Detector.Protocol;
            PortMetrics.Line(sb, "switchyard_port_protocol",
                $"port=\"{PortMetrics.Escape(p.Settings.Name)}\",tls=\"{PortProtocol.Name(protocol.Tls)}\",http=\"{PortProtocol.Name(protocol.Http)}\"", 1);
        }

        Family(sb, "switchyard_certificate_expiry_seconds", "gauge", "Seconds until the downstream certificate expires (negative: expired).");
        foreach (PortRuntime p in ports)
        {
            if (agent.CertificateExpirySeconds(p) is double seconds)
            {
                PortMetrics.Line(sb, "switchyard_certificate_expiry_seconds", $"port=\"{PortMetrics.Escape(p.Settings.Name)}\"", (long)seconds);
            }
        }

        Family(sb, "switchyard_wiretap_copies_total", "counter", "Request copies a wiretap answered, by wiretap id.");
        var taps = agent.Intercepts.Values.Where(i => i.Mode == "wiretap").Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        foreach ((string tap, long v) in agent.Wiretaps.Delivered.Snapshot())
        {
            taps.Remove(tap);
            PortMetrics.Line(sb, "switchyard_wiretap_copies_total", $"wiretap=\"{PortMetrics.Escape(tap)}\"", v);
        }

        foreach (string tap in taps.Order(StringComparer.Ordinal))
        {
            PortMetrics.Line(sb, "switchyard_wiretap_copies_total", $"wiretap=\"{PortMetrics.Escape(tap)}\"", 0);
        }

        Family(sb, "switchyard_wiretap_drops_total", "counter", "Request copies dropped (queue_full, tap_too_slow, request_failed, tap_unreachable, tap_error, tap_timeout), by wiretap id and reason.");
        foreach ((string tap, LabeledCounter drops) in agent.Wiretaps.Drops.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            foreach ((string reason, long v) in drops.Snapshot())
            {
                PortMetrics.Line(sb, "switchyard_wiretap_drops_total", $"wiretap=\"{PortMetrics.Escape(tap)}\",reason=\"{reason}\"", v);
            }
        }

        Family(sb, "switchyard_ready", "gauge", "1 when every port listens and the config is valid, 0 otherwise or while draining.");
        sb.Append("switchyard_ready ").Append(agent.Ready ? '1' : '0').Append('\n');
        agent.Metrics.RenderGlobal(sb);
        agent.Tunnel?.Registry.RenderMetrics(sb);
        Family(sb, "switchyard_build_info", "gauge", "Always 1; the labels say what was built.");
        sb.Append("switchyard_build_info{version=\"").Append(PortMetrics.Escape(Program.Version)).Append("\",commit=\"").Append(PortMetrics.Escape(BuildInfo.Commit)).Append("\"} 1\n");
        ProcessMetrics.Render(sb);
        return sb.ToString();
    }

    /// <param name="known">Label values written as 0 until first counted (the app route, live intercept ids, end reasons).</param>
    private static void Labeled(StringBuilder sb, IReadOnlyList<PortRuntime> ports, string metric, string help, string label, Func<PortRuntime, LabeledCounter> counter,
        Func<PortRuntime, IEnumerable<string>>? known = null)
    {
        Family(sb, metric, "counter", help);
        foreach (PortRuntime p in ports)
        {
            string n = PortMetrics.Escape(p.Settings.Name);
            LabeledCounter values = counter(p);
            var lines = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (string value in known?.Invoke(p) ?? [])
            {
                lines[value] = 0;
            }

            foreach ((string value, long v) in values.Snapshot())
            {
                lines[value] = v;
            }

            foreach ((string value, long v) in lines)
            {
                PortMetrics.Line(sb, metric, $"port=\"{n}\",{label}=\"{PortMetrics.Escape(value)}\"", v);
            }
        }
    }

    private static void Family(StringBuilder sb, string metric, string type, string help) =>
        sb.Append("# HELP ").Append(metric).Append(' ').Append(help).Append("\n# TYPE ").Append(metric).Append(' ').Append(type).Append('\n');

    private static string Json<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) => JsonSerializer.Serialize(value, type) + "\n";

    private static async ValueTask WriteAsync(PipeWriter output, int status, string contentType, string body, bool close)
    {
        byte[] payload = Encoding.UTF8.GetBytes(body);
        string reason = status switch { 200 => "OK", 201 => "Created", 409 => "Conflict", 400 => "Bad Request", 401 => "Unauthorized", 404 => "Not Found", 405 => "Method Not Allowed", _ => "Service Unavailable" };
        string head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {payload.Length}\r\nCache-Control: no-store\r\n{(close ? "Connection: close\r\n" : string.Empty)}\r\n";
        output.Write(Encoding.ASCII.GetBytes(head));
        output.Write(payload);
        await output.FlushAsync().ConfigureAwait(false);
    }

    public void Dispose() => _listener?.Dispose();
}
