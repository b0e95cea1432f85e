using System.Runtime.InteropServices;

namespace Switchyard.Proxy;

/// <summary>
/// Gives memory back to the system once many connections have closed. Neither heap does it on its own in an agent
/// that then sits idle: the GC collects only when something allocates, so the closed connections' objects stay in
/// committed regions, and glibc malloc keeps the freed OpenSSL state in its arenas (a freed chunk in the middle of an
/// arena is never returned). Measured: 8,000 idle TLS connections closed, 480-1035 MB stayed resident
/// (perf/RESULTS.md, "Issue 16: idle memory per connection"). After a large drop that has settled, one aggressive
/// full GC (which decommits the free regions) and <c>malloc_trim(0)</c> (which returns every free page of every
/// arena) take RSS back close to where it was before the burst.
/// <para>
/// The heartbeat asks <see cref="ShouldTrim"/> once a second with the open connection count; a trim is a blocking
/// full GC (milliseconds for this agent's heaps), so it is kept to large drops and spaced out.
/// </para>
/// </summary>
internal sealed class MemoryTrim(TimeProvider time)
{
    /// <summary>
    /// A drop worth a trim: this many connections gone since the last peak. At ~20-60 KiB each that is 5-15 MiB, well
    /// above what the trim costs in pause time; fewer closed connections leave too little to be worth it.
    /// </summary>
    public const int MinimumDrop = 256;

    /// <summary>Trims at most this often, however the load swings: a blocking full GC every few seconds at worst.</summary>
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(5);

    private long _peak;
    private long _previous;
    private long? _lastTrim;

    /// <summary>
    /// True when at least <see cref="MinimumDrop"/> connections and at least half of the peak have closed since the
    /// peak (or the last trim), the count did not fall since the previous call (the closing wave is over), and the last
    /// trim is <see cref="MinimumInterval"/> old.
    /// </summary>
    public bool ShouldTrim(long open)
    {
        long previous = _previous;
        _previous = open;
        _peak = Math.Max(_peak, open);
        if (_peak - open < MinimumDrop || open > _peak / 2 || open < previous)
        {
            return false;
        }

        long now = time.GetTimestamp();
        if (_lastTrim is long last && time.GetElapsedTime(last, now) < MinimumInterval)
        {
            return false;
        }

        _lastTrim = now;
        _peak = open;
        return true;
    }

    /// <summary>A full blocking GC that decommits what it frees, then every free malloc page back to the system.</summary>
    public static void Trim()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (OperatingSystem.IsLinux())
        {
            try
            {
                _ = MallocTrim(0);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // Not glibc (musl has no malloc_trim): the GC part still happened.
            }
        }
    }

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")] // the soname: "libc" makes the loader probe libc.so (a linker script) and a dozen paths first
    private static extern int MallocTrim(nuint pad);
}
