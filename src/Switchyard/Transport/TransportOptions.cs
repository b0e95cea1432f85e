using System.IO.Pipelines;

namespace Switchyard.Transport;

internal static class TransportOptions
{
    /// <summary>
    /// Per-direction pipe bound: a slow reader pauses the other side after 1 MiB, so memory per connection
    /// stays bounded whatever the peers do (backpressure instead of buffering).
    /// </summary>
    public static readonly PipeOptions Pipe = new(
        pool: System.Buffers.MemoryPool<byte>.Shared,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);
}
