using System.Net;
using System.Net.Sockets;

namespace Switchyard.Tests.TestSupport;

/// <summary>Loopback TCP helpers: connected socket pairs and free ports.</summary>
public static class Loopback
{
    /// <summary>A connected pair over 127.0.0.1: the dialing side and the accepted side.</summary>
    public static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Task<Socket> accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        Socket server = await accept.WaitAsync(TimeSpan.FromSeconds(10));
        return (client, server);
    }

    /// <summary>A port that was free a moment ago and has nothing listening on it now.</summary>
    public static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Reads until the peer ends its sending direction; returns everything received.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellation = default)
    {
        using var received = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellation);
            if (n == 0)
            {
                return received.ToArray();
            }

            received.Write(buffer, 0, n);
        }
    }

    /// <summary>Closes with RST instead of FIN (linger on, timeout zero).</summary>
    public static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }
}
