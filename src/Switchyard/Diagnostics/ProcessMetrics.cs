using System.Globalization;
using System.Text;

namespace Switchyard.Diagnostics;

/// <summary>The process_* metrics Prometheus' client libraries export (names and units as theirs), read at scrape time.</summary>
internal static class ProcessMetrics
{
    private static readonly double StartTimeSeconds = StartTime();

    private static double StartTime()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
    }

    public static void Render(StringBuilder sb)
    {
        Gauge(sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", Environment.WorkingSet);
        Gauge(sb, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", Environment.CpuUsage.TotalTime.TotalSeconds);
        if (OpenFds() is int fds)
        {
            Gauge(sb, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
        }

        if (MaxFds() is long max)
        {
            Gauge(sb, "process_max_fds", "gauge", "Maximum number of open file descriptors.", max);
        }

        Gauge(sb, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", StartTimeSeconds);
    }

    private static void Gauge(StringBuilder sb, string metric, string type, string help, double value) =>
        sb.Append("# HELP ").Append(metric).Append(' ').Append(help).Append("\n# TYPE ").Append(metric).Append(' ').Append(type).Append('\n')
            .Append(metric).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    /// <summary>Entries of /proc/self/fd (Linux), less the one the enumeration itself opens.</summary>
    private static int? OpenFds()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return Math.Max(0, Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() - 1);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The soft limit of "Max open files" in /proc/self/limits (Linux).</summary>
    private static long? MaxFds()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    string[] parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long soft) ? soft : null;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}
