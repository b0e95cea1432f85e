using System.Net.Sockets;

namespace Switchyard.Transport;

/// <summary>
/// <c>writeStallTimeout</c>, enforced by the kernel: TCP_USER_TIMEOUT (RFC 5482) aborts a connection whose sent
/// data stays unacknowledged that long — and, since Linux 5.9, one whose peer keeps its receive window at zero that
/// long (a reader that never reads). So a stalled peer costs no timer of ours, and the pending write fails with
/// ETIMEDOUT ("Connection timed out"), which is how the end is recognised.
/// </summary>
public static class WriteStall
{
    private const int IpProtoTcp = 6;
    private const int TcpUserTimeout = 18; // linux/tcp.h

    /// <summary>Sets the stall limit on a connected or accepted socket (Linux; elsewhere nothing happens).</summary>
    public static void Apply(Socket socket, TimeSpan limit)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, BitConverter.GetBytes((int)Math.Min(int.MaxValue, limit.TotalMilliseconds)));
        }
        catch (SocketException)
        {
            // not a TCP socket (a test's socket pair): no stall limit
        }
    }

    /// <summary>Whether a connection's failure reason is the kernel's stall abort.</summary>
    public static bool Ended(string? detail) =>
        detail is not null && detail.Contains("timed out", StringComparison.OrdinalIgnoreCase) && !detail.Contains("within", StringComparison.Ordinal);

    /// <summary>The same for an exception chain (ETIMEDOUT on a send or receive).</summary>
    public static bool Ended(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.TimedOut })
            {
                return true;
            }
        }

        return false;
    }
}
