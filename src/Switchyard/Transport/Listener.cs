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

    /// <summary>Every failed accept, by error (a metric); called on the accept loop.</summary>
    public Action<SocketError>? AcceptFailed { get; set; }

    /// <summary>A failing accept loop, at most once per <see cref="AcceptBackoff.ReportInterval"/>: the error, the failures since the last report, the wait now.</summary>
    public Action<SocketError, long, TimeSpan>? AcceptFailing { get; set; }

    /// <summary>The clock of the accept back-off (tests move it by hand).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Accepts until <see cref="Dispose"/>; the handler owns each channel it is given. Failed accepts: see <see cref="AcceptBackoff"/>.</summary>
    public async Task AcceptLoopAsync(Func<SocketChannel, Task> handler)
    {
        var backoff = new AcceptBackoff();
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
                backoff.OnSuccess();
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.Interrupted })
            {
                return; // stopped
            }
            catch (SocketException e)
            {
                TimeSpan wait = backoff.OnError(e.SocketErrorCode);
                AcceptFailed?.Invoke(e.SocketErrorCode);
                if (wait > TimeSpan.Zero && backoff.ShouldReport(Time.GetTimestamp(), Time, out long count))
                {
                    AcceptFailing?.Invoke(e.SocketErrorCode, count, wait);
                }

                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, Time).ConfigureAwait(false);
                }

                continue;
            }

            _ = handler(SocketChannel.FromAccepted(accepted));
        }
    }

    public void Dispose() => _socket.Dispose();
}
