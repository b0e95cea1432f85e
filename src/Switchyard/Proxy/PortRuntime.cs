using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Detection;
using Switchyard.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>Everything the agent keeps per configured port: settings, listener, detection, counters.</summary>
internal sealed class PortRuntime
{
    private int _cannotTerminateLogged;

    public PortRuntime(PortSettings settings, ILogger logger)
    {
        Settings = settings;
        Metrics = new PortMetrics(settings.Name);
        Detector = new PortDetector(settings, Metrics, logger);
    }

    public PortSettings Settings { get; }

    public PortMetrics Metrics { get; }

    public PortDetector Detector { get; }

    public Listener? Listener { get; set; }

    /// <summary>UDP ports: the datagram relay (instead of <see cref="Listener"/>).</summary>
    public UdpRelay? Udp { get; set; }

    /// <summary>Logs "cannot terminate" once per port instead of once per connection.</summary>
    public bool FirstCannotTerminate() => Interlocked.Exchange(ref _cannotTerminateLogged, 1) == 0;
}
