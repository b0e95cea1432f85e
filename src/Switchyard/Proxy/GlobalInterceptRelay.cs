using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Proxy;

/// <summary>
/// SPEC "a global intercept (no filter) takes the whole port at transport level": the caller's bytes go to the
/// intercept's target as they are (TLS included, never decrypted) and the target's bytes come back. An unreachable
/// target sends the connection to the app when the intercept fails open, else the connection is closed.
/// </summary>
internal static class GlobalInterceptRelay
{
    public static async Task<ConnectionEndReason> RunAsync(ConnectionContext context, SocketChannel downstream, UpstreamConnector upstreams,
        Routing.InterceptRule intercept, ILogger logger)
    {
        string port = context.Settings.Name;
        Channel? target = null;
        string? failure = null;
        if (intercept.Target is { } address && Config.Endpoints.TryParseHostPort(address, out string host, out int number))
        {
            try
            {
                target = await SocketChannel.ConnectAsync(host, number, UpstreamConnector.ConnectTimeout, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or TimeoutException)
            {
                failure = ErrorText.Describe(e);
            }
        }
        else if (intercept.Target is null && upstreams.Tunnels is { } tunnels)
        {
            // No target: the developer's reverse tunnel carries the caller's bytes as they are (the CLI relays them to --to).
            target = await tunnels.TakeAsync(intercept.Id).ConfigureAwait(false);
            failure = target is null ? "no tunnel connection from the developer" : null;
        }
        else
        {
            failure = "no target address";
        }

        if (target is null)
        {
            if (!intercept.FailOpen)
            {
                context.Detail = $"global intercept \"{intercept.Id}\" unavailable: {failure}";
                return ConnectionEndReason.InterceptUnavailable;
            }

            context.Port.Metrics.FailOpen.Increment(intercept.Id);
            logger.InterceptFailedOpen(context.Id, port, intercept.Id, intercept.Target ?? "-", failure ?? "?");
            return await OpaqueProcessor.RelayToAppAsync(context, downstream, upstreams, firstByte: null).ConfigureAwait(false);
        }

        context.Port.Metrics.GlobalConnections.Increment(intercept.Id);
        await using (target.ConfigureAwait(false))
        {
            context.Upstream = target;
            return await Relay.RunAsync(context, downstream, target, firstByte: null).ConfigureAwait(false);
        }
    }
}
