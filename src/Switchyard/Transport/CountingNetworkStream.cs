using System.Net.Sockets;

namespace Switchyard.Transport;

/// <summary>
/// The socket as a stream under SslStream, counting the bytes that cross it (TLS records included), so a decrypted
/// connection's end line reports what went over the wire, as a relayed one does. Plain per-connection counters:
/// one SslStream reads and writes it, reads and writes never overlap with themselves, and the count is read after both end.
/// </summary>
internal sealed class CountingNetworkStream(Socket socket) : NetworkStream(socket, ownsSocket: false)
{
    private long _read;
    private long _written;

    public long BytesRead => Volatile.Read(ref _read);

    public long BytesWritten => Volatile.Read(ref _written);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ValueTask<int> read = base.ReadAsync(buffer, cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            int n = read.Result;
            _read += n;
            return new ValueTask<int>(n);
        }

        return Counted(read);
    }

    public override int Read(Span<byte> buffer)
    {
        int n = base.Read(buffer);
        _read += n;
        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _written += buffer.Length;
        return base.WriteAsync(buffer, cancellationToken);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _written += buffer.Length;
        base.Write(buffer);
    }

    private async ValueTask<int> Counted(ValueTask<int> read)
    {
        int n = await read.ConfigureAwait(false);
        _read += n;
        return n;
    }
}
