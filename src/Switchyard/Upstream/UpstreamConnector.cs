using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Tls;
using Switchyard.Transport;

namespace Switchyard.Upstream;

/// <summary>
/// What a destination is dialed for: the caller's connection as the delivery sees it (its port, whether it was
/// decrypted here, SNI and ALPN to repeat toward the destination). A value: concurrent exchanges of one connection
/// each carry their own.
/// </summary>
/// <param name="Terminated">The caller's bytes were decrypted here (TLS port, terminate path).</param>
/// <param name="Tls">The caller used TLS.</param>
internal readonly record struct Caller(long ConnectionId, Config.PortSettings Port, PortMetrics Metrics, bool Terminated, bool Tls, string? Sni, SslApplicationProtocol Alpn);

/// <summary>Why a connection to a destination could not be opened.</summary>
internal enum ConnectFailure : byte
{
    None,

    /// <summary>TCP connect refused, timed out or not routable; no target address; no tunnel connection.</summary>
    Unreachable,

    /// <summary>The TLS handshake toward the destination failed.</summary>
    TlsFailed,
}

/// <summary>
/// The outcome of one dial: the channel, or the failure and its reason. Returned, never stored on the connection:
/// HTTP/2 streams of one caller dial concurrently and each keeps its own reason.
/// </summary>
internal readonly record struct ConnectResult(Channel? Channel, ConnectFailure Failure, string? Reason)
{
    public static ConnectResult Connected(Channel channel) => new(channel, ConnectFailure.None, null);

    public static ConnectResult Failed(ConnectFailure failure, string reason) => new(null, failure, reason);
}

/// <summary>Opens connections to destinations: the app (plain or re-encrypted per upstreamTls) and intercept targets.</summary>
internal sealed class UpstreamConnector(Func<string, Config.InterceptSettings?> intercepts, ILogger logger, Tunnel.TunnelRegistry? tunnels = null)
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The live settings of an intercept (delivery options), by id.</summary>
    public Func<string, Config.InterceptSettings?> InterceptSettings => intercepts;

    /// <summary>The developers connected through the tunnel (null when tunnel.listen is not set).</summary>
    public Tunnel.TunnelRegistry? Tunnels => tunnels;

    /// <summary>A connection to the app for this caller, or the failure and its reason (already logged and counted).</summary>
    public async Task<ConnectResult> ConnectAppAsync(Caller caller)
    {
        Config.PortSettings port = caller.Port;
        SocketChannel socket;
        try
        {
            socket = await SocketChannel.ConnectAsync(port.AppHost, port.AppPort, ConnectTimeout, CancellationToken.None).ConfigureAwait(false);
            WriteStall.Apply(socket.Socket, port.Limits.WriteStallTimeout); // an app that stops reading loses the connection too
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            string reason = ErrorText.Describe(e);
            logger.AppUnreachable(caller.ConnectionId, port.Name, port.App, reason);
            return ConnectResult.Failed(ConnectFailure.Unreachable, reason);
        }

        // Re-encrypt when the caller's bytes were decrypted here (TLS port) - the app expects TLS on its port.
        bool appIsTls = caller.Terminated && caller.Tls;
        if (!appIsTls)
        {
            return ConnectResult.Connected(socket);
        }

        var verdict = new HandshakeVerdict();
        string targetHost = port.UpstreamTls?.ServerName ?? caller.Sni ?? port.AppHost;
        var ssl = new SslStream(socket.AsStream(), leaveInnerStreamOpen: true);
        try
        {
            using var timeout = new CancellationTokenSource(HandshakeTimeout);
            await ssl.AuthenticateAsClientAsync(TlsOptions.Client(port.UpstreamTls, targetHost, caller.Alpn, verdict), timeout.Token).ConfigureAwait(false);
            return ConnectResult.Connected(new TlsChannel(ssl, socket));
        }
        catch (Exception e) when (ConnectionErrors.IsHandshakeFailure(e))
        {
            string reason = verdict.Reason ?? (e is OperationCanceledException ? "timeout" : "handshake_failed");
            string detail = verdict.Detail ?? Innermost(e);
            caller.Metrics.UpstreamTlsFailures.Increment(reason);
            logger.UpstreamHandshakeFailed(caller.ConnectionId, port.Name, port.App, reason, detail);
            await ssl.DisposeAsync().ConfigureAwait(false);
            await socket.DisposeAsync().ConfigureAwait(false);
            return ConnectResult.Failed(ConnectFailure.TlsFailed, detail);
        }
    }

    /// <summary>
    /// A connection to an intercept's target (the developer): TLS when the caller used TLS, unless the intercept
    /// says delivery.plaintext; the target's certificate is not verified (a developer's local server). Failures are
    /// returned, not logged: the caller decides between failing open and 503.
    /// </summary>
    /// <param name="offerH2">Offer h2 first in ALPN (an HTTP/2 caller's stream); HTTP/1.1 callers offer http/1.1 only.</param>
    public async Task<ConnectResult> ConnectTargetAsync(Caller caller, Routing.InterceptRule intercept, bool offerH2)
    {
        Channel socket;
        string host;
        if (intercept.Target is null)
        {
            // Delivery through the developer tunnel: a reverse connection the developer's CLI relays to its --to.
            host = caller.Sni ?? "localhost";
            if (tunnels is null || await tunnels.TakeAsync(intercept.Id).ConfigureAwait(false) is not { } reverse)
            {
                return ConnectResult.Failed(ConnectFailure.Unreachable, "no developer connected through the tunnel");
            }

            socket = reverse;
        }
        else
        {
            if (!Config.Endpoints.TryParseHostPort(intercept.Target, out host, out int port))
            {
                return ConnectResult.Failed(ConnectFailure.Unreachable, "no target address");
            }

            try
            {
                socket = await SocketChannel.ConnectAsync(host, port, ConnectTimeout, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or TimeoutException)
            {
                return ConnectResult.Failed(ConnectFailure.Unreachable, ErrorText.Describe(e));
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
            return ConnectResult.Connected(await UpgradeAsync(socket, tls: !plaintext && caller.Tls, caller.Sni ?? host, settings?.Tls, alpn).ConfigureAwait(false));
        }
        catch (Exception e) when (ConnectionErrors.IsHandshakeFailure(e))
        {
            return ConnectResult.Failed(ConnectFailure.TlsFailed, $"TLS to the target failed: {Innermost(e)}");
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
        catch (Exception e) when (e is SocketException or TimeoutException || ConnectionErrors.IsHandshakeFailure(e))
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
        catch (Exception e) when (ConnectionErrors.IsHandshakeFailure(e))
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

        var ssl = new SslStream(socket.AsStream(), leaveInnerStreamOpen: true);
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
            return new TlsChannel(ssl, socket);
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

        return ErrorText.Describe(e);
    }
}
