using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Upstream.Tunnel;

/// <summary>
/// The tunnel listener (tunnel.listen): every connection starts with a <see cref="TunnelHello"/> within
/// <see cref="HelloTimeout"/>; a valid one for a live tunnel intercept (and the admin token, when one is configured)
/// is answered <c>OK</c> and becomes that developer's control connection or an idle data connection; anything
/// else gets <c>ERR reason</c> and is closed.
/// </summary>
/// <param name="token">The admin token in force (read per hello: a config reload may change it).</param>
internal sealed class TunnelServer(IPEndPoint endPoint, Func<string?> token, TunnelRegistry registry, ILogger logger) : IDisposable
{
    public static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(5);

    private Listener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public TunnelRegistry Registry => registry;

    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint;

    /// <summary>Binds tunnel.listen; throws <see cref="System.Net.Sockets.SocketException"/> when it cannot.</summary>
    public void Start()
    {
        _listener = Listener.Bind(endPoint, backlog: 128);
        logger.TunnelListening(Config.Endpoints.Format(_listener.LocalEndPoint));
        _acceptLoop = _listener.AcceptLoopAsync(HandleAsync);
    }

    private async Task HandleAsync(SocketChannel channel)
    {
        string remote = channel.RemoteEndPoint?.ToString() ?? "?";
        TunnelHello? hello;
        string? error;
        try
        {
            (hello, error) = await ReadHelloAsync(channel.Input).ConfigureAwait(false);
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            return;
        }

        string? refusal = hello is null ? error
            : !TunnelHello.TokenMatches(token(), hello.Token) ? "unauthorized: missing or wrong token"
            : !registry.IsTunnelIntercept(hello.InterceptId) ? $"unknown intercept \"{hello.InterceptId}\" (register it through POST /v1/intercepts without a target first)"
            : null;
        if (refusal is not null)
        {
            string reason = hello is null ? (error == "hello timeout" ? "hello_timeout" : "bad_hello") : refusal.StartsWith("unauthorized", StringComparison.Ordinal) ? "unauthorized" : "unknown_intercept";
            registry.Refused.Increment(reason);
            logger.TunnelRefused(remote, refusal);
            await RefuseAsync(channel, refusal).ConfigureAwait(false);
            return;
        }

        try
        {
            channel.Output.Write(TunnelHello.Ok);
            await channel.Output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            return;
        }

        if (hello!.Role == TunnelRole.Data)
        {
            registry.Accepted.Increment("data");
            registry.AddData(hello.InterceptId, channel, remote);
            return;
        }

        await using (channel.ConfigureAwait(false))
        {
            await registry.RunControlAsync(hello.InterceptId, channel, remote).ConfigureAwait(false);
        }
    }

    private static async Task<(TunnelHello? Hello, string? Error)> ReadHelloAsync(PipeReader input)
    {
        using var timeout = new CancellationTokenSource(HelloTimeout);
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (null, "hello timeout");
            }

            ReadOnlySequence<byte> buffer = read.Buffer;
            if (TunnelHello.TryRead(ref buffer, out TunnelHello? hello, out string? error))
            {
                input.AdvanceTo(buffer.Start);
                return (hello, error);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                return (null, "bad hello: closed before the end of the line");
            }
        }
    }

    private static async Task RefuseAsync(SocketChannel channel, string reason)
    {
        try
        {
            channel.Output.Write(TunnelHello.Error(reason));
            await channel.CloseOutputAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
        }
        finally
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _ = _acceptLoop;
    }
}
