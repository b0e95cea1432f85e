using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Detection;
using Switchyard.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>Everything the agent keeps per configured port: settings, listener, detection, counters.</summary>
internal sealed class PortRuntime
{
    private readonly ILogger _logger;
    private volatile PortSettings _settings;
    private volatile PortDetector _detector;
    private int _cannotTerminateLogged;

    public PortRuntime(PortSettings settings, ILogger logger)
    {
        _logger = logger;
        _settings = settings;
        Metrics = new PortMetrics(settings.Name);
        _detector = new PortDetector(settings, Metrics, logger);
    }

    /// <summary>The current settings; a connection keeps the ones it was accepted with (<see cref="ConnectionContext.Settings"/>).</summary>
    public PortSettings Settings => _settings;

    public PortMetrics Metrics { get; }

    public PortDetector Detector => _detector;

    public Listener? Listener { get; set; }

    /// <summary>UDP ports: the datagram relay (instead of <see cref="Listener"/>).</summary>
    public UdpRelay? Udp { get; set; }

    /// <summary>Logs "cannot terminate" once per port instead of once per connection.</summary>
    public bool FirstCannotTerminate() => Interlocked.Exchange(ref _cannotTerminateLogged, 1) == 0;

    /// <summary>
    /// Takes new settings for the same listen address (a config reload). Protocol knowledge is kept unless a field
    /// it depends on changed; then detection starts over. Returns whether anything changed.
    /// </summary>
    public bool Update(PortSettings next)
    {
        PortSettings current = _settings;
        if (Same(current, next))
        {
            return false;
        }

        if (DetectionChanged(current, next))
        {
            _detector = new PortDetector(next, Metrics, _logger);
            Interlocked.Exchange(ref _cannotTerminateLogged, 0);
        }

        _settings = next;
        return true;
    }

    internal static bool DetectionChanged(PortSettings a, PortSettings b) =>
        a.AppHost != b.AppHost || a.AppPort != b.AppPort || a.Tls != b.Tls || a.Http != b.Http || a.AppProtocol != b.AppProtocol
        || a.Name != b.Name || a.Protocol != b.Protocol || (a.DownstreamTls is null) != (b.DownstreamTls is null) || a.ProbeTimeout != b.ProbeTimeout;

    /// <summary>Equal apart from the loaded certificate objects, which a re-read of the same files recreates.</summary>
    private static bool Same(PortSettings a, PortSettings b) =>
        !DetectionChanged(a, b) && a.Index == b.Index && a.Inspect == b.Inspect && a.Http1Limits == b.Http1Limits
        && Same(a.DownstreamTls, b.DownstreamTls) && Same(a.UpstreamTls, b.UpstreamTls);

    private static bool Same(DownstreamTlsSettings? a, DownstreamTlsSettings? b) =>
        a is null || b is null
            ? a is null && b is null
            : SameFiles(a.Certificate, b.Certificate) && a.Alpn.SequenceEqual(b.Alpn) && (a.ClientAuth is null) == (b.ClientAuth is null)
              && (a.ClientAuth is null || (a.ClientAuth.AllowAnonymous == b.ClientAuth!.AllowAnonymous && a.ClientAuth.AcceptAnyCert == b.ClientAuth.AcceptAnyCert
                  && SameRoots(a.ClientAuth.TrustRoots, b.ClientAuth.TrustRoots)));

    private static bool Same(UpstreamTlsSettings? a, UpstreamTlsSettings? b) =>
        a is null || b is null
            ? a is null && b is null
            : SameFiles(a.ClientCertificate, b.ClientCertificate) && a.InsecureSkipVerify == b.InsecureSkipVerify && a.ServerName == b.ServerName
              && SameRoots(a.TrustRoots, b.TrustRoots);

    private static bool SameFiles(Tls.CertificateSource? a, Tls.CertificateSource? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.CertPath == b.CertPath && a.KeyPath == b.KeyPath && a.Current.Leaf.Thumbprint == b.Current.Leaf.Thumbprint;

    private static bool SameRoots(System.Security.Cryptography.X509Certificates.X509Certificate2Collection a, System.Security.Cryptography.X509Certificates.X509Certificate2Collection b) =>
        a.Count == b.Count && a.Select(c => c.Thumbprint).Order(StringComparer.Ordinal).SequenceEqual(b.Select(c => c.Thumbprint).Order(StringComparer.Ordinal));
}
