using System.Globalization;
using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Diagnostics;

namespace Switchyard.Tls;

/// <summary>
/// Watches the files of the certificate pairs in use (directory events, including Kubernetes <c>..data</c> swaps,
/// plus the periodic check) and refreshes each pair: a rotated pair is used from the next handshake, a broken one
/// leaves the previous pair in use and is logged once.
/// </summary>
internal sealed class CertificateWatcher : IDisposable
{
    private readonly ILogger _logger;
    private readonly FileWatch _files;
    private readonly Lock _lock = new();
    private CertificateSource[] _sources = [];

    /// <param name="time">The clock of the poll and the debounce (a fake one in tests); the system's by default.</param>
    public CertificateWatcher(ILogger logger, LabeledCounter reloads, TimeSpan? pollInterval = null, TimeProvider? time = null)
    {
        _logger = logger;
        Reloads = reloads;
        _files = new FileWatch(Check, pollInterval ?? FileWatch.PollIntervalFromEnvironment(), time);
    }

    /// <summary>How many checks (file events and polls) have run to completion.</summary>
    public long Checks => _files.Checks;

    /// <summary>Counts by result ("ok", "failed"); the agent renders them as switchyard_certificate_reloads_total.</summary>
    public LabeledCounter Reloads { get; }

    public int Count => Volatile.Read(ref _sources).Length;

    /// <summary>Replaces the set of watched pairs (after a config reload or an intercept change).</summary>
    public void Watch(IReadOnlyCollection<CertificateSource> sources)
    {
        lock (_lock)
        {
            Volatile.Write(ref _sources, [.. sources]);
            _files.Watch(sources.SelectMany(s => new[] { s.CertPath, s.KeyPath }));
        }
    }

    /// <summary>Refreshes every pair now (also called by the file events and the periodic check).</summary>
    public void Check()
    {
        foreach (CertificateSource source in Volatile.Read(ref _sources))
        {
            string serial = source.Current.Leaf.SerialNumber;
            switch (source.Refresh(out string? error))
            {
                case RefreshResult.Rotated:
                    CertificateMaterial now = source.Current;
                    Reloads.Increment("ok");
                    _logger.CertificateRotated(source.CertPath, now.Leaf.SerialNumber, now.Leaf.Subject,
                        now.Leaf.NotAfter.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
                    break;
                case RefreshResult.Failed:
                    Reloads.Increment("failed");
                    _logger.CertificateReloadFailed(source.CertPath, source.KeyPath, serial, error ?? "?");
                    break;
            }
        }
    }

    public void Dispose() => _files.Dispose();
}
