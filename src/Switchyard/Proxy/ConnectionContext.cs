using System.Diagnostics;
using System.Net.Security;
using Microsoft.Extensions.ObjectPool;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>
/// Per-connection state, pooled (ObjectPool) so that accepting a connection allocates as little as possible.
/// Holds what later layers need to know about the caller (SNI, ALPN, TLS or not) and what the end log reports.
/// </summary>
internal sealed class ConnectionContext : IResettable
{
    private long _bytesIn;
    private long _bytesOut;
    private int _draining;
    private System.IO.Pipelines.PipeReader? _awaitingRequest;
    private long _lastActivity;
    private long _phaseSince;
    private int _phase;
    private int _expired = -1;
    private string? _requestRoute;
    private long _requestStarted;

    public long Id { get; private set; }

    public PortRuntime Port { get; private set; } = null!;

    /// <summary>The port's settings when the connection was accepted: a config reload applies to new connections only.</summary>
    public Config.PortSettings Settings { get; private set; } = null!;

    /// <summary>
    /// The app address and the generation of the upstream client certificate: part of the upstream pool key, so
    /// that after a config reload or a certificate rotation new requests open new upstream connections (idle pooled
    /// ones made with the old settings are not reused and idle out).
    /// </summary>
    public string AppIdentity => $"{Settings.App}|{Settings.UpstreamTls?.ClientCertificate?.Generation}";

    public long StartedAt { get; private set; }

    public string Remote { get; set; } = string.Empty;

    public bool Terminated { get; set; }

    public bool DownstreamIsTls { get; set; }

    public string? Sni { get; set; }

    public SslApplicationProtocol Alpn { get; set; }

    /// <summary>What a destination is dialed for, as a value (taken per request or stream).</summary>
    public Upstream.Caller Caller => new(Id, Settings, Port.Metrics, Terminated, DownstreamIsTls, Sni, Alpn);

    public ConnectionEndReason Reason { get; set; }

    /// <summary>
    /// Why the connection ended, for the end log line. Written once by whoever decides the end (the handler or the
    /// processor), never used to pass a reason between layers: HTTP/2 streams share the context.
    /// </summary>
    public string? Detail { get; set; }

    public Channel? Downstream { get; set; }

    public Channel? Upstream { get; set; }

    /// <summary>The caller's HTTP/2 connection while one is served (a drain sends it GOAWAY).</summary>
    internal Http2.Http2Connection? Http2 { get; set; }

    /// <summary>The agent drains: an HTTP/1 connection takes no further request (its current one ends with Connection: close).</summary>
    public bool Draining => Volatile.Read(ref _draining) != 0;

    /// <summary>
    /// An HTTP/1 connection is (about to be) waiting for its next request head; returns false when a drain has begun,
    /// in which case the connection must end now. A drain that begins while it waits wakes the read (see <see cref="BeginDrain"/>).
    /// </summary>
    public bool AwaitRequest(System.IO.Pipelines.PipeReader input)
    {
        Interlocked.Exchange(ref _awaitingRequest, input);
        return !Draining;
    }

    /// <summary>The request head arrived (or the connection ends): a drain no longer wakes the read.</summary>
    public void RequestArrived() => Interlocked.Exchange(ref _awaitingRequest, null);

    /// <summary>Drain: a connection waiting for its next HTTP/1 request is woken and ends; one mid-request ends after it.</summary>
    public void BeginDrain()
    {
        MarkDraining();
        Volatile.Read(ref _awaitingRequest)?.CancelPendingRead();
    }

    /// <summary>The drain's first step: from now on this connection's responses say Connection: close.</summary>
    public void MarkDraining() => Interlocked.Exchange(ref _draining, 1);

    /// <summary>The clock of the connection's timeouts (the agent's; tests move it by hand).</summary>
    public TimeProvider Clock { get; private set; } = TimeProvider.System;

    /// <summary>What the connection waits for and since when (<see cref="Heartbeat"/> reads it).</summary>
    public (ConnectionPhase Phase, long Since) PhaseAndSince => ((ConnectionPhase)Volatile.Read(ref _phase), Volatile.Read(ref _phaseSince));

    /// <summary>When a byte last moved either way (request or response body, HTTP/2 DATA), on <see cref="Clock"/>.</summary>
    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>The limit that ended the connection (set by the heartbeat), or null.</summary>
    public ConnectionEndReason? Expired => Volatile.Read(ref _expired) is int e and >= 0 ? (ConnectionEndReason)e : null;

    /// <summary>Enters a phase: its timeout counts from now.</summary>
    public void SetPhase(ConnectionPhase phase)
    {
        long now = Clock.GetTimestamp();
        Volatile.Write(ref _phaseSince, now);
        Volatile.Write(ref _lastActivity, now);
        Volatile.Write(ref _phase, (int)phase);
    }

    /// <summary>The heartbeat found a limit passed: it becomes the end reason, whatever the processor returns.</summary>
    public void Expire(ConnectionEndReason reason)
    {
        if (Interlocked.CompareExchange(ref _expired, (int)reason, -1) == -1)
        {
            Port.Metrics.Timeouts.Increment(reason.Name());
        }
    }

    /// <summary>
    /// An HTTP/1 request was routed to <paramref name="route"/> ("app" or an intercept id): counted now, timed until
    /// <see cref="RequestDone"/> (the next request's start, or the connection's end: the response was relayed by then).
    /// HTTP/2 streams overlap on one connection and are timed by the stream (Http2Processor), not here.
    /// </summary>
    public void RequestRouted(string route)
    {
        RequestDone();
        Port.Metrics.Requests.Increment(route);
        _requestRoute = route;
        _requestStarted = Stopwatch.GetTimestamp();
    }

    /// <summary>Ends the HTTP/1 request timed since <see cref="RequestRouted"/>, if one is.</summary>
    public void RequestDone()
    {
        if (_requestRoute is { } route)
        {
            Port.Metrics.RequestDurations.Observe(route, Stopwatch.GetTimestamp() - _requestStarted);
            _requestRoute = null;
        }
    }

    public long BytesIn => Volatile.Read(ref _bytesIn);

    public long BytesOut => Volatile.Read(ref _bytesOut);

    public void Start(long id, PortRuntime port, TimeProvider? clock = null)
    {
        Id = id;
        Port = port;
        Settings = port.Settings;
        StartedAt = Stopwatch.GetTimestamp();
        Clock = clock ?? TimeProvider.System;
        SetPhase(ConnectionPhase.Unbounded);
    }

    public void AddIn(long n)
    {
        Interlocked.Add(ref _bytesIn, n);
        Port.Metrics.AddBytes(n, 0);
        Volatile.Write(ref _lastActivity, Clock.GetTimestamp());
    }

    public void AddOut(long n)
    {
        Interlocked.Add(ref _bytesOut, n);
        Port.Metrics.AddBytes(0, n);
        Volatile.Write(ref _lastActivity, Clock.GetTimestamp());
    }

    /// <summary>Aborts both sides (drain timeout): pending reads and writes fail and the relay ends.</summary>
    public void Abort()
    {
        Downstream?.Abort();
        Upstream?.Abort();
    }

    public bool TryReset()
    {
        Id = 0;
        Port = null!;
        Settings = null!;
        Remote = string.Empty;
        Terminated = false;
        DownstreamIsTls = false;
        Sni = null;
        Alpn = default;
        Reason = ConnectionEndReason.Completed;
        Detail = null;
        Downstream = null;
        Upstream = null;
        Http2 = null;
        _draining = 0;
        _awaitingRequest = null;
        _bytesIn = 0;
        _bytesOut = 0;
        _requestRoute = null;
        _phase = 0;
        _expired = -1;
        Clock = TimeProvider.System;
        return true;
    }
}
