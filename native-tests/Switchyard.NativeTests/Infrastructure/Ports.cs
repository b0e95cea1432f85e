using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>
/// Free TCP ports on 127.0.0.1 for the agent's listeners. They are picked below the kernel's ephemeral range
/// (ip_local_port_range) and checked by binding them once, so an outgoing connection of any process on this
/// shared machine cannot take one between the pick and the agent's own bind.
/// </summary>
public static class Ports
{
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();
    private static readonly (int Low, int High) Range = PickRange();

    public static int GetFreeTcpPort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(Range.Low, Range.High);
            lock (Gate)
            {
                if (HandedOut.Contains(port))
                {
                    continue;
                }
            }

            if (CanBind(port))
            {
                lock (Gate)
                {
                    if (HandedOut.Add(port))
                    {
                        return port;
                    }
                }
            }
        }

        throw new InvalidOperationException($"no free TCP port in {Range.Low}-{Range.High} after 200 attempts");
    }

    /// <summary>"127.0.0.1:PORT".</summary>
    public static string Loopback(int port) => $"127.0.0.1:{port}";

    private static bool CanBind(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>[10000, start of the ephemeral range), or 10000-20000 when the range is unreadable or starts too low.</summary>
    private static (int Low, int High) PickRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            var ephemeralLow = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return ephemeralLow > 12000 ? (10000, ephemeralLow) : (10000, 20000);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return (10000, 20000);
        }
    }
}
