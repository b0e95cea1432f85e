using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;

namespace Switchyard.Config;

/// <summary>
/// Reloads the config file when it changes (file events on its directory, including Kubernetes <c>..data</c>
/// symlink swaps, and a periodic fingerprint check). Bytes seen before do nothing; an invalid version is logged
/// with its one-line reason and counted as failed while the last good config stays in force; a valid one is
/// handed to <c>apply</c>, which may still reject it (a new port that cannot be bound).
/// </summary>
internal sealed class ConfigWatcher : IDisposable
{
    private readonly string _path;
    private readonly Func<AgentSettings, (string? Error, string Changes)> _apply;
    private readonly Metrics _metrics;
    private readonly ILogger _logger;
    private readonly FileWatch _files;
    private string _lastSeen;
    private string _inForce;

    /// <summary>The reason the bytes of <see cref="_lastSeen"/> were rejected, or null when they were applied.</summary>
    private string? _rejected;

    /// <param name="fingerprint">The fingerprint of the config in force (the one the agent started with).</param>
    /// <param name="time">The clock of the poll and the debounce (a fake one in tests); the system's by default.</param>
    public ConfigWatcher(string path, string fingerprint, Func<AgentSettings, (string? Error, string Changes)> apply, Metrics metrics, ILogger logger, TimeSpan pollInterval, TimeProvider? time = null)
    {
        _path = path;
        _lastSeen = fingerprint;
        _inForce = fingerprint;
        _apply = apply;
        _metrics = metrics;
        _logger = logger;
        _files = new FileWatch(Check, pollInterval, time);
        _files.Watch([path]);
    }

    /// <summary>The fingerprint of the config in force.</summary>
    public string Fingerprint => Volatile.Read(ref _inForce);

    /// <summary>How many checks (file events and polls) have run to completion.</summary>
    public long Checks => _files.Checks;

    /// <summary>Compares the file with what was seen last and reloads when it differs (the file events and the poll call this).</summary>
    public void Check()
    {
        byte[] bytes;
        try
        {
            bytes = ConfigLoader.ReadFile(_path);
        }
        catch (ConfigException e)
        {
            string reason = e.Reason;
            if (_lastSeen != reason)
            {
                _lastSeen = reason; // reported once until the file is back
                Fail(e.Message);
            }

            return;
        }

        string fingerprint = ConfigLoader.Fingerprint(bytes);
        if (fingerprint == _lastSeen && _rejected is null)
        {
            return;
        }

        // Rejected bytes are tried again on every check: what they name may appear later (a Secret mounted after the
        // ConfigMap changed, a port freed by another process). The same reason is reported once.
        bool retry = fingerprint == _lastSeen;
        _lastSeen = fingerprint;
        string? error;
        string changes = string.Empty;
        try
        {
            (error, changes) = _apply(ConfigLoader.Parse(bytes, _path));
        }
        catch (ConfigException e)
        {
            error = e.Message;
        }

        if (error is not null)
        {
            if (!retry || error != _rejected)
            {
                Fail(error);
            }

            _rejected = error;
            return;
        }

        _rejected = null;
        _metrics.ConfigReloaded(ok: true);
        _logger.ConfigReloaded(_path, _inForce, fingerprint, changes);
        Volatile.Write(ref _inForce, fingerprint);
    }

    private void Fail(string error)
    {
        _metrics.ConfigReloaded(ok: false);
        _logger.ConfigReloadFailed(_inForce, error);
    }

    public void Dispose() => _files.Dispose();
}
