namespace Switchyard.Config;

/// <summary>
/// Calls <c>check</c> when any of a set of files may have changed: a FileSystemWatcher on each file's directory
/// (a Kubernetes volume update renames a new <c>..data</c> symlink over the old one, which a watch on the file
/// itself would never see) plus a periodic call as a safety net. Events are debounced, calls never overlap, and
/// <c>check</c> decides itself whether anything really changed (by fingerprinting the bytes).
/// </summary>
internal sealed class FileWatch : IDisposable
{
    /// <summary>Waits for a burst of events (a swap is several renames) to settle before checking.</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(100);

    private readonly Action _check;
    private readonly Lock _lock = new();
    private readonly Lock _checking = new();
    private readonly Dictionary<string, FileSystemWatcher?> _watchers = new(StringComparer.Ordinal);
    private readonly ITimer _debounce;
    private readonly ITimer _poll;
    private bool _disposed;
    private long _checks;

    /// <param name="time">The clock of the debounce and the poll (a fake one in tests); the system's by default.</param>
    public FileWatch(Action check, TimeSpan pollInterval, TimeProvider? time = null)
    {
        _check = check;
        time ??= TimeProvider.System;
        _debounce = time.CreateTimer(_ => Run(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _poll = time.CreateTimer(_ => Run(), null, pollInterval, pollInterval);
    }

    /// <summary>How many times <c>check</c> has run to completion (tests wait on it instead of sleeping).</summary>
    public long Checks => Interlocked.Read(ref _checks);

    /// <summary>The poll interval: SWITCHYARD_CONFIG_POLL (a duration such as 2s or 200ms), 2 s by default.</summary>
    public static TimeSpan PollIntervalFromEnvironment() =>
        Duration.TryParse(Environment.GetEnvironmentVariable("SWITCHYARD_CONFIG_POLL"), out TimeSpan value) && value > TimeSpan.Zero
            ? value
            : TimeSpan.FromSeconds(2);

    /// <summary>Watches the directories of <paramref name="files"/> (replacing the previous set).</summary>
    public void Watch(IEnumerable<string> files)
    {
        var directories = new HashSet<string>(files.Select(f => Path.GetDirectoryName(Path.GetFullPath(f)) ?? "/"), StringComparer.Ordinal);
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            foreach (string gone in _watchers.Keys.Where(d => !directories.Contains(d)).ToList())
            {
                _watchers[gone]?.Dispose();
                _watchers.Remove(gone);
            }

            foreach (string directory in directories.Where(d => !_watchers.ContainsKey(d)))
            {
                _watchers[directory] = Arm(directory);
            }
        }
    }

    /// <summary>Schedules a check after the debounce delay (coalescing bursts).</summary>
    public void Trigger()
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private FileSystemWatcher? Arm(string directory)
    {
        try
        {
            var watcher = new FileSystemWatcher(directory)
            {
                IncludeSubdirectories = false,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += (_, _) => Trigger();
            watcher.Created += (_, _) => Trigger();
            watcher.Deleted += (_, _) => Trigger();
            watcher.Renamed += (_, _) => Trigger();
            watcher.Error += (_, _) => Rearm(directory, check: true);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is ArgumentException or IOException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            // The directory is missing or cannot be watched (inotify limits): the periodic check still runs,
            // and the next Rearm (from the poll) tries again.
            return null;
        }
    }

    /// <summary>A watcher that failed (queue overflow, directory replaced) is replaced by a fresh one, then a check runs.</summary>
    private void Rearm(string directory, bool check)
    {
        lock (_lock)
        {
            if (_disposed || !_watchers.TryGetValue(directory, out FileSystemWatcher? old))
            {
                return;
            }

            old?.Dispose();
            _watchers[directory] = Arm(directory);
        }

        if (check)
        {
            Trigger();
        }
    }

    private void Run()
    {
        // Directories that could not be watched before (not there yet) are retried on every run.
        List<string> unarmed;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            unarmed = _watchers.Where(kv => kv.Value is null).Select(kv => kv.Key).ToList();
        }

        foreach (string directory in unarmed)
        {
            Rearm(directory, check: false);
        }

        if (!_checking.TryEnter())
        {
            Trigger(); // a check is running: run again after it, in case it read the old bytes
            return;
        }

        try
        {
            if (!Volatile.Read(ref _disposed))
            {
                _check();
                Interlocked.Increment(ref _checks);
            }
        }
        finally
        {
            _checking.Exit();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _poll.Dispose();
            _debounce.Dispose();
            foreach (FileSystemWatcher? watcher in _watchers.Values)
            {
                watcher?.Dispose();
            }

            _watchers.Clear();
        }

        // Wait for a running check to finish so that nothing applies after disposal.
        lock (_checking)
        {
        }
    }
}
