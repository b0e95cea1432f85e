using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Proxy;

/// <summary>
/// The seam between the transport (TCP, TLS) and the protocol layer. It receives the caller's side, already
/// decrypted on the terminate path, and the connector that opens destinations. This slice has one
/// implementation, <see cref="OpaqueProcessor"/>; the HTTP/1 and HTTP/2 codecs plug in here and open a
/// destination per request or stream through the same connector.
/// </summary>
internal interface IConnectionProcessor
{
    Task<ConnectionEndReason> ProcessAsync(ConnectionContext context, Channel downstream, UpstreamConnector upstreams);
}

/// <summary>Forwards the (decrypted) bytes as they are to the app, re-encrypted when the app speaks TLS.</summary>
internal sealed class OpaqueProcessor : IConnectionProcessor
{
    public static readonly OpaqueProcessor Instance = new();

    public async Task<ConnectionEndReason> ProcessAsync(ConnectionContext context, Channel downstream, UpstreamConnector upstreams)
    {
        // Dial the app once the caller has sent something (as HTTP proxies do, and as the HTTP codecs will per
        // request): an idle caller then costs one TLS session, not two. Only client-speaks-first protocols are
        // terminated (HTTP), so nothing waits on the app here.
        System.IO.Pipelines.ReadResult first = await downstream.Input.ReadAsync().ConfigureAwait(false);
        downstream.Input.AdvanceTo(first.Buffer.Start, first.Buffer.Start);
        if (first.Buffer.IsEmpty && first.IsCompleted)
        {
            return ConnectionEndReason.Completed;
        }

        return await RelayToAppAsync(context, downstream, upstreams, firstByte: null).ConfigureAwait(false);
    }

    /// <summary>How a connection ends when its app could not be reached.</summary>
    internal static ConnectionEndReason EndReasonOf(ConnectFailure failure) =>
        failure == ConnectFailure.TlsFailed ? ConnectionEndReason.UpstreamTlsFailed : ConnectionEndReason.AppUnreachable;

    /// <summary>Dials the app for this caller and relays both ways until the connection ends (raw and opaque paths).</summary>
    internal static async Task<ConnectionEndReason> RelayToAppAsync(ConnectionContext context, Channel downstream, UpstreamConnector upstreams, Action<ConnectionContext, byte>? firstByte)
    {
        ConnectResult app = await upstreams.ConnectAppAsync(context.Caller).ConfigureAwait(false);
        if (app.Channel is not { } upstream)
        {
            context.Detail = app.Reason;
            return EndReasonOf(app.Failure);
        }

        await using (upstream.ConfigureAwait(false))
        {
            context.Upstream = upstream;
            return await Relay.RunAsync(context, downstream, upstream, firstByte).ConfigureAwait(false);
        }
    }
}
