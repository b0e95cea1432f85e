using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Diagnostics;

namespace Switchyard.Detection;

/// <summary>
/// The live protocol knowledge of one port: config rules first, then at most one probe at a time, started by
/// the first connection that needs it. A failed probe leaves the port undecided and the next connection
/// tries again, so a port never stays stuck on a wrong guess made while the app was starting.
/// </summary>
internal sealed class PortDetector
{
    private readonly PortSettings _port;
    private readonly PortMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private PortProtocol _protocol;
    private ProbeState _state;
    private Task? _running;
    private int _attempts;
    private string? _lastError;

    public PortDetector(PortSettings port, PortMetrics metrics, ILogger logger)
    {
        _port = port;
        _metrics = metrics;
        _logger = logger;
        _protocol = ProtocolDetector.FromConfig(port);
        _state = _protocol.NeedsProbe ? ProbeState.Pending : ProbeState.NotNeeded;
    }

    public PortProtocol Protocol
    {
        get { lock (_lock) { return _protocol; } }
    }

    public (ProbeState State, int Attempts, string? LastError) ProbeStatus
    {
        get { lock (_lock) { return (_state, _attempts, _lastError); } }
    }

    /// <summary>Starts a probe when one is needed and none is running; returns the running probe (or a completed task).</summary>
    public Task EnsureDetected(CancellationToken cancellation)
    {
        lock (_lock)
        {
            if (_running is { IsCompleted: false })
            {
                return _running;
            }

            if (_state is not (ProbeState.Pending or ProbeState.Failed))
            {
                return Task.CompletedTask;
            }

            _state = ProbeState.Running;
            int attempt = ++_attempts;
            _running = Task.Run(() => ProbeAsync(attempt, cancellation), cancellation);
            return _running;
        }
    }

    private async Task ProbeAsync(int attempt, CancellationToken cancellation)
    {
        TlsDetection knownTls = Protocol.Tls;
        ProbeOutcome outcome = await AppProber.ProbeAsync(_port.AppHost, _port.AppPort, _port.UpstreamTls?.ServerName, knownTls, _port.ProbeTimeout, cancellation).ConfigureAwait(false);
        _metrics.ProbeResults.Increment(outcome.Result);
        PortProtocol detected;
        lock (_lock)
        {
            if (!outcome.Succeeded)
            {
                _state = ProbeState.Failed;
                _lastError = outcome.Error;
                detected = _protocol;
            }
            else
            {
                PortProtocol p = _protocol;
                if (p.Tls == TlsDetection.Unknown)
                {
                    p = p with { Tls = outcome.Tls, TlsSource = DetectionSource.Probe };
                }

                if (p.Http == HttpDetection.Unknown && outcome.Http != HttpDetection.Unknown)
                {
                    p = p with { Http = outcome.Http, HttpSource = DetectionSource.Probe };
                }

                _protocol = p;
                _state = ProbeState.Succeeded;
                _lastError = null;
                detected = p;
            }
        }

        if (outcome.Succeeded)
        {
            _logger.ProbeSucceeded(_port.Name, _port.App, outcome.Result, outcome.ElapsedMs);
            _logger.Detected(_port.Name, PortProtocol.Name(detected.Tls), PortProtocol.Name(detected.Http), PortProtocol.Name(DetectionSource.Probe));
        }
        else
        {
            _logger.ProbeFailed(_port.Name, _port.App, attempt, outcome.Error ?? "unknown");
        }
    }
}
