using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Switchyard.Detection;
using Switchyard.Diagnostics;
using Switchyard.Tls;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>Opens connections to destinations: the app (plain or re-encrypted per upstreamTls).</summary>
internal sealed class UpstreamConnector(ILogger logger)
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A connection to the app for this caller, or null and the reason (already logged and counted).</summary>
    public async Task<(Channel? Channel, ConnectionEndReason Failure)> ConnectAppAsync(ConnectionContext context)
    {
        Config.PortSettings port = context.Port.Settings;
        SocketChannel socket;
        try
        {
            socket = await SocketChannel.ConnectAsync(port.AppHost, port.AppPort, ConnectTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            string reason = e is SocketException s ? $"{s.SocketErrorCode}: {s.Message}" : e.Message;
            logger.AppUnreachable(context.Id, port.Name, port.App, reason);
            context.Detail = reason;
            return (null, ConnectionEndReason.AppUnreachable);
        }

        // Re-encrypt when the caller's bytes were decrypted here (TLS port) - the app expects TLS on its port.
        bool appIsTls = context.Terminated && context.DownstreamIsTls;
        if (!appIsTls)
        {
            return (socket, ConnectionEndReason.Completed);
        }

        var verdict = new HandshakeVerdict();
        string targetHost = port.UpstreamTls?.ServerName ?? context.Sni ?? port.AppHost;
        var ssl = new SslStream(socket.AsStream(), leaveInnerStreamOpen: true);
        try
        {
            using var timeout = new CancellationTokenSource(HandshakeTimeout);
            await ssl.AuthenticateAsClientAsync(TlsOptions.Client(port.UpstreamTls, targetHost, context.Alpn, verdict), timeout.Token).ConfigureAwait(false);
            return (new TlsChannel(ssl, socket), ConnectionEndReason.Completed);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            string reason = verdict.Reason ?? (e is OperationCanceledException ? "timeout" : "handshake_failed");
            string detail = verdict.Detail ?? Innermost(e);
            context.Port.Metrics.UpstreamTlsFailures.Increment(reason);
            logger.UpstreamHandshakeFailed(context.Id, port.Name, port.App, reason, detail);
            context.Detail = detail;
            await ssl.DisposeAsync().ConfigureAwait(false);
            await socket.DisposeAsync().ConfigureAwait(false);
            return (null, ConnectionEndReason.UpstreamTlsFailed);
        }
    }

    internal static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }
}
