using System.Net;
using System.Net.Sockets;

namespace Switchyard.Transport;

/// <summary>A bound TCP listener and its accept loop; each accepted socket goes to the handler on its own task.</summary>
public sealed class Listener : IDisposable
{
    private readonly Socket _socket;

    private Listener(Socket socket)
    {
        _socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>The bound address, kept after <see cref="Dispose"/> (status still reports it while draining).</summary>
    public IPEndPoint LocalEndPoint { get; }

    public static Listener Bind(IPEndPoint endPoint, int backlog = 4096)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            // No ReuseAddress: on Linux .NET maps it to SO_REUSEPORT as well, and a second agent would then
            // share the port silently instead of failing. Listening sockets get SO_REUSEADDR by default on Unix.
            socket.Bind(endPoint);
            socket.Listen(backlog);
            return new Listener(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Accepts until <see cref="Dispose"/>; the handler owns each channel it is given.</summary>
    public async Task AcceptLoopAsync(Func<SocketChannel, Task> handler)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.Interrupted })
            {
                return; // stopped
            }
            catch (SocketException)
            {
                continue; // e.g. ECONNABORTED for a connection reset before accept: keep serving
            }

            _ = handler(SocketChannel.FromAccepted(accepted));
        }
    }

    public void Dispose() => _socket.Dispose();
}
