using System.Buffers;

namespace Switchyard.Upstream;

/// <summary>
/// The body of one wiretap copy on its way to one tap, streamed: the caller's path appends what passes
/// (<see cref="Write"/>, never waits), the tap's sender moves it to the tap's connection as the tap takes it
/// (<see cref="MoveToAsync"/>). What waits here is taken from its tap's <see cref="WiretapBuffer"/>: a write that
/// does not fit means the tap reads slower than its callers send, and the copy is dropped (<c>tap_too_slow</c>,
/// counted once) and its tap request aborted; the caller's bytes are untouched.
/// </summary>
internal sealed class WiretapBody
{
    private enum State : byte { Open, Ended, Gone }

    /// <summary>Stands for "appended, nobody waiting" (completed already: waking it does nothing).</summary>
    private static readonly TaskCompletionSource NoWaiter = CompletedSource();

    private readonly Lock _gate = new();
    private readonly List<(byte[] Array, int Length)> _pending = [];
    private readonly WiretapBuffer _buffer;
    private readonly Action<string>? _dropped;
    private int _buffered;
    private State _state;
    private TaskCompletionSource? _waiter;
    private Action? _abort;
    private CancellationTokenSource? _deadline;
    private TimeSpan _answerTimeout;

    /// <param name="contentLength">The caller's announced length (the copy goes with Content-Length), or -1: chunked.</param>
    /// <param name="buffer">The tap's buffer, shared by all its copies in flight (<see cref="Wiretaps.TapBuffer"/>).</param>
    /// <param name="dropped">Counts a drop by reason (once per copy).</param>
    public WiretapBody(long contentLength, WiretapBuffer buffer, Action<string>? dropped)
    {
        ContentLength = contentLength;
        _buffer = buffer;
        _dropped = dropped;
    }

    /// <summary>A whole body known up front (tests, and copies of bodies that already ended).</summary>
    public static WiretapBody Complete(ReadOnlySpan<byte> body)
    {
        var whole = new WiretapBody(body.Length, new WiretapBuffer(Math.Max(body.Length, 1)), dropped: null);
        whole.Write(new ReadOnlySequence<byte>(body.ToArray()));
        whole.End();
        return whole;
    }

    /// <summary>The length the copy's head announces, or -1 when the body goes chunked.</summary>
    public long ContentLength { get; }

    /// <summary>Body bytes the caller's path handed over so far.</summary>
    public long Received { get; private set; }

    /// <summary>Body bytes waiting for the tap's sender.</summary>
    public int Buffered
    {
        get
        {
            lock (_gate)
            {
                return _buffered;
            }
        }
    }

    /// <summary>The copy was dropped or abandoned: nothing more goes to the tap.</summary>
    public bool IsGone
    {
        get
        {
            lock (_gate)
            {
                return _state == State.Gone;
            }
        }
    }

    /// <summary>Why the copy was dropped by its caller's side (tap_too_slow, request_failed), or null.</summary>
    public string? DropReason { get; private set; }

    /// <summary>Appends the next body bytes (the caller's path: copies them, never waits).</summary>
    public void Write(in ReadOnlySequence<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_state != State.Open)
            {
                return;
            }

            Received += data.Length;
            if (data.Length > int.MaxValue || !_buffer.TryReserve((int)data.Length))
            {
                wake = null;
            }
            else
            {
                Append(data);
                _buffered += (int)data.Length;
                wake = _waiter ?? NoWaiter;
                _waiter = null;
            }
        }

        if (wake is null)
        {
            Drop("tap_too_slow"); // the tap fell behind by a whole buffer
            return;
        }

        wake.TrySetResult();
    }

    /// <summary>The caller's body ended in full: the copy ends too (the tap's answer timeout starts now).</summary>
    public void End()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_state != State.Open)
            {
                return;
            }

            _state = State.Ended;
            wake = _waiter;
            _waiter = null;
            _deadline?.CancelAfter(_answerTimeout);
        }

        wake?.TrySetResult();
    }

    /// <summary>Drops the copy (counted with this reason) and aborts its tap request if one is under way.</summary>
    public void Drop(string reason)
    {
        Action? abort;
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_state != State.Open)
            {
                return; // already gone, or the caller's body is whole: what is left to send is the sender's business
            }

            _state = State.Gone;
            DropReason = reason;
            ReleasePending();
            abort = _abort;
            _abort = null;
            wake = _waiter;
            _waiter = null;
        }

        _dropped?.Invoke(reason);
        wake?.TrySetResult();
        if (abort is not null)
        {
            // Tearing the tap's connection down is not the caller's work: it happens off the caller's path.
            ThreadPool.UnsafeQueueUserWorkItem(static a => a(), abort, preferLocal: false);
        }
    }

    /// <summary>
    /// The sender starts this copy on a connection: <paramref name="abort"/> tears it down if the copy is dropped,
    /// and <paramref name="deadline"/> is cancelled <paramref name="answerTimeout"/> after the body ended.
    /// False when the copy was dropped before it started.
    /// </summary>
    public bool Attach(Action abort, CancellationTokenSource deadline, TimeSpan answerTimeout)
    {
        lock (_gate)
        {
            if (_state == State.Gone)
            {
                return false;
            }

            _abort = abort;
            _deadline = deadline;
            _answerTimeout = answerTimeout;
            if (_state == State.Ended)
            {
                deadline.CancelAfter(answerTimeout);
            }

            return true;
        }
    }

    /// <summary>The sender is done with this copy (sent, failed or dropped): nothing more is buffered for it.</summary>
    public void Detach()
    {
        lock (_gate)
        {
            _abort = null;
            _deadline = null;
            if (_state != State.Gone)
            {
                _state = State.Gone;
                ReleasePending();
            }
        }
    }

    /// <summary>
    /// Waits for body bytes and writes what is buffered to <paramref name="output"/> (as one chunk when chunked).
    /// True once the whole body was written (with the last chunk when chunked); throws when the copy was dropped.
    /// </summary>
    public async ValueTask<bool> MoveToAsync(IBufferWriter<byte> output)
    {
        while (true)
        {
            Task wait;
            (byte[] Array, int Length)[]? taken = null;
            bool ended;
            lock (_gate)
            {
                if (_state == State.Gone)
                {
                    throw new WiretapDroppedException(DropReason ?? "abandoned");
                }

                ended = _state == State.Ended;
                if (_pending.Count > 0)
                {
                    taken = [.. _pending];
                    _pending.Clear();
                    _buffer.Release(_buffered);
                    _buffered = 0;
                    wait = Task.CompletedTask;
                }
                else if (ended)
                {
                    wait = Task.CompletedTask;
                }
                else
                {
                    _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _waiter.Task;
                }
            }

            if (taken is not null)
            {
                Emit(output, taken, ContentLength < 0);
            }

            if (ended)
            {
                if (ContentLength < 0)
                {
                    output.Write("0\r\n\r\n"u8);
                }

                return true;
            }

            if (taken is not null)
            {
                return false;
            }

            await wait.ConfigureAwait(false);
        }
    }

    private static TaskCompletionSource CompletedSource()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    private static void Emit(IBufferWriter<byte> output, (byte[] Array, int Length)[] taken, bool chunked)
    {
        if (chunked)
        {
            long size = 0;
            foreach ((byte[] _, int length) in taken)
            {
                size += length;
            }

            Span<byte> header = output.GetSpan(20);
            size.TryFormat(header, out int digits, "x", provider: null);
            header[digits] = (byte)'\r';
            header[digits + 1] = (byte)'\n';
            output.Advance(digits + 2);
        }

        foreach ((byte[] array, int length) in taken)
        {
            output.Write(array.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(array);
        }

        if (chunked)
        {
            output.Write("\r\n"u8);
        }
    }

    private void Append(in ReadOnlySequence<byte> data)
    {
        ReadOnlySequence<byte> rest = data;
        if (_pending.Count > 0)
        {
            // Fill the last array first: many small writes make few arrays.
            (byte[] array, int length) = _pending[^1];
            int room = array.Length - length;
            if (room > 0)
            {
                int n = (int)Math.Min(room, rest.Length);
                rest.Slice(0, n).CopyTo(array.AsSpan(length));
                rest = rest.Slice(n);
                _pending[^1] = (array, length + n);
            }
        }

        while (!rest.IsEmpty)
        {
            byte[] array = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(rest.Length, 4 * 1024, 256 * 1024));
            int n = (int)Math.Min(array.Length, rest.Length);
            rest.Slice(0, n).CopyTo(array);
            rest = rest.Slice(n);
            _pending.Add((array, n));
        }
    }

    private void ReleasePending()
    {
        foreach ((byte[] array, int _) in _pending)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _pending.Clear();
        _buffer.Release(_buffered);
        _buffered = 0;
    }
}

/// <summary>
/// The bytes one tap's copies may hold while they wait for it, all copies in flight together: what a tap that
/// falls behind can cost in memory, whatever the number of copies queued for it.
/// </summary>
internal sealed class WiretapBuffer(int capacity)
{
    private int _used;

    public int Capacity { get; } = capacity;

    /// <summary>Bytes held now.</summary>
    public int Used => Volatile.Read(ref _used);

    /// <summary>Takes <paramref name="bytes"/> when they fit; false (nothing taken) when the tap is that far behind.</summary>
    public bool TryReserve(int bytes)
    {
        while (true)
        {
            int used = Volatile.Read(ref _used);
            if (bytes > Capacity - used)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return true;
            }
        }
    }

    public void Release(int bytes) => Interlocked.Add(ref _used, -bytes);
}

/// <summary>The copy being sent was dropped (its caller's side gave up on it, or the tap fell behind).</summary>
internal sealed class WiretapDroppedException(string reason) : Exception("the wiretap copy was dropped: " + reason)
{
    public string Reason { get; } = reason;
}
