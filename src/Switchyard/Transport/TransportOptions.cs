using System.IO.Pipelines;

namespace Switchyard.Transport;

/// <summary>
/// Threading model and pipe settings of every socket. The proxy works like an event loop (nginx, HAProxy):
/// socket completions run on the socket engine's epoll threads (one per core) and every pipe continuation
/// runs inline, so one request crosses no thread pool queue. With the thread pool in between, each request
/// cost ~1.8 context switches and ~58 µs of CPU (perf/RESULTS.md); inline, ~0.01 and ~40 µs. Everything that
/// runs on these threads is non-blocking: no sync-over-async, no blocking I/O on the request path.
/// </summary>
internal static class TransportOptions
{
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Asks the runtime to run socket completions on its epoll threads instead of queuing them to the thread
    /// pool. Must run before the first socket is created (the runtime reads the switch once). An explicit
    /// setting in the environment wins (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c> turns it off).
    /// </summary>
    public static void UseEventLoopThreads()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }
    }

    /// <summary>
    /// Bytes read from a socket: a slow consumer pauses the socket reads after 1 MiB, so memory per connection
    /// stays bounded whatever the peers do (backpressure instead of buffering).
    /// </summary>
    public static readonly PipeOptions Receive = new(
        pool: System.Buffers.MemoryPool<byte>.Shared,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
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
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 1,
        resumeWriterThreshold: 1,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);
}
