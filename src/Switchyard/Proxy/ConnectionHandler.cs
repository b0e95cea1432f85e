using System.Diagnostics;
using System.Net.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using Switchyard.Config;
using Switchyard.Detection;
using Switchyard.Diagnostics;
using Switchyard.Tls;
using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Proxy;

/// <summary>
/// Takes each accepted connection through the layers: decide raw or terminate, TLS handshake with the caller,
/// then hand the (decrypted) channel to the processor, and record why the connection ended.
/// </summary>
/// <param name="destinations">
/// Chooses and opens destinations for both HTTP processors, with the pools they share: idle keep-alive HTTP/1
/// connections (the HTTP/1 path and HTTP/2 streams translated to HTTP/1.1) and HTTP/2 connections (HTTP/2 streams and
/// HTTP/1 requests to h2c-only destinations).
/// </param>
internal sealed class ConnectionHandler(ConnectionTracker tracker, Routing.RouteTableHolder routes, Upstream.Wiretaps wiretaps,
    DestinationOpener destinations, ILogger logger, TimeProvider? clock = null)
{
    /// <summary>Connections the agent may hold over all ports (<see cref="ConnectionBudget"/>); null: no bound.</summary>
    public int? MaxAgentConnections { get; init; }

    private const byte TlsHandshakeRecord = 0x16; // RFC 8446 §5.1 ContentType handshake(22): every ClientHello starts so

    private static readonly ObjectPool<ConnectionContext> Contexts =
        new DefaultObjectPoolProvider { MaximumRetained = 1024 }.Create(new DefaultPooledObjectPolicy<ConnectionContext>());

    private readonly UpstreamConnector _upstreams = destinations.Upstreams;
    private readonly Http1Processor _http1 = new(routes, wiretaps, destinations);
    private readonly Http2Processor _http2 = new(routes, wiretaps, destinations, logger);
    private Action<ConnectionContext, byte>? _checkRawFirstByte;

    public async Task HandleAsync(PortRuntime port, SocketChannel downstream)
    {
        ConnectionContext context = Contexts.Get();
        context.Start(tracker.NextId(), port, clock);
        context.Remote = downstream.RemoteEndPoint?.ToString() ?? "?";
        context.Downstream = downstream;
        tracker.Add(context);
        port.Metrics.Accepted();
        try
        {
            Config.PortLimits limits = context.Settings.Limits;
            if (limits.MaxConnections is int max && port.Metrics.Active > max)
            {
                context.Detail = $"the port has {max} connections open (maxConnections)";
                context.Reason = ConnectionEndReason.MaxConnections;
                return;
            }

            if (MaxAgentConnections is int budget && tracker.Count > budget)
            {
                context.Detail = $"the agent holds {budget} connections, all its memory limit allows";
                context.Reason = ConnectionEndReason.MemoryLimit;
                return;
            }

            WriteStall.Apply(downstream.Socket, limits.WriteStallTimeout);
            context.Reason = await RouteAsync(context, port, downstream).ConfigureAwait(false);
        }
        catch (Exception e) when (Relay.IsConnectionError(e))
        {
            context.Reason = context.Reason == ConnectionEndReason.DrainTimeout ? ConnectionEndReason.DrainTimeout
                : WriteStall.Ended(e) ? ConnectionEndReason.WriteStall : ConnectionEndReason.DownstreamReset;
            context.Detail ??= ErrorText.Describe(e);
        }
        catch (Exception e)
        {
            context.Reason = ConnectionEndReason.Error;
            context.Detail = ErrorText.Describe(e); // the stack trace goes to the log line below
            logger.ConnectionFailed(e, context.Id, context.Settings.Name);
        }
        finally
        {
            await CloseDownstreamAsync(context, downstream).ConfigureAwait(false);
            context.RequestDone();
            if (context.Expired is { } expired)
            {
                context.Reason = expired; // a limit ended it: that is why, whatever error the abort caused
            }
            else if (context.Reason == ConnectionEndReason.WriteStall || EndedByWriteStall(context))
            {
                context.Reason = ConnectionEndReason.WriteStall;
                port.Metrics.Timeouts.Increment(ConnectionEndReason.WriteStall.Name());
            }

            string reason = context.Reason.Name();
            port.Metrics.Closed(reason);
            // Bytes on the caller's wire, heads and TLS records included (the context counts only the bodies an HTTP
            // processor forwarded; for a relay both agree).
            logger.ConnectionEnded(context.Id, context.Settings.Name, reason, (long)Stopwatch.GetElapsedTime(context.StartedAt).TotalMilliseconds,
                Math.Max(context.BytesIn, downstream.WireBytesRead), Math.Max(context.BytesOut, downstream.WireBytesWritten),
                context.Detail is null ? string.Empty : $": {context.Detail}");
            tracker.Remove(context);
            Contexts.Return(context);
        }
    }

    /// <summary>
    /// Whether the kernel's TCP_USER_TIMEOUT (<c>writeStallTimeout</c>) ended the connection: it failed while bytes
    /// were on their way and none had moved for that long (the error itself may read "timed out", or "broken pipe"
    /// when another read or write met the abort first).
    /// </summary>
    internal static bool EndedByWriteStall(ConnectionContext context)
    {
        if (context.Reason is not (ConnectionEndReason.DownstreamReset or ConnectionEndReason.UpstreamReset or ConnectionEndReason.Error))
        {
            return false;
        }

        if (WriteStall.Ended(context.Detail) || context.Downstream is SocketChannel { EndedByTimeout: true } || context.Upstream is SocketChannel { EndedByTimeout: true })
        {
            return true;
        }

        TimeSpan quiet = context.Clock.GetElapsedTime(context.LastActivity);
        return context.PhaseAndSince.Phase is ConnectionPhase.Exchange or ConnectionPhase.Unbounded
            && context.BytesOut + context.BytesIn > 0
            && quiet >= context.Settings.Limits.WriteStallTimeout - Heartbeat.Interval;
    }

    /// <summary>
    /// Closes the caller's connection, the TLS layer first, then the socket whatever that layer threw: a teardown
    /// failure must neither keep the socket open nor skip the record of the end (metrics, "ended" log, tracker), or
    /// the connection stays in CLOSE-WAIT and the next drain waits for it.
    /// </summary>
    private async ValueTask CloseDownstreamAsync(ConnectionContext context, SocketChannel downstream)
    {
        try
        {
            if (context.Downstream is { } layered && layered != downstream)
            {
                await layered.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            if (!Relay.IsConnectionError(e))
            {
                logger.ConnectionFailed(e, context.Id, context.Settings.Name);
            }
        }
        finally
        {
            await downstream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<ConnectionEndReason> RouteAsync(ConnectionContext context, PortRuntime port, SocketChannel downstream)
    {
        PortSettings settings = context.Settings;
        PortDetector detector = port.Detector;
        PortProtocol protocol = detector.Protocol;

        // inspect auto decrypts only while an HTTP-filtered intercept or wiretap is active on the port (read per
        // connection, so an intercept added later applies to the next connection); never never decrypts.
        // A port known not to carry HTTP (appProtocol tcp, http none) has nothing to inspect.
        Routing.PortRoutes portRoutes = routes.Snapshot.ForPort(settings.Name);
        if (portRoutes.GlobalIntercept is { } global)
        {
            // A global intercept takes the whole port at transport level, whatever inspect says: nothing is decrypted.
            port.Metrics.Opened(terminate: false);
            logger.ConnectionOpened(context.Id, context.Remote, settings.Name, "global");
            return await GlobalInterceptRelay.RunAsync(context, downstream, _upstreams, global, logger).ConfigureAwait(false);
        }

        bool filtered = portRoutes.HasFilteredRules;
        bool terminate = (settings.Inspect == InspectMode.Always || (settings.Inspect == InspectMode.Auto && filtered)) && protocol.Http != HttpDetection.None;

        if (protocol.NeedsProbe && protocol.Http != HttpDetection.None)
        {
            Task probe = detector.EnsureDetected(CancellationToken.None);
            if (terminate)
            {
                // The terminate path needs to know whether the app speaks TLS; the probe is bounded by probeTimeout.
                await probe.ConfigureAwait(false);
                protocol = detector.Protocol;
            }
        }

        if (terminate && protocol.Tls == TlsDetection.Tls && settings.DownstreamTls is null)
        {
            if (port.FirstCannotTerminate())
            {
                logger.CannotTerminate(settings.Name, "always");
            }

            terminate = false;
        }

        if (terminate && protocol.Tls == TlsDetection.Unknown)
        {
            // Probe failed (app down or silent): let the caller's first byte decide. A TLS caller cannot be
            // decrypted without downstreamTls (else the port would be known as TLS), so it goes raw.
            int first = await PeekAsync(downstream, context.Settings.Limits.TlsHandshakeTimeout).ConfigureAwait(false);
            terminate = first != TlsHandshakeRecord;
        }

        port.Metrics.Opened(terminate);
        context.Terminated = terminate;
        logger.ConnectionOpened(context.Id, context.Remote, settings.Name, terminate ? "terminate" : "raw");
        if (!terminate)
        {
            return await RawAsync(context, downstream).ConfigureAwait(false);
        }

        if (protocol.Tls == TlsDetection.Tls)
        {
            return await TerminateTlsAsync(context, port, downstream, filtered).ConfigureAwait(false);
        }

        int firstByte = await PeekAsync(downstream, context.Settings.Limits.TlsHandshakeTimeout).ConfigureAwait(false);
        if (firstByte == TlsHandshakeRecord)
        {
            context.Detail = "a TLS ClientHello arrived on a plaintext port";
            Mismatch(context, "tls_on_plaintext_port", context.Detail);
            return ConnectionEndReason.TlsOnPlaintextPort;
        }

        if (firstByte == -1)
        {
            return ConnectionEndReason.Completed;
        }

        // h2c prior knowledge (RFC 9113 3.3) is served by the HTTP/2 codec, everything else is parsed as HTTP/1.
        context.SetPhase(ConnectionPhase.Idle); // until its first request: idleTimeout
        IConnectionProcessor plain = await ChooseByFirstBytesAsync(context.Port, downstream).ConfigureAwait(false);
        return await plain.ProcessAsync(context, downstream, _upstreams).ConfigureAwait(false);
    }

    /// <summary>Raw path: no waiting for the caller (server-speaks-first protocols work); the first byte is only observed.</summary>
    private Task<ConnectionEndReason> RawAsync(ConnectionContext context, SocketChannel downstream)
    {
        bool known = context.Port.Detector.Protocol.Tls != TlsDetection.Unknown;
        return OpaqueProcessor.RelayToAppAsync(context, downstream, _upstreams, known ? _checkRawFirstByte ??= CheckRawFirstByte : null);
    }

    /// <summary>
    /// Raw path: bytes are not held back to look at them, but the first one still tells a TLS caller on a
    /// plaintext port (or the reverse). The connection goes on (the app answers as it would); the mismatch is
    /// logged and counted so that a misconfigured caller or port shows up.
    /// </summary>
    private void CheckRawFirstByte(ConnectionContext context, byte first)
    {
        TlsDetection tls = context.Port.Detector.Protocol.Tls;
        if (tls == TlsDetection.Plaintext && first == TlsHandshakeRecord)
        {
            Mismatch(context, "tls_on_plaintext_port", "a TLS ClientHello arrived on a plaintext port");
        }
        else if (tls == TlsDetection.Tls && first != TlsHandshakeRecord)
        {
            Mismatch(context, "not_tls_on_tls_port", "the caller did not start with a TLS handshake on a TLS port");
        }
    }

    private void Mismatch(ConnectionContext context, string reason, string detail)
    {
        context.Port.Metrics.ProtocolMismatches.Increment(reason);
        logger.ProtocolMismatch(context.Id, context.Settings.Name, detail);
    }

    /// <param name="filtered">Whether filtered intercepts were active on the port when the connection arrived.</param>
    private async Task<ConnectionEndReason> TerminateTlsAsync(ConnectionContext context, PortRuntime port, SocketChannel downstream, bool filtered)
    {
        PortSettings settings = context.Settings;
        // The ClientHello as far as it has arrived: its first byte says TLS or not, its supported_versions whether
        // the caller can share the port's TLS 1.3 context (TlsOptions.Server).
        byte[] hello = System.Buffers.ArrayPool<byte>.Shared.Rent(ClientHello.MaxPeek);
        int first;
        bool offersTls13;
        try
        {
            int peeked = await PeekAsync(downstream, hello.AsMemory(0, ClientHello.MaxPeek), settings.Limits.TlsHandshakeTimeout).ConfigureAwait(false);
            first = peeked > 0 ? hello[0] : peeked;
            offersTls13 = peeked > 0 && ClientHello.OffersTls13(hello.AsSpan(0, peeked));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(hello);
        }

        if (first == -1)
        {
            return ConnectionEndReason.Completed; // closed before sending anything (a port check)
        }

        if (first == NothingArrived)
        {
            context.Detail = $"no ClientHello within {settings.Limits.TlsHandshakeTimeout.TotalSeconds:0} s";
            port.Metrics.DownstreamTlsFailures.Increment("timeout");
            port.Metrics.Timeouts.Increment(ConnectionEndReason.TlsHandshakeTimeout.Name());
            logger.DownstreamHandshakeFailed(context.Id, settings.Name, "timeout", context.Detail);
            return ConnectionEndReason.TlsHandshakeTimeout;
        }

        if (first != TlsHandshakeRecord)
        {
            context.Detail = "the caller did not start with a TLS handshake on a TLS port";
            port.Metrics.DownstreamTlsFailures.Increment("not_tls");
            port.Metrics.ProtocolMismatches.Increment("not_tls_on_tls_port");
            logger.DownstreamHandshakeFailed(context.Id, settings.Name, "not_tls", context.Detail);
            return ConnectionEndReason.NotTlsOnTlsPort;
        }

        var verdict = new HandshakeVerdict();
        var ssl = new SslStream(downstream.AsStream(), leaveInnerStreamOpen: true);
        var channel = new TlsChannel(ssl, downstream);
        context.Downstream = channel;
        try
        {
            using var timeout = new CancellationTokenSource(settings.Limits.TlsHandshakeTimeout, clock ?? TimeProvider.System);
            // h2 (when the port's alpn lists it) is served by the HTTP/2 codec: per-stream routing, and translation
            // to HTTP/1.1 for destinations without h2.
            await ssl.AuthenticateAsServerAsync(TlsOptions.Server(settings.DownstreamTls!, verdict, offersTls13), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (ConnectionErrors.IsHandshakeFailure(e))
        {
            bool timedOut = verdict.Reason is null && e is OperationCanceledException;
            string reason = verdict.Reason ?? (timedOut ? "timeout" : "handshake_failed");
            context.Detail = timedOut ? $"the TLS handshake did not finish within {settings.Limits.TlsHandshakeTimeout.TotalSeconds:0} s" : verdict.Detail ?? UpstreamConnector.Innermost(e);
            port.Metrics.DownstreamTlsFailures.Increment(reason);
            logger.DownstreamHandshakeFailed(context.Id, settings.Name, reason, context.Detail);
            if (timedOut)
            {
                port.Metrics.Timeouts.Increment(ConnectionEndReason.TlsHandshakeTimeout.Name());
                return ConnectionEndReason.TlsHandshakeTimeout;
            }

            return ConnectionEndReason.DownstreamTlsFailed;
        }

        await SslStreamIdle.ReturnHandshakeBufferAsync(ssl).ConfigureAwait(false); // an idle caller holds no SslStream buffer
        context.DownstreamIsTls = true;
        context.Sni = string.IsNullOrEmpty(ssl.TargetHostName) ? null : ssl.TargetHostName;
        context.Alpn = ssl.NegotiatedApplicationProtocol;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.DownstreamHandshakeDone(context.Id, settings.Name, ssl.SslProtocol.ToString(), context.Alpn.ToString(), context.Sni ?? "-");
        }

        // ALPN decides; without ALPN the caller's first bytes do (h2 preface or HTTP/1) on a port that carries HTTP or
        // has routes; anything else is forwarded opaquely.
        IConnectionProcessor processor;
        context.SetPhase(ConnectionPhase.Idle); // handshake done; until its first request: idleTimeout
        if (context.Alpn == SslApplicationProtocol.Http2)
        {
            processor = _http2;
        }
        else if (context.Alpn == SslApplicationProtocol.Http11)
        {
            processor = _http1;
        }
        else if (port.Detector.Protocol.Http != HttpDetection.Unknown || filtered)
        {
            processor = await ChooseByFirstBytesAsync(port, channel).ConfigureAwait(false);
        }
        else
        {
            processor = OpaqueProcessor.Instance;
            context.SetPhase(ConnectionPhase.Unbounded); // bytes we do not parse: no request to time
        }

        return await processor.ProcessAsync(context, channel, _upstreams).ConfigureAwait(false);
    }

    /// <summary>
    /// The codec for a caller without ALPN. A port declared HTTP/2 only (<c>http: http2</c>, <c>appProtocol</c> h2c, grpc,
    /// http2) takes HTTP/2 and nothing else: its callers must start with the preface, and "Clients and servers MUST
    /// treat an invalid connection preface as a connection error (Section 5.4.1) of type PROTOCOL_ERROR" (RFC 9113
    /// §3.4) — GOAWAY, not an HTTP/1.1 400. Other ports (<c>http: auto</c>, even when the probe found an h2c-only app)
    /// look at the first bytes and keep taking HTTP/1.1, translated when the app speaks HTTP/2 only.
    /// </summary>
    private async ValueTask<IConnectionProcessor> ChooseByFirstBytesAsync(PortRuntime port, Channel channel)
    {
        PortProtocol protocol = port.Detector.Protocol;
        bool declaredHttp2Only = protocol.Http == HttpDetection.Http2 && protocol.HttpSource is DetectionSource.Config or DetectionSource.AppProtocol;
        return declaredHttp2Only || await StartsWithH2PrefaceAsync(channel).ConfigureAwait(false) ? _http2 : _http1;
    }

    /// <summary>
    /// Without ALPN the caller's first decrypted bytes tell HTTP/2 prior knowledge (RFC 9113 §3.3 preface) from
    /// HTTP/1; nothing is consumed.
    /// </summary>
    private static async ValueTask<bool> StartsWithH2PrefaceAsync(Channel channel)
    {
        while (true)
        {
            System.IO.Pipelines.ReadResult read = await channel.Input.ReadAsync().ConfigureAwait(false);
            System.Buffers.ReadOnlySequence<byte> buffer = read.Buffer;
            int n = (int)Math.Min(buffer.Length, PrefaceStartLength);
            bool matches = IsPrefixOfPreface(buffer.Slice(0, n));
            bool decided = n == PrefaceStartLength || read.IsCompleted || !matches;
            channel.Input.AdvanceTo(buffer.Start, decided ? buffer.Start : buffer.End);
            if (decided)
            {
                return matches && n == PrefaceStartLength;
            }
        }
    }

    private const int PrefaceStartLength = 16; // "PRI * HTTP/2.0\r\n"

    private static bool IsPrefixOfPreface(in System.Buffers.ReadOnlySequence<byte> head)
    {
        Span<byte> bytes = stackalloc byte[PrefaceStartLength];
        System.Buffers.BuffersExtensions.CopyTo(head, bytes);
        return "PRI * HTTP/2.0\r\n"u8.StartsWith(bytes[..(int)head.Length]);
    }

    private const int NothingArrived = -2;

    /// <summary>
    /// How many bytes have arrived (at least one), copied into <paramref name="into"/> and left unread; -1 when the caller
    /// closed first, <see cref="NothingArrived"/> when it stayed silent.
    /// </summary>
    private async Task<int> PeekAsync(SocketChannel downstream, Memory<byte> into, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit, clock ?? TimeProvider.System);
        try
        {
            return await downstream.PeekAsync(into, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return NothingArrived;
        }
    }

    /// <summary>The caller's first byte, -1 when it closed first, <see cref="NothingArrived"/> when it stayed silent.</summary>
    private async Task<int> PeekAsync(SocketChannel downstream, TimeSpan limit)
    {
        byte[] first = new byte[1];
        int peeked = await PeekAsync(downstream, first, limit).ConfigureAwait(false);
        return peeked > 0 ? first[0] : peeked;
    }
}
