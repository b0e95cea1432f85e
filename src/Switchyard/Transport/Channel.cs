using System.IO.Pipelines;

namespace Switchyard.Transport;

/// <summary>
/// One side of a proxied connection once transport and TLS are set up: a byte pipe in each direction.
/// This is the seam the codecs sit on: the opaque relay copies Input to the peer's Output; the HTTP codecs
/// parse Input and write frames to Output. Nothing above this layer knows whether TLS is in between.
/// </summary>
public abstract class Channel : IAsyncDisposable
{
    public abstract PipeReader Input { get; }

    public abstract PipeWriter Output { get; }

    /// <summary>
    /// Ends the sending direction (TLS close_notify and/or TCP FIN) after flushing; receiving goes on.
    /// This is how a half-close travels through the proxy.
    /// </summary>
    public abstract ValueTask CloseOutputAsync();

    /// <summary>Tears the connection down at once (TCP RST where possible); pending reads and writes fail.</summary>
    public abstract void Abort();

    public abstract ValueTask DisposeAsync();

    /// <summary>
    /// For a pooled connection between exchanges: true when the peer has neither closed nor sent anything.
    /// Must not be called while a read is pending.
    /// </summary>
    public abstract bool IsIdleAndOpen();
}
