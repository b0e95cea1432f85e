using System.Buffers;
using System.IO.Pipelines;
using Switchyard.Http2.FlowControl;

namespace Switchyard.Http2;

/// <summary>The stream was reset (RST_STREAM either way) or its connection ended before the stream did.</summary>
internal sealed class Http2StreamResetException(Http2ErrorCode code, string message, bool retryable = false) : IOException(message)
{
    public Http2ErrorCode Code { get; } = code;

    /// <summary>The peer never processed the stream (GOAWAY below it, REFUSED_STREAM): it may be sent again elsewhere.</summary>
    public bool Retryable { get; } = retryable;
}

/// <summary>
/// One HTTP/2 stream of an <see cref="Http2Connection"/>, either role. Inbound header blocks (request or response,
/// informational, trailers) arrive in order through <see cref="ReadHeadersAsync"/>, inbound DATA through
/// <see cref="Data"/>; the consumer reports what it has forwarded with <see cref="ConsumedAsync"/>, and only then
/// does the peer's window re-open (backpressure end to end, memory bounded by the window we advertise).
/// Outbound frames go through the connection (<see cref="Http2Connection.SendHeadersAsync"/>, SendDataAsync).
/// </summary>
internal sealed class Http2Stream
{
    private static readonly PipeOptions InboundOptions = new(
        pool: System.Buffers.MemoryPool<byte>.Shared,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0, // bounded by flow control, not by the pipe: the read loop never waits here
        minimumSegmentSize: 4096,
        useSynchronizationContext: false);

    private readonly Pipe _inbound = new(InboundOptions);
    private readonly System.Threading.Channels.Channel<Http2HeaderList> _headerBlocks =
        System.Threading.Channels.Channel.CreateUnbounded<Http2HeaderList>(new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly CancellationTokenSource _aborted = new();

    internal Http2Stream(Http2Connection connection, int id, long sendWindow, int receiveWindow)
    {
        Connection = connection;
        Id = id;
        SendWindow = new OutboundWindow(sendWindow);
        ReceiveWindow = new InboundWindow(receiveWindow, receiveWindow);
    }

    public int Id { get; }

    public Http2Connection Connection { get; }

    /// <summary>Inbound DATA; completes at END_STREAM, fails with <see cref="Http2StreamResetException"/> on reset.</summary>
    public PipeReader Data => _inbound.Reader;

    /// <summary>
    /// Server role: the request's DATA were held for body filters (RequestBodyBuffer); the next
    /// <see cref="ReadDataAsync"/> takes the bytes already in <see cref="Data"/> at once.
    /// </summary>
    internal bool DataHeld;

    /// <summary>The next read of <see cref="Data"/>; after a hold (<see cref="DataHeld"/>), <see cref="Transport.HeldReads.ReadAsync"/>.</summary>
    public ValueTask<ReadResult> ReadDataAsync()
    {
        bool held = DataHeld;
        DataHeld = false;
        return Transport.HeldReads.ReadAsync(_inbound.Reader, held);
    }

    /// <summary>Cancelled when the stream is reset or its connection ends.</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>Set when the stream was reset (by either side) or its connection failed.</summary>
    public Http2StreamResetException? ResetError { get; private set; }

    // State, flow control and message accounting: guarded by the connection's lock.
    internal Http2StreamStateMachine State;
    internal OutboundWindow SendWindow;
    internal InboundWindow ReceiveWindow;

    /// <summary>Client role: what the peer's first header block must be (a response head until a final status arrived).</summary>
    internal Http2InboundPhase Phase;

    /// <summary>Client role: the request was HEAD, so the response carries no content whatever its content-length says.</summary>
    internal bool RequestIsHead;

    /// <summary>DATA octets the message announced (content-length, or 0 for a response without content); -1 when not known.</summary>
    internal long ExpectedDataLength = -1;

    internal long DataReceived;
    internal long DataConsumed;

    /// <summary>
    /// What keeps the stream's concurrency slot taken: its frames (until the stream is closed) and, for a stream
    /// handed to the proxy, its exchange with the destination (until <see cref="EndExchange"/>). The slot is free when
    /// both are done, so a stream we reset still counts while its request runs at the app.
    /// </summary>
    internal int SlotHolds;

    internal bool ExchangeHeld;

    /// <summary>When a byte last moved on the stream either way (timestamp of the connection's clock): its idle timeout counts from here.</summary>
    internal long LastActivity;

    /// <summary>The peer's direction has ended (END_STREAM or a reset): no more DATA or HEADERS will come.</summary>
    public bool RemoteEnded
    {
        get { lock (Connection.Sync) { return State.RemoteEnded; } }
    }

    /// <summary>
    /// Server role: the proxy's work for this stream (routing, the destination's exchange, wiretap copies) has ended.
    /// Until then the stream keeps its concurrency slot, even after it was reset (RFC 9113 §5.1.2 counts streams; we
    /// count the work they cause at the app). Idempotent.
    /// </summary>
    public void EndExchange() => Connection.EndExchange(this);

    /// <summary>The next inbound header block (request/response, 1xx, trailers); throws when the stream ended without one.</summary>
    public async ValueTask<Http2HeaderList> ReadHeadersAsync()
    {
        if (await _headerBlocks.Reader.WaitToReadAsync().ConfigureAwait(false) && _headerBlocks.Reader.TryRead(out Http2HeaderList? block))
        {
            return block;
        }

        throw ResetError ?? new Http2StreamResetException(Http2ErrorCode.ProtocolError, "the stream ended without the expected header block");
    }

    /// <summary>A header block that may or may not come (trailers after the data): null when the stream ended without one.</summary>
    public async ValueTask<Http2HeaderList?> ReadTrailersAsync()
    {
        if (await _headerBlocks.Reader.WaitToReadAsync().ConfigureAwait(false) && _headerBlocks.Reader.TryRead(out Http2HeaderList? block))
        {
            return block;
        }

        return ResetError is null ? null : throw ResetError;
    }

    /// <summary>Trailers already received (the data is complete when this is asked): null when there are none.</summary>
    public Http2HeaderList? TryTakeTrailers() => _headerBlocks.Reader.TryRead(out Http2HeaderList? block) ? block : null;

    /// <summary>The consumer forwarded <paramref name="bytes"/> of <see cref="Data"/>: re-open the peer's windows.</summary>
    public ValueTask ConsumedAsync(int bytes) => Connection.ConsumedAsync(this, bytes);

    internal void OnHeaderBlock(Http2HeaderList block) => _headerBlocks.Writer.TryWrite(block);

    internal void OnData(in System.Buffers.ReadOnlySequence<byte> data)
    {
        LastActivity = Connection.Clock.GetTimestamp();
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            _inbound.Writer.Write(segment.Span);
        }

        _ = _inbound.Writer.FlushAsync(); // never pauses (no threshold): completes synchronously
    }

    internal void OnRemoteEnd()
    {
        _headerBlocks.Writer.TryComplete();
        _inbound.Writer.Complete();
    }

    internal void OnReset(Http2StreamResetException error)
    {
        if (ResetError is not null)
        {
            return;
        }

        ResetError = error;
        try
        {
            _aborted.Cancel(); // first: whoever the failed reads below wake sees the stream aborted
        }
        catch (AggregateException)
        {
            // a registration threw; the stream is reset either way
        }

        _headerBlocks.Writer.TryComplete(error);
        _inbound.Writer.Complete(error);
    }
}

/// <summary>Client role: which header block the response is at.</summary>
internal enum Http2InboundPhase : byte
{
    /// <summary>Waiting for the response head; 1xx informational blocks keep it here (RFC 9113 §8.1).</summary>
    Head,

    /// <summary>The final head arrived: DATA, then maybe trailers.</summary>
    Body,
}
