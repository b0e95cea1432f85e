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

    /// <summary>Whether the bytes travel encrypted (TLS) underneath; the codecs use it for the request scheme.</summary>
    public virtual bool IsSecure => false;

    /// <summary>The protocol agreed with the peer by ALPN; <see cref="AlpnProtocol.None"/> for plaintext or no agreement.</summary>
    public virtual AlpnProtocol NegotiatedProtocol => AlpnProtocol.None;

    /// <summary>
    /// The connection as a Stream, for a TLS layer on top of it (SslStream): by default a stream over the pipes.
    /// Use either the stream or the pipes, not both.
    /// </summary>
    public virtual Stream AsStream() => new DuplexPipeStream(Input, Output);

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
