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
internal sealed class UpstreamConnector(Func<string, Config.InterceptSettings?> intercepts, ILogger logger, Upstream.Tunnel.TunnelRegistry? tunnels = null)
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The live settings of an intercept (delivery options), by id.</summary>
    public Func<string, Config.InterceptSettings?> InterceptSettings => intercepts;

    /// <summary>The developers connected through the tunnel (null when tunnel.listen is not set).</summary>
    public Upstream.Tunnel.TunnelRegistry? Tunnels => tunnels;
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A connection to the app for this caller, or null and the reason (already logged and counted).</summary>
    public async Task<(Channel? Channel, ConnectionEndReason Failure)> ConnectAppAsync(ConnectionContext context)
    {
        Config.PortSettings port = context.Settings;
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

    /// <summary>
    /// A connection to an intercept's target (the developer): TLS when the caller used TLS, unless the intercept
    /// says delivery.plaintext; the target's certificate is not verified (a developer's local server). Failures are
    /// returned, not logged: the caller decides between failing open and 503.
    /// </summary>
    public async Task<(Channel? Channel, string? Failure)> ConnectTargetAsync(ConnectionContext context, Routing.InterceptRule intercept, bool offerH2 = false)
    {
        Channel socket;
        string host;
        if (intercept.Target is null)
        {
            // Delivery through the developer tunnel: a reverse connection the developer's CLI relays to its --to.
            host = context.Sni ?? "localhost";
            if (tunnels is null || await tunnels.TakeAsync(intercept.Id).ConfigureAwait(false) is not { } reverse)
            {
                return (null, "no developer connected through the tunnel");
            }

            socket = reverse;
        }
        else
        {
            if (!Config.Endpoints.TryParseHostPort(intercept.Target, out host, out int port))
            {
                return (null, "no target address");
            }

            try
            {
                socket = await SocketChannel.ConnectAsync(host, port, ConnectTimeout, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or TimeoutException)
            {
                return (null, e is SocketException s ? $"{s.SocketErrorCode}: {s.Message}" : e.Message);
            }
        }

        Config.InterceptSettings? settings = intercepts(intercept.Id);
        bool plaintext = settings?.Plaintext ?? false;
        try
        {
            // delivery.http pins the version offered in ALPN; auto offers h2 first to HTTP/2 callers.
            Config.HttpMode mode = settings?.DeliveryHttp ?? Config.HttpMode.Auto;
            SslApplicationProtocol[] alpn = mode switch
            {
                Config.HttpMode.Http1 => [SslApplicationProtocol.Http11],
                Config.HttpMode.Http2 => [SslApplicationProtocol.Http2],
                _ => offerH2 ? [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11] : [SslApplicationProtocol.Http11],
            };
            return (await UpgradeAsync(socket, tls: !plaintext && context.DownstreamIsTls, context.Sni ?? host, settings?.Tls, alpn).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            return (null, $"TLS to the target failed: {Innermost(e)}");
        }
    }

    /// <summary>Dials a developer-side destination (target or wiretap); null when it cannot be reached.</summary>
    public static async Task<Channel?> DialAsync(string host, int port, bool tls, string serverName, Config.DeliveryTlsSettings? delivery)
    {
        try
        {
            SocketChannel socket = await SocketChannel.ConnectAsync(host, port, ConnectTimeout, CancellationToken.None).ConfigureAwait(false);
            return await UpgradeAsync(socket, tls, serverName, delivery).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or TimeoutException or AuthenticationException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>TLS (or not) over a reverse tunnel connection toward a developer-side destination; null when the handshake fails.</summary>
    public static async Task<Channel?> OverTunnelAsync(Channel reverse, bool tls, string serverName, Config.DeliveryTlsSettings? delivery)
    {
        try
        {
            return await UpgradeAsync(reverse, tls, serverName, delivery).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// TLS toward a developer-side destination, offering http/1.1 (and h2 first for HTTP/2 callers): anonymous and not verifying by default; with
    /// delivery trustRoots/serverName/client certificate it presents that certificate and verifies the target
    /// (against those roots, else the system roots). Disposes the socket when the handshake fails.
    /// </summary>
    private static async Task<Channel> UpgradeAsync(Channel socket, bool tls, string serverName, Config.DeliveryTlsSettings? delivery, SslApplicationProtocol[]? alpn = null)
    {
        if (!tls)
        {
            return socket;
        }

        if (socket is not SocketChannel tcp)
        {
            throw new IOException("TLS needs a TCP connection underneath");
        }

        var ssl = new SslStream(tcp.AsStream(), leaveInnerStreamOpen: true);
        try
        {
            using var timeout = new CancellationTokenSource(HandshakeTimeout);
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = delivery?.ServerName ?? serverName,
                ApplicationProtocols = [.. alpn ?? [SslApplicationProtocol.Http11]],
                RemoteCertificateValidationCallback = delivery is null
                    ? static (_, _, _, _) => true
                    : static (_, _, _, errors) => errors == System.Net.Security.SslPolicyErrors.None,
            };
            if (delivery is not null)
            {
                options.CertificateChainPolicy = TlsOptions.ChainPolicy(delivery.TrustRoots);
                options.ClientCertificateContext = delivery.ClientCertificate?.Current.Context;
            }
            await ssl.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
            return new TlsChannel(ssl, tcp);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            await socket.DisposeAsync().ConfigureAwait(false);
            throw;
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
