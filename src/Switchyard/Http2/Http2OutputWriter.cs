using System.Buffers;
using System.IO.Pipelines;
using Switchyard.Http2.Hpack;
using Switchyard.Transport;

namespace Switchyard.Http2;

/// <summary>
/// The one owner of a connection's output (model: Kestrel's Http2FrameWriter): the write lock that keeps frames
/// whole and in order, the HPACK encoder (whose dynamic table must see header blocks in wire order), the queue of
/// control frames the read loop owes the peer (SETTINGS ACK, PING ACK, WINDOW_UPDATE, RST_STREAM), and write
/// coalescing, so that a burst of frames costs one TLS record and one send.
/// <para>
/// Coalescing: a writer that sees another writer waiting leaves the flush to it; a writer running inside a read
/// batch (streams run inline on the read loop that decoded their frames) leaves it to the end of that batch, where
/// <see cref="FlushBatchAsync"/> flushes every connection the batch wrote to once.
/// </para>
/// </summary>
internal sealed class Http2OutputWriter(Channel channel)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly HpackEncoder _encoder = new();
    private readonly ArrayBufferWriter<byte> _headerScratch = new(1024);
    private readonly ArrayBufferWriter<byte> _control = new(256); // guarded by lock (_control)
    private readonly List<Http2OutputWriter> _batch = [];
    private int _queuedWriters;
    private int _peerTableSize = -1; // guarded by lock (_control); -1: unchanged since the last header block

    /// <summary>The writers written to during the read batch running on this thread (null outside a batch).</summary>
    [ThreadStatic]
    private static List<Http2OutputWriter>? t_batch;

    /// <summary>The output itself; write to it only between <see cref="EnterAsync"/> and <see cref="Exit"/>.</summary>
    public PipeWriter Output => channel.Output;

    // ------------------------------------------------------------ control frames (any thread, no await)

    public void QueueRstStream(int streamId, Http2ErrorCode code)
    {
        lock (_control)
        {
            Http2FrameWriter.WriteRstStream(_control, streamId, code);
        }
    }

    public void QueueWindowUpdate(int streamId, int increment)
    {
        lock (_control)
        {
            Http2FrameWriter.WriteWindowUpdate(_control, streamId, increment);
        }
    }

    public void QueueSettingsAck()
    {
        lock (_control)
        {
            Http2FrameWriter.WriteSettingsAck(_control);
        }
    }

    public void QueuePingAck(ulong opaque)
    {
        lock (_control)
        {
            Http2FrameWriter.WritePing(_control, ack: true, opaque);
        }
    }

    public bool HasControlFrames
    {
        get { lock (_control) { return _control.WrittenCount > 0; } }
    }

    /// <summary>The peer's SETTINGS_HEADER_TABLE_SIZE changed: the next header block starts with a table size update.</summary>
    public void SetPeerHeaderTableSize(int size)
    {
        lock (_control)
        {
            _peerTableSize = size;
        }
    }

    /// <summary>Writes the queued control frames (if any) under the lock.</summary>
    public ValueTask FlushControlAsync()
    {
        byte[] bytes;
        lock (_control)
        {
            if (_control.WrittenCount == 0)
            {
                return ValueTask.CompletedTask;
            }

            bytes = _control.WrittenSpan.ToArray();
            _control.ResetWrittenCount();
        }

        return WriteAsync(bytes, static (b, output) => output.Write(b));
    }

    // ------------------------------------------------------------ frames under the lock

    /// <summary>Takes the output; counted while waiting so the writer before can leave the flush to the last one.</summary>
    public async ValueTask EnterAsync()
    {
        Interlocked.Increment(ref _queuedWriters);
        try
        {
            await _lock.WaitAsync().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _queuedWriters);
        }
    }

    public void Exit() => _lock.Release();

    /// <summary>Encodes a header block (between Enter and Exit: the encoder's table follows the wire order) and frames it.</summary>
    /// <param name="scheme">When not empty, replaces the value of <c>:scheme</c> (a request we send carries our transport's).</param>
    public void WriteHeaders(int streamId, Http2HeaderList headers, bool endStream, int maxFrameSize, ReadOnlySpan<byte> scheme)
    {
        lock (_control)
        {
            if (_peerTableSize >= 0)
            {
                _encoder.SetPeerMaxTableSize(_peerTableSize);
                _peerTableSize = -1;
            }
        }

        _headerScratch.ResetWrittenCount();
        _encoder.BeginHeaderBlock(_headerScratch);
        for (int i = 0; i < headers.Count; i++)
        {
            ReadOnlySpan<byte> name = headers.Name(i);
            ReadOnlySpan<byte> value = !scheme.IsEmpty && name.SequenceEqual(":scheme"u8) ? scheme : headers.Value(i);
            _encoder.EncodeHeader(name, value, headers.Indexing(i), _headerScratch);
        }

        Http2FrameWriter.WriteHeaders(channel.Output, streamId, _headerScratch.WrittenSpan, endStream, maxFrameSize);
    }

    /// <summary>
    /// Ends a write made under the lock: flushes unless another writer waits (its flush carries our frames) or a
    /// read batch on this thread will flush at its end; the last writer always flushes.
    /// </summary>
    public ValueTask FlushUnlessQueuedAsync()
    {
        if (Volatile.Read(ref _queuedWriters) > 0)
        {
            return ValueTask.CompletedTask;
        }

        if (t_batch is { } batch)
        {
            if (!batch.Contains(this))
            {
                batch.Add(this);
            }

            return ValueTask.CompletedTask;
        }

        ValueTask<FlushResult> flush = channel.Output.FlushAsync();
        if (flush.IsCompleted)
        {
            flush.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }

        return new ValueTask(flush.AsTask());
    }

    /// <summary>One write under the lock, then <see cref="FlushUnlessQueuedAsync"/>.</summary>
    public async ValueTask WriteAsync<TState>(TState state, Action<TState, PipeWriter> write)
    {
        await EnterAsync().ConfigureAwait(false);
        try
        {
            write(state, channel.Output);
            await FlushUnlessQueuedAsync().ConfigureAwait(false);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Ends the output (TLS close_notify, then FIN) under the lock, so that no writer is half-way through its frames
    /// while the pipe and the TLS stream are completed (neither is safe for that); later writers fail with
    /// InvalidOperationException, which they take as the connection being gone.
    /// </summary>
    public async ValueTask CloseAsync()
    {
        await EnterAsync().ConfigureAwait(false);
        try
        {
            await channel.CloseOutputAsync().ConfigureAwait(false);
        }
        finally
        {
            Exit();
        }
    }

    // ------------------------------------------------------------ read batches

    /// <summary>Starts a read batch on this thread: writes to any connection are flushed by <see cref="FlushBatchAsync"/>.</summary>
    /// <returns>The batch that was running on this thread before (a nested read loop), for <see cref="EndBatch"/>.</returns>
    public List<Http2OutputWriter>? BeginBatch()
    {
        List<Http2OutputWriter>? outer = t_batch;
        t_batch = _batch;
        return outer;
    }

    public static void EndBatch(List<Http2OutputWriter>? outer) => t_batch = outer;

    /// <summary>End of a read batch: one flush for every connection the batch wrote to.</summary>
    public async ValueTask FlushBatchAsync()
    {
        while (_batch.Count > 0)
        {
            Http2OutputWriter target = _batch[^1];
            _batch.RemoveAt(_batch.Count - 1);
            try
            {
                await target.EnterAsync().ConfigureAwait(false);
                try
                {
                    await target.Output.FlushAsync().ConfigureAwait(false);
                }
                finally
                {
                    target.Exit();
                }
            }
            catch (Exception e) when (ConnectionErrors.IsExpected(e))
            {
                // That connection is gone; its own read loop reports it.
            }
        }
    }
}
