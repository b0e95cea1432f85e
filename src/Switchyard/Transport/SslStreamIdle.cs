using System.Net.Security;

namespace Switchyard.Transport;

/// <summary>The managed half of an idle TLS connection's buffers (the OpenSSL half: <see cref="OpenSslBuffers"/>).</summary>
internal static class SslStreamIdle
{
    /// <summary>
    /// Makes a freshly authenticated SslStream give back the 8 KiB array it rented for the handshake. SslStream keeps
    /// that array until its first read completes, and the first read of a caller that has not sent its request yet
    /// is a zero-byte read that waits: so every connection idle since its handshake held 8 KiB (checked under the JIT
    /// on .NET 10.0.12: <c>_buffer</c> valid after the handshake and during that read, returned after a read ends).
    /// A zero-byte read cancelled while it waits ends in SslStream's cleanup, which returns the array when it holds no
    /// bytes; the stream stays usable. Bytes that arrived meanwhile stay buffered for the next read. Call before any
    /// other read on <paramref name="ssl"/>.
    /// </summary>
    public static async ValueTask ReturnHandshakeBufferAsync(SslStream ssl)
    {
        using var cancel = new CancellationTokenSource();
        ValueTask<int> read = ssl.ReadAsync(Memory<byte>.Empty, cancel.Token);
        if (read.IsCompleted)
        {
            _ = read.Result; // bytes (or the end) are there already: the array is about to be used anyway
            return;
        }

        cancel.Cancel();
        try
        {
            _ = await read.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // what was asked for: the read ended without consuming anything
        }
    }
}
