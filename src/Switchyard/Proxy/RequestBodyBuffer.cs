using System.Buffers;
using System.IO.Pipelines;
using Switchyard.Config;
using Switchyard.Diagnostics;
using Switchyard.Http1;
using Switchyard.Routing;

namespace Switchyard.Proxy;

/// <summary>
/// The body of one request, read for body filters (SPEC.md "Body filters") without taking it from the caller's
/// stream: the reader looks at the bytes already received (nothing consumed), so the exchange that follows forwards
/// exactly the bytes the caller sent, framing included, whatever the filters decided. Waits at most
/// <see cref="PortLimits.BodyTimeout"/> for at most <see cref="PortLimits.MaxBodyBytes"/> body bytes; gives up
/// (<see cref="RequestBodyState.TooLarge"/>, <see cref="RequestBodyState.TimedOut"/>) otherwise. The JSON text is a
/// copy in a pooled array, returned by <see cref="Reset"/>.
/// </summary>
internal sealed class RequestBodyBuffer : IDisposable
{
    private static readonly JsonBodyPath Root = JsonBodyPath.Parse("$");
    private static readonly StringMatch Nothing = StringMatch.Exact(string.Empty);

    private byte[]? _rented;
    private int _length;

    public RequestBodyState State { get; private set; }

    public ReadOnlySequence<byte> Body => _rented is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_rented, 0, _length);

    public void Reset()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
            _rented = null;
        }

        _length = 0;
        State = RequestBodyState.Unread;
    }

    public void Dispose() => Reset();

    /// <summary>
    /// HTTP/1: waits until the whole body (Content-Length, or chunked through its last chunk) is in
    /// <paramref name="input"/>, consuming nothing. At <see cref="PortLimits.BodyTimeout"/> a timer wakes the waiting read
    /// (CancelPendingRead: the socket pipes take no cancellation token, and SslStream under a TLS reader resumes a
    /// cancelled read byte-exact), so a caller that stops sending half-way is decided then, not when it sends again.
    /// The exchange that follows must take its first body read with <see cref="Transport.HeldReads.ReadAsync"/>.
    /// </summary>
    public async ValueTask ReadHttp1Async(PipeReader input, Http1RequestHead head, PortLimits limits, TimeProvider clock)
    {
        Reset();
        if (head.BodyKind == BodyKind.None)
        {
            Keep(ReadOnlySequence<byte>.Empty);
            return;
        }

        if (head.BodyKind == BodyKind.ContentLength && head.ContentLength > limits.MaxBodyBytes)
        {
            State = RequestBodyState.TooLarge; // known from the head: nothing is read
            return;
        }

        using var decoder = head.BodyKind == BodyKind.Chunked ? new ChunkedDecoder() : null;
        using var timer = new CancellationTokenSource(limits.BodyTimeout, clock);

        CancellationTokenRegistration wake = timer.Token.Register(static s => ((PipeReader)s!).CancelPendingRead(), input);
        bool sawCancel = false;
        try
        {
            while (true)
            {
                ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                sawCancel |= read.IsCanceled;
                ReadOnlySequence<byte> buffer = read.Buffer;
                bool done = decoder is null ? TryWhole(buffer, head.ContentLength) : TryChunked(buffer, decoder, limits.MaxBodyBytes);
                if (!done && (read.IsCompleted || read.IsCanceled || timer.IsCancellationRequested))
                {
                    State = RequestBodyState.TimedOut; // bodyTimeout (or a drain) woke the read, or the caller closed mid-body
                }

                if (done || State != RequestBodyState.Unread)
                {
                    input.AdvanceTo(buffer.Start); // nothing consumed, nothing examined: the exchange reads the same bytes
                    return;
                }

                input.AdvanceTo(buffer.Start, buffer.End); // wait for more
            }
        }
        finally
        {
            wake.Dispose();
            TakeLateWake(input, timer, sawCancel);
        }
    }

    /// <summary>
    /// HTTP/2: waits for END_STREAM with at most <paramref name="maxBytes"/> DATA octets in the stream's pipe, consuming
    /// nothing (the peer's flow-control window is not re-opened: a body larger than the stream window
    /// <paramref name="window"/> cannot arrive whole and counts as too large). At <paramref name="timeout"/> the timer
    /// wakes the waiting read as on HTTP/1; the exchange's first read of the DATA is <see cref="Http2.Http2Stream.ReadDataAsync"/>.
    /// </summary>
    public async ValueTask ReadHttp2Async(PipeReader data, int maxBytes, int window, TimeSpan timeout, TimeProvider clock)
    {
        Reset();
        using var timer = new CancellationTokenSource(timeout, clock);
        CancellationTokenRegistration wake = timer.Token.Register(static s => ((PipeReader)s!).CancelPendingRead(), data);
        bool sawCancel = false;
        int limit = Math.Min(maxBytes, window);
        try
        {
            while (true)
            {
                ReadResult read = await data.ReadAsync().ConfigureAwait(false);
                sawCancel |= read.IsCanceled;
                ReadOnlySequence<byte> buffer = read.Buffer;
                if (read.IsCompleted && buffer.Length <= maxBytes)
                {
                    Keep(buffer);
                }
                else if (buffer.Length > maxBytes || (buffer.Length >= limit && !read.IsCompleted))
                {
                    State = RequestBodyState.TooLarge;
                }
                else if (read.IsCanceled || timer.IsCancellationRequested)
                {
                    State = RequestBodyState.TimedOut;
                }

                if (State != RequestBodyState.Unread)
                {
                    data.AdvanceTo(buffer.Start); // nothing consumed, nothing examined
                    return;
                }

                data.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            wake.Dispose();
            TakeLateWake(data, timer, sawCancel);
        }
    }

    /// <summary>
    /// The route of <paramref name="request"/> once its body was read (or given up on): the port's rules decide with
    /// this body in view, after the rules that waited for it (<paramref name="pending"/>) are counted.
    /// </summary>
    public RouteDecision Route(PortRoutes port, IRequestView request, List<InterceptRule> pending, PortMetrics metrics)
    {
        var view = new WithBody(request, this);
        Count(metrics, pending, view);
        return port.Route(view);
    }

    /// <summary>
    /// Counts, for every rule that waited for the body, what its body filter found:
    /// <c>switchyard_body_filter_total{port,intercept,result}</c> with result match, no_match, too_large, timeout or not_json.
    /// </summary>
    private void Count(PortMetrics metrics, List<InterceptRule> pending, IRequestView view)
    {
        string? common = State switch
        {
            RequestBodyState.TooLarge => "too_large",
            RequestBodyState.TimedOut => "timeout",
            _ => Root.Match(Body, Nothing) == JsonBodyLookup.NotJson ? "not_json" : null,
        };
        foreach (InterceptRule rule in pending)
        {
            metrics.BodyFilters.Increment(PortMetrics.BodyFilterKey(rule.Id, common ?? (rule.Matches(view) ? "match" : "no_match")));
        }
    }

    /// <summary>
    /// The timer's wake is never left behind for the exchange: one that came after the last read (the wait had ended)
    /// is taken here. Call after disposing the timer's registration, which waits for a wake in progress.
    /// </summary>
    private static void TakeLateWake(PipeReader input, CancellationTokenSource timer, bool sawCancel)
    {
        if (timer.IsCancellationRequested && !sawCancel && input.TryRead(out ReadResult late))
        {
            input.AdvanceTo(late.Buffer.Start);
        }
    }

    private bool TryWhole(ReadOnlySequence<byte> buffer, long contentLength)
    {
        if (buffer.Length < contentLength)
        {
            return false;
        }

        Keep(buffer.Slice(0, contentLength));
        return true;
    }

    private bool TryChunked(ReadOnlySequence<byte> buffer, ChunkedDecoder decoder, int max)
    {
        decoder.Reset();
        byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Min(max, 4096));
        int length = 0;
        try
        {
            ReadOnlySequence<byte> rest = buffer;
            while (true)
            {
                ChunkedReadStatus status;
                try
                {
                    status = decoder.Read(ref rest, out ReadOnlySequence<byte> data);
                    if (status == ChunkedReadStatus.Data)
                    {
                        if (length + data.Length > max)
                        {
                            State = RequestBodyState.TooLarge;
                            return false;
                        }

                        if (length + data.Length > copy.Length)
                        {
                            byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(max, Math.Max(copy.Length * 2L, length + data.Length)));
                            copy.AsSpan(0, length).CopyTo(larger);
                            ArrayPool<byte>.Shared.Return(copy);
                            copy = larger;
                        }

                        data.CopyTo(copy.AsSpan(length));
                        length += (int)data.Length;
                        continue;
                    }
                }
                catch (Http1ParseException)
                {
                    State = RequestBodyState.TooLarge; // malformed framing: not evaluated; the exchange answers 400
                    return false;
                }

                if (status == ChunkedReadStatus.NeedMoreData)
                {
                    // Framing may not outgrow the body it frames by much: a trickle of empty extensions is too large too.
                    if (buffer.Length - rest.Length > (2L * max) + 4096)
                    {
                        State = RequestBodyState.TooLarge;
                    }

                    return false;
                }

                // Completed (the last chunk and the trailers are in): the body is decoded.
                _rented = copy;
                _length = length;
                copy = null!;
                State = RequestBodyState.Buffered;
                return true;
            }
        }
        finally
        {
            if (copy is not null)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }

    private void Keep(ReadOnlySequence<byte> body)
    {
        int length = (int)body.Length;
        _rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        body.CopyTo(_rented);
        _length = length;
        State = RequestBodyState.Buffered;
    }

    /// <summary>A request head as the router sees it, with the body read for body filters.</summary>
    private sealed class WithBody(IRequestView request, RequestBodyBuffer body) : IRequestView
    {
        public string Method => request.Method;

        public string Path => request.Path;

        public RequestBodyState BodyState => body.State;

        public ReadOnlySequence<byte> Body => body.Body;

        public HeaderLookup MatchHeader(string name, StringMatch match) => request.MatchHeader(name, match);
    }
}
