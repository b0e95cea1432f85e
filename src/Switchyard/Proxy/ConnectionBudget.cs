using System.Globalization;

namespace Switchyard.Proxy;

/// <summary>
/// How many connections the agent may hold at once under its container's memory limit (issue 16: an idle TLS
/// connection costs about 50 KiB today, so about 5,000 idle connections from anyone who reaches the Service would
/// get a 256 MiB sidecar OOM-killed). Agent-wide, over every port; past it a new connection is closed at accept with
/// the end reason <c>memory_limit</c>. Without a cgroup memory limit there is no such bound (per-port
/// <c>maxConnections</c> still applies).
/// </summary>
internal static class ConnectionBudget
{
    /// <summary>What the agent needs before any connection: its RSS at start (about 40 MB) plus pools and GC headroom.</summary>
    public const long BaseBytes = 64L << 20;

    /// <summary>Budget per open connection: 50.5 KiB measured per idle TLS connection (perf/RESULTS.md, issue 16), rounded up.</summary>
    public const long PerConnectionBytes = 64L << 10;

    /// <summary>Never fewer than this, however small the limit: a probe and a few callers must still get in.</summary>
    public const int Minimum = 64;

    /// <summary>The memory limit of this process' cgroup (v2 memory.max, else v1 memory.limit_in_bytes); null when there is none.</summary>
    public static long? CgroupMemoryLimit(string root = "/sys/fs/cgroup")
    {
        foreach (string file in new[] { Path.Combine(root, "memory.max"), Path.Combine(root, "memory", "memory.limit_in_bytes") })
        {
            try
            {
                string text = File.ReadAllText(file).Trim();
                if (text == "max")
                {
                    return null;
                }

                // cgroup v1 writes "no limit" as a huge page-aligned number (0x7FFFFFFFFFFFF000).
                return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) && bytes is > 0 and < (1L << 60) ? bytes : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // not this cgroup version (or no cgroup file system): try the next
            }
        }

        return null;
    }

    /// <summary>Connections that fit in <paramref name="limitBytes"/>; null (no bound) when there is no limit.</summary>
    public static int? MaxConnections(long? limitBytes) =>
        limitBytes is long limit ? (int)Math.Clamp((limit - BaseBytes) / PerConnectionBytes, Minimum, int.MaxValue) : null;
}
