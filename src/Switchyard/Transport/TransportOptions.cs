using System.IO.Pipelines;

namespace Switchyard.Transport;

internal static class TransportOptions
{
    /// <summary>
    /// Bytes read from a socket: a slow consumer pauses the socket reads after 1 MiB, so memory per connection
    /// stays bounded whatever the peers do (backpressure instead of buffering).
    /// </summary>
    public static readonly PipeOptions Receive = new(
        pool: System.Buffers.MemoryPool<byte>.Shared,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);

    /// <summary>
    /// Bytes to send: a flush completes only once the socket has taken every byte (thresholds of one byte).
    /// That makes "flushed" mean "handed to the kernel", so a graceful close (flush, complete, close) never
    /// drops a response still queued in the pipe, and a writer never runs ahead of its socket.
    /// </summary>
    public static readonly PipeOptions Send = new(
        pool: System.Buffers.MemoryPool<byte>.Shared,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: 1,
        resumeWriterThreshold: 1,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);
}
