using System.IO.Pipelines;
using System.Net.Security;

namespace Switchyard.Transport;

/// <summary>
/// The decrypted side of a TLS connection as pipes: SslStream over the <see cref="Channel.AsStream"/> of the channel
/// underneath (a TCP connection, or a reverse tunnel connection).
/// </summary>
public sealed class TlsChannel(SslStream ssl, Channel transport) : Channel
{
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true, useZeroByteReads: true);
    private static readonly StreamPipeWriterOptions WriterOptions = new(minimumBufferSize: 16 * 1024, leaveOpen: true);

    private readonly PipeReader _input = PipeReader.Create(ssl, ReaderOptions);
    private readonly PipeWriter _output = PipeWriter.Create(ssl, WriterOptions);

    public SslStream Ssl { get; } = ssl;

    public Channel Transport { get; } = transport;

    public override bool IsSecure => true;

    public override AlpnProtocol NegotiatedProtocol => AlpnProtocols.From(Ssl.NegotiatedApplicationProtocol);

    public override PipeReader Input => _input;

    public override PipeWriter Output => _output;

    public override async ValueTask CloseOutputAsync()
    {
        await _output.FlushAsync().ConfigureAwait(false);
        await _output.CompleteAsync().ConfigureAwait(false);
        await Ssl.ShutdownAsync().ConfigureAwait(false); // close_notify
        await Ssl.FlushAsync().ConfigureAwait(false);
        await Transport.CloseOutputAsync().ConfigureAwait(false); // then FIN
    }

    public override void Abort() => Transport.Abort();

    /// <summary>No decrypted bytes buffered and nothing (a close_notify, a FIN) arrived on the socket.</summary>
    public override bool IsIdleAndOpen()
    {
        if (_input.TryRead(out ReadResult result))
        {
            bool empty = result.Buffer.IsEmpty && !result.IsCompleted;
            _input.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
            if (!empty)
            {
                return false;
            }
        }

        return Transport.IsIdleAndOpen();
    }

    /// <summary>
    /// Never throws, and always closes the socket. Completing the output writes what is still buffered, and after a
    /// failed flush (the peer reset the connection) that is the very bytes that failed: the pipe writer keeps a
    /// segment whose write threw, so completing it throws again. Thrown out of here, that skipped the socket's close
    /// and the caller's record of the end (a connection left in CLOSE-WAIT, never logged as ended).
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        try
        {
            await _input.CompleteAsync().ConfigureAwait(false);
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or NotSupportedException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // The peer is gone: nothing more can be sent, the socket is closed below all the same.
        }
        finally
        {
            try
            {
                await Ssl.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                await Transport.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
