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
        Interlocked.Exchange(ref _draining, 1);
        Volatile.Read(ref _awaitingRequest)?.CancelPendingRead();
    }

    public long BytesIn => Volatile.Read(ref _bytesIn);

    public long BytesOut => Volatile.Read(ref _bytesOut);

    public void Start(long id, PortRuntime port)
    {
        Id = id;
        Port = port;
        Settings = port.Settings;
        StartedAt = Stopwatch.GetTimestamp();
    }

    public void AddIn(long n)
    {
        Interlocked.Add(ref _bytesIn, n);
        Port.Metrics.AddBytes(n, 0);
    }

    public void AddOut(long n)
    {
        Interlocked.Add(ref _bytesOut, n);
        Port.Metrics.AddBytes(0, n);
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
        return true;
    }
}
