using System.Net.Sockets;

namespace Switchyard.Transport;

/// <summary>
/// What an accept loop does after a failed accept. A connection that went away between the kernel's queue and our
/// accept (ECONNABORTED, ECONNRESET) is nobody's problem: accept the next one at once. Running out of a resource —
/// file descriptors (EMFILE, ENFILE), socket buffers or memory — is different: the pending connection stays queued,
/// so accepting again at once fails again at once, and the loop would spin a core while nothing else gets done (the
/// connections that would free descriptors included). Then the loop waits, 5 ms at first and twice as long after each
/// failure up to 1 s (what Go's net/http server does for temporary accept errors), and starts over after the next
/// success. Not thread-safe: one per accept loop.
/// </summary>
public sealed class AcceptBackoff
{
    /// <summary>First wait: long enough to let the other connections run, short enough to be invisible once fds are back.</summary>
    public static readonly TimeSpan MinDelay = TimeSpan.FromMilliseconds(5);

    /// <summary>Longest wait: a recovered listener resumes within a second.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>How often a failing listener is logged (with the count since the last line), so a storm is one line per interval.</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private TimeSpan _next = MinDelay;
    private long _lastReport = long.MinValue;
    private long _sinceReport;

    /// <summary>Whether accepting again needs a pause first (a resource ran out) rather than going on at once.</summary>
    public static bool IsResourceExhaustion(SocketError error) =>
        error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable or SocketError.SystemNotReady or SocketError.ProcessLimit;

    /// <summary>A failed accept: the wait before the next one (zero for a connection that merely went away).</summary>
    public TimeSpan OnError(SocketError error)
    {
        _sinceReport++;
        if (!IsResourceExhaustion(error))
        {
            return TimeSpan.Zero;
        }

        TimeSpan delay = _next;
        _next = _next * 2 > MaxDelay ? MaxDelay : _next * 2;
        return delay;
    }

    /// <summary>A successful accept: the next failure starts from the shortest wait again.</summary>
    public void OnSuccess() => _next = MinDelay;

    /// <summary>Whether to log now; when so, <paramref name="count"/> is the failures since the last report (this one included).</summary>
    public bool ShouldReport(long timestamp, TimeProvider time, out long count)
    {
        count = _sinceReport;
        if (_lastReport != long.MinValue && time.GetElapsedTime(_lastReport, timestamp) < ReportInterval)
        {
            return false;
        }

        _lastReport = timestamp;
        _sinceReport = 0;
        return true;
    }
}
