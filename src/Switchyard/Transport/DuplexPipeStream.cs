using System.Buffers;
using System.IO.Pipelines;

namespace Switchyard.Transport;

/// <summary>
/// A channel's pipes as a Stream, for SslStream (a socket whose pipes were already read, a tunnel connection,
/// any <see cref="Channel"/> by default). Async-only (the proxy never blocks a thread on I/O) and
/// supports zero-byte reads: SslStream issues one while a connection is idle, so an idle TLS connection
/// holds no read buffer until bytes arrive (this is what keeps thousands of idle connections cheap).
/// </summary>
internal sealed class DuplexPipeStream(PipeReader input, PipeWriter output) : Stream
{
    private readonly PipeReader _input = input;
    private readonly PipeWriter _output = output;

    public DuplexPipeStream(IDuplexPipe pipe)
        : this(pipe.Input, pipe.Output)
    {
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ReadResult result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (destination.IsEmpty && !buffer.IsEmpty)
            {
                _input.AdvanceTo(buffer.Start); // zero-byte read: data is ready, nothing consumed
                return 0;
            }

            if (!buffer.IsEmpty)
            {
                int n = (int)Math.Min(buffer.Length, destination.Length);
                buffer.Slice(0, n).CopyTo(destination.Span);
                _input.AdvanceTo(buffer.GetPosition(n));
                return n;
            }

            _input.AdvanceTo(buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return 0;
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        FlushResult result = await _output.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted)
        {
            throw new IOException("the connection was closed by the peer");
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken) => await _output.FlushAsync(cancellationToken).ConfigureAwait(false);

    public override void Flush() => throw new NotSupportedException("synchronous I/O is not used by the proxy");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous I/O is not used by the proxy");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous I/O is not used by the proxy");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
