using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>The running sidecar: one listener per port, the connection handler, and the drain on shutdown.</summary>
internal sealed partial class Agent : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly ILogger _udpLogger;
    private readonly ConnectionHandler _handler;
    private readonly ILogger _detectionLogger;
    private readonly List<Task> _acceptLoops = [];
    private readonly Lock _applyLock = new();
    private readonly HashSet<string> _configIntercepts = new(StringComparer.Ordinal);
    private volatile AgentSettings _settings;
    private volatile List<PortRuntime> _ports;
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private volatile bool _draining;
    private volatile bool _listening;

    public Agent(AgentSettings settings, ILoggerFactory loggers)
    {
        _settings = settings;
        _logger = loggers.CreateLogger("Switchyard.Agent");
        _udpLogger = loggers.CreateLogger("Switchyard.Udp");
        _detectionLogger = loggers.CreateLogger("Switchyard.Detection");
        _ports = settings.Ports.Select(p => new PortRuntime(p, _detectionLogger)).ToList();
        Routes = new Routing.RouteTableHolder(Routing.RouteTable.Create(settings.Intercepts.Select(i => i.Rule)));
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        foreach (InterceptSettings intercept in settings.Intercepts)
        {
            Intercepts[intercept.Id] = intercept;
            Origins[intercept.Id] = new InterceptOrigin(InterceptOrigin.Config, now);
            _configIntercepts.Add(intercept.Id);
        }

        Func<string, InterceptSettings?> lookup = id => Intercepts.GetValueOrDefault(id);
        Tunnel = Upstream.Tunnel.TunnelFactory.Create(settings, () => Settings.AdminToken, id => lookup(id) is { Target: null }, id => RemoveIntercept(id, "the tunnel (its developer left or did not reconnect)"), loggers);
        Wiretaps = new Upstream.Wiretaps(lookup, loggers.CreateLogger("Switchyard.Wiretap")) { Tunnels = Tunnel?.Registry };
        ILogger upstreamLogger = loggers.CreateLogger("Switchyard.Upstream");
        Http2Pool = new Upstream.Http2ClientPool(logger: upstreamLogger);
        var upstreams = new Upstream.UpstreamConnector(lookup, upstreamLogger, Tunnel?.Registry);
        ILogger connectionLogger = loggers.CreateLogger("Switchyard.Connection");
        var destinations = new DestinationOpener(upstreams, Http1Pool, Http2Pool,
            new Http2Translation(lookup) { Tunnels = Tunnel?.Registry }, connectionLogger);
        MemoryLimit = ConnectionBudget.CgroupMemoryLimit();
        _handler = new ConnectionHandler(Tracker, Routes, Wiretaps, destinations, connectionLogger) { MaxAgentConnections = ConnectionBudget.MaxConnections(MemoryLimit) };
        _heartbeat = new Heartbeat(Tracker, TimeProvider.System, connectionLogger);
        Certificates = new Tls.CertificateWatcher(_logger, Metrics.CertificateReloads);

        // OpenSSL is loaded on first use; loading it here, at start, means a process out of file descriptors later
        // cannot fail that load mid-flight (.NET ends the process when libssl cannot be opened).
        _ = Tls.TlsOptions.CallerCipherSuites;
    }

    /// <summary>The container's memory limit (cgroup), null when there is none: it bounds the open connections.</summary>
    public long? MemoryLimit { get; }

    /// <summary>The config in force (a reload swaps it): /v1/status shows its path and fingerprint.</summary>
    public AgentSettings Settings => _settings;

    /// <summary>The ports of the config in force; a reload swaps the whole list.</summary>
    public IReadOnlyList<PortRuntime> Ports => _ports;

    public ConnectionTracker Tracker { get; } = new();

    /// <summary>Checks every connection's timeouts once a second.</summary>
    private readonly Heartbeat _heartbeat;

    /// <summary>Idle HTTP/1 connections to apps and targets (swept for expired and peer-closed ones).</summary>
    public Upstream.ConnectionPool Http1Pool { get; } = new();

    /// <summary>HTTP/2 client connections to apps and targets (closed after their idle timeout).</summary>
    public Upstream.Http2ClientPool Http2Pool { get; }

    /// <summary>The live intercepts; every request reads the current snapshot.</summary>
    public Routing.RouteTableHolder Routes { get; }

    /// <summary>The developer tunnel (tunnel.listen), or null when it is not configured.</summary>
    public Upstream.Tunnel.TunnelServer? Tunnel { get; }

    /// <summary>Wiretap queues and senders, with their delivered and dropped counts.</summary>
    public Upstream.Wiretaps Wiretaps { get; }

    /// <summary>Certificate files watched for rotation, with the rotation counts.</summary>
    public Tls.CertificateWatcher Certificates { get; }

    /// <summary>The live intercepts with their delivery settings (config ones plus those added through the admin API).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, InterceptSettings> Intercepts { get; } = new(StringComparer.Ordinal);

    /// <summary>Where each live intercept came from and when (/v1/intercepts and /v1/status show it).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, InterceptOrigin> Origins { get; } = new(StringComparer.Ordinal);

    private readonly Lock _interceptsLock = new();

    /// <summary>
    /// Adds an intercept (admin API); false when the id is taken. Takes effect for the next request.
    /// <paramref name="source"/> says who asked ("admin API from 127.0.0.1:41234", "switchyard intercept from ...").
    /// </summary>
    public bool TryAddIntercept(InterceptSettings intercept, string source = "admin API")
    {
        lock (_interceptsLock)
        {
            intercept = ReuseCertificateSource(intercept, SourceReuser()); // one source per file pair (see Apply)
            if (!Routes.TryAdd(intercept.Rule))
            {
                return false;
            }

            Intercepts[intercept.Id] = intercept;
            Origins[intercept.Id] = new InterceptOrigin(source, TimeProvider.System.GetUtcNow());
        }

        _logger.InterceptAdded(intercept.Mode, intercept.Id, intercept.Port, source, MatchText(intercept.Rule), TargetText(intercept));
        WatchCertificates();
        return true;
    }

    /// <summary>Removes an intercept; <paramref name="by"/> says who (for the log line). False when there was none.</summary>
    public bool RemoveIntercept(string id, string by = "admin API")
    {
        bool removed;
        InterceptSettings? gone;
        lock (_interceptsLock)
        {
            Intercepts.TryRemove(id, out gone);
            Origins.TryRemove(id, out _);
            Tunnel?.Registry.Forget(id);
            _configIntercepts.Remove(id);
            removed = Routes.Remove(id);
        }

        if (removed)
        {
            _logger.InterceptRemoved(gone?.Mode ?? "intercept", id, gone?.Port ?? "?", by);
        }

        WatchCertificates();
        return removed;
    }

    /// <summary>A filter in the config file's `match` grammar, "everything" for a global intercept.</summary>
    internal static string MatchText(Routing.InterceptRule rule) =>
        rule.Filter is { } filter ? Routing.FilterWriter.ToJson(filter) : "everything";

    internal static string TargetText(InterceptSettings intercept) => intercept.Target ?? "the developer's tunnel";

    public Metrics Metrics { get; } = new();

    public bool Ready => _listening && !_draining;

    public bool Draining => _draining;

    /// <summary>
    /// Binds every port. A port that cannot be bound (address in use, permission denied) is logged and thrown as a
    /// <see cref="ConfigException"/> naming its <c>$.ports[N].listen</c> (or <c>$.tunnel.listen</c>).
    /// </summary>
    public void Start()
    {
        _logger.Starting(Program.Version, Settings.FilePath, Settings.Fingerprint);
        if (MemoryLimit is long limit)
        {
            _logger.ConnectionBudgetSet(limit >> 20, _handler.MaxAgentConnections!.Value, ConnectionBudget.PerConnectionBytes >> 10, ConnectionBudget.BaseBytes >> 20);
        }

        CheckCertificates();
        if (!Transport.OpenSslBuffers.Enable())
        {
            _logger.TlsBuffersKept(Transport.OpenSslBuffers.Unavailable ?? "?");
        }

        foreach (InterceptSettings intercept in Settings.Intercepts)
        {
            _logger.InterceptFromConfig(intercept.Mode, intercept.Id, intercept.Port, "added", MatchText(intercept.Rule), TargetText(intercept));
        }

        foreach (PortRuntime port in Ports)
        {
            if (port.Settings.Protocol == "UDP")
            {
                StartUdp(port);
                continue;
            }

            try
            {
                port.Listener = Listener.Bind(port.Settings.Listen);
            }
            catch (SocketException e)
            {
                throw ListenFailed(port, ConfigException.Address(port.Settings.Listen), e);
            }

            StartAccepting(port);
        }

        try
        {
            Tunnel?.Start();
        }
        catch (SocketException e) when (Settings.TunnelListen is { } tunnel)
        {
            throw ConfigException.Listen(Settings.FilePath, "$.tunnel.listen", ConfigException.Address(tunnel), e);
        }

        WatchCertificates();
        _listening = true;
    }

    /// <summary>
    /// Builds, off the start path, what the first handshakes would otherwise build: each port's certificate context
    /// (downstream certificate, client certificate toward the app), whose chain building loads the system CA store
    /// once per process. Until it is done a handshake that needs a context builds it itself (the same Lazy), so
    /// nothing waits for this. Never throws: a context that cannot be built fails the handshake that uses it.
    /// </summary>
    public Task WarmTlsAsync() => Task.Run(() =>
    {
        foreach (PortRuntime port in Ports)
        {
            foreach (Tls.CertificateSource? source in (ReadOnlySpan<Tls.CertificateSource?>)[port.Settings.DownstreamTls?.Certificate, port.Settings.UpstreamTls?.ClientCertificate])
            {
                try
                {
                    _ = source?.Current.Context;
                }
                catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or NotSupportedException)
                {
                    // reported by the handshake that needs it
                }
            }
        }
    });

    private void StartUdp(PortRuntime port)
    {
        try
        {
            port.Udp = UdpRelay.Bind(port, Routes, _udpLogger);
        }
        catch (SocketException e)
        {
            throw ListenFailed(port, ConfigException.Address(port.Settings.Listen) + "/udp", e);
        }

        StartRelaying(port);
    }

    private ConfigException ListenFailed(PortRuntime port, string address, SocketException e)
    {
        _logger.ListenFailed(port.Settings.Name, address, ErrorText.Socket(e.SocketErrorCode));
        return ConfigException.Listen(Settings.FilePath, $"$.ports[{port.Settings.Index}].listen", address, e);
    }

    private void StartRelaying(PortRuntime port)
    {
        UdpRelay relay = port.Udp!;
        _logger.PortListening(port.Settings.Name, Endpoints.Format(relay.LocalEndPoint) + "/udp", port.Settings.App, "never");
        lock (_acceptLoops)
        {
            _acceptLoops.Add(relay.RunAsync());
        }
    }

    private void StartAccepting(PortRuntime port)
    {
        Listener listener = port.Listener!;
        string name = port.Settings.Name;
        listener.AcceptFailed = error => port.Metrics.AcceptErrors.Increment(error.ToString());
        listener.AcceptFailing = (error, count, wait) => _logger.AcceptFailing(name, error.ToString(), count, wait.TotalMilliseconds);
        _logger.PortListening(port.Settings.Name, Endpoints.Format(listener.LocalEndPoint), port.Settings.App, port.Settings.Inspect.ToString().ToLowerInvariant());
        lock (_acceptLoops)
        {
            _acceptLoops.Add(listener.AcceptLoopAsync(channel => _handler.HandleAsync(port, channel)));
        }
    }

    /// <summary>
    /// The certificate pairs in force, watched for rotation: those the ports actually use (which, for a port kept
    /// unchanged by a reload, are its previous settings'), the config's, and the live intercepts'.
    /// </summary>
    private void WatchCertificates() => Certificates.Watch(SourcesInForce());

    /// <summary>
    /// Stops accepting, lets open connections finish for up to <paramref name="drainTimeout"/>, then aborts the rest.
    /// </summary>
    public async Task DrainAsync(string signal, TimeSpan drainTimeout)
    {
        lock (_applyLock)
        {
            _draining = true; // no reload applies from here on
        }

        Certificates.Dispose();
        _logger.Draining(signal, Tracker.Count, drainTimeout.TotalSeconds);
        Tunnel?.Dispose();
        foreach (PortRuntime port in Ports)
        {
            port.Listener?.Dispose();
            port.Udp?.Dispose();
        }

        Task[] loops;
        lock (_acceptLoops)
        {
            loops = [.. _acceptLoops];
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        Tracker.GoAwayAll();
        Task idle = Tracker.WhenIdle();
        if (await Task.WhenAny(idle, Task.Delay(drainTimeout)).ConfigureAwait(false) != idle)
        {
            _logger.DrainTimeout(Tracker.Count);
            Tracker.AbortAll();
            await Task.WhenAny(idle, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        }

        Http1Pool.Dispose();
        Http2Pool.Dispose();
        _logger.Stopped((long)Stopwatch.GetElapsedTime(_startedAt).TotalSeconds);
    }

    public double? CertificateExpirySeconds(PortRuntime port) =>
        port.Settings.DownstreamTls?.Certificate.Current.ExpiresIn(DateTimeOffset.UtcNow).TotalSeconds;

    private void CheckCertificates()
    {
        foreach (PortRuntime port in Ports)
        {
            if (port.Settings.DownstreamTls?.Certificate.Current is not { } certificate)
            {
                continue;
            }

            TimeSpan left = certificate.ExpiresIn(DateTimeOffset.UtcNow);
            string notAfter = certificate.Leaf.NotAfter.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            if (left <= TimeSpan.Zero)
            {
                _logger.CertificateExpired(port.Settings.Name, certificate.CertPath, notAfter);
            }
            else if (left < TimeSpan.FromDays(7))
            {
                _logger.CertificateExpiresSoon(port.Settings.Name, certificate.CertPath, left.TotalDays, notAfter);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _heartbeat.Dispose();
        Tunnel?.Dispose();
        Certificates.Dispose();
        Http1Pool.Dispose();
        Http2Pool.Dispose();
        foreach (PortRuntime port in Ports)
        {
            port.Listener?.Dispose();
            port.Udp?.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Who added a live intercept and when.</summary>
/// <param name="Source">"config", "admin API from HOST:PORT" or "switchyard intercept from HOST:PORT".</param>
public sealed record InterceptOrigin(string Source, DateTimeOffset Added)
{
    public const string Config = "config";
}
