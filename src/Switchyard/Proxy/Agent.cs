using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>The running sidecar: one listener per port, the connection handler, and the drain on shutdown.</summary>
internal sealed class Agent : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly ILogger _udpLogger;
    private readonly ConnectionHandler _handler;
    private readonly List<Task> _acceptLoops = [];
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private volatile bool _draining;
    private volatile bool _listening;

    public Agent(AgentSettings settings, ILoggerFactory loggers)
    {
        Settings = settings;
        _logger = loggers.CreateLogger("Switchyard.Agent");
        _udpLogger = loggers.CreateLogger("Switchyard.Udp");
        Ports = settings.Ports.Select(p => new PortRuntime(p, loggers.CreateLogger("Switchyard.Detection"))).ToList();
        Routes = new Routing.RouteTableHolder(Routing.RouteTable.Create(settings.Intercepts.Select(i => i.Rule)));
        foreach (InterceptSettings intercept in settings.Intercepts)
        {
            Intercepts[intercept.Id] = intercept;
        }

        Func<string, InterceptSettings?> lookup = id => Intercepts.GetValueOrDefault(id);
        Tunnel = Upstream.Tunnel.TunnelFactory.Create(settings, id => lookup(id) is { Target: null }, id => RemoveIntercept(id), loggers);
        Wiretaps = new Upstream.Wiretaps(lookup, loggers.CreateLogger("Switchyard.Wiretap")) { Tunnels = Tunnel?.Registry };
        _handler = new ConnectionHandler(Tracker, new UpstreamConnector(lookup, loggers.CreateLogger("Switchyard.Upstream"), Tunnel?.Registry), Routes, Wiretaps,
            new Upstream.ConnectionPool(), new Upstream.Http2ClientPool(), loggers.CreateLogger("Switchyard.Connection"));
    }

    public AgentSettings Settings { get; }

    public IReadOnlyList<PortRuntime> Ports { get; }

    public ConnectionTracker Tracker { get; } = new();

    /// <summary>The live intercepts; every request reads the current snapshot.</summary>
    public Routing.RouteTableHolder Routes { get; }

    /// <summary>The developer tunnel (tunnel.listen), or null when it is not configured.</summary>
    public Upstream.Tunnel.TunnelServer? Tunnel { get; }

    /// <summary>Wiretap queues and senders, with their delivered and dropped counts.</summary>
    public Upstream.Wiretaps Wiretaps { get; }

    /// <summary>The live intercepts with their delivery settings (config ones plus those added through the admin API).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, InterceptSettings> Intercepts { get; } = new(StringComparer.Ordinal);

    private readonly Lock _interceptsLock = new();

    /// <summary>Adds an intercept (admin API); false when the id is taken. Takes effect for the next request.</summary>
    public bool TryAddIntercept(InterceptSettings intercept)
    {
        lock (_interceptsLock)
        {
            if (!Routes.TryAdd(intercept.Rule))
            {
                return false;
            }

            Intercepts[intercept.Id] = intercept;
            return true;
        }
    }

    public bool RemoveIntercept(string id)
    {
        lock (_interceptsLock)
        {
            Intercepts.TryRemove(id, out _);
            Tunnel?.Registry.Forget(id);
            return Routes.Remove(id);
        }
    }

    public Metrics Metrics { get; } = new();

    public bool Ready => _listening && !_draining;

    public bool Draining => _draining;

    /// <summary>Binds every port. Throws <see cref="SocketException"/> (after logging) when one cannot be bound.</summary>
    public void Start()
    {
        _logger.Starting(Program.Version, Settings.FilePath, Settings.Fingerprint);
        CheckCertificates();
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
                _logger.ListenFailed(port.Settings.Name, Endpoints.Format(port.Settings.Listen), e.Message);
                throw;
            }

            _logger.PortListening(port.Settings.Name, Endpoints.Format(port.Listener.LocalEndPoint), port.Settings.App, port.Settings.Inspect.ToString().ToLowerInvariant());
            PortRuntime p = port;
            _acceptLoops.Add(port.Listener.AcceptLoopAsync(channel => _handler.HandleAsync(p, channel)));
        }

        Tunnel?.Start();

        _listening = true;
    }

    private void StartUdp(PortRuntime port)
    {
        try
        {
            port.Udp = UdpRelay.Bind(port, Routes, _udpLogger);
        }
        catch (SocketException e)
        {
            _logger.ListenFailed(port.Settings.Name, Endpoints.Format(port.Settings.Listen) + "/udp", e.Message);
            throw;
        }

        _logger.PortListening(port.Settings.Name, Endpoints.Format(port.Udp.LocalEndPoint) + "/udp", port.Settings.App, "never");
        _acceptLoops.Add(port.Udp.RunAsync());
    }

    /// <summary>
    /// Stops accepting, lets open connections finish for up to <paramref name="drainTimeout"/>, then aborts the rest.
    /// </summary>
    public async Task DrainAsync(string signal, TimeSpan drainTimeout)
    {
        _draining = true;
        _logger.Draining(signal, Tracker.Count, drainTimeout.TotalSeconds);
        Tunnel?.Dispose();
        foreach (PortRuntime port in Ports)
        {
            port.Listener?.Dispose();
            port.Udp?.Dispose();
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        Tracker.GoAwayAll();
        Task idle = Tracker.WhenIdle();
        if (await Task.WhenAny(idle, Task.Delay(drainTimeout)).ConfigureAwait(false) != idle)
        {
            _logger.DrainTimeout(Tracker.Count);
            Tracker.AbortAll();
            await Task.WhenAny(idle, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        }

        _logger.Stopped((long)Stopwatch.GetElapsedTime(_startedAt).TotalSeconds);
    }

    public double? CertificateExpirySeconds(PortRuntime port) =>
        port.Settings.DownstreamTls?.Certificate.ExpiresIn(DateTimeOffset.UtcNow).TotalSeconds;

    private void CheckCertificates()
    {
        foreach (PortRuntime port in Ports)
        {
            if (port.Settings.DownstreamTls?.Certificate is not { } certificate)
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
        Tunnel?.Dispose();
        foreach (PortRuntime port in Ports)
        {
            port.Listener?.Dispose();
            port.Udp?.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
