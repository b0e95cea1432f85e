using System.Net.Sockets;
using System.Security.Authentication;

namespace Switchyard.Transport;

/// <summary>
/// The exceptions a connection's I/O throws when the peer or the proxy ends it (reset, closed pipe, disposed socket,
/// cancelled read): expected on a proxy's path and handled by ending the connection or the exchange, never a bug.
/// One definition for every catch clause that means "the connection broke".
/// </summary>
public static class ConnectionErrors
{
    /// <summary>
    /// True for <see cref="IOException"/>, <see cref="SocketException"/>, <see cref="ObjectDisposedException"/>,
    /// <see cref="InvalidOperationException"/> (a completed pipe) and <see cref="OperationCanceledException"/>.
    /// </summary>
    public static bool IsExpected(Exception e) =>
        e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException;

    /// <summary>
    /// True for the ways a TLS handshake fails: refused (<see cref="AuthenticationException"/>), the connection broke
    /// under it (<see cref="IOException"/>) or it ran out of time (<see cref="OperationCanceledException"/>).
    /// </summary>
    public static bool IsHandshakeFailure(Exception e) => e is AuthenticationException or IOException or OperationCanceledException;
}
