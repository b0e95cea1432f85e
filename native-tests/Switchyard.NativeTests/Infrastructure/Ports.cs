using System.Net;
using System.Net.Sockets;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>Free TCP ports on 127.0.0.1 (bind port 0, read it, close).</summary>
public static class Ports
{
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();

    /// <summary>A port the OS just handed out and that this process has not handed out before.</summary>
    public static int GetFreeTcpPort()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            lock (Gate)
            {
                if (HandedOut.Add(port) || attempt > 20)
                {
                    return port;
                }
            }
        }
    }

    /// <summary>"127.0.0.1:PORT".</summary>
    public static string Loopback(int port) => $"127.0.0.1:{port}";
}
