using System.Buffers;
using System.IO.Pipelines;

namespace Switchyard.Http1;

/// <summary>Sees every body byte as it passes (counting, wiretap copies).</summary>
internal interface IBodyObserver
{
    void OnData(in ReadOnlySequence<byte> data);
}

/// <summary>Moves one message body from a reader to a writer (or nowhere), streamed, never buffered whole.</summary>
internal static class Http1Bodies
{
    /// <summary>
    /// Copies a body of the given framing. Content-Length bodies are copied as they are; chunked bodies are decoded
    /// and re-encoded chunk by chunk (trailers kept); until-close bodies run to the end of the input.
    /// <paramref name="output"/> null discards the body. <paramref name="dechunk"/> writes a chunked body's data
    /// without the chunked coding (for an HTTP/1.0 recipient, which gets it close-delimited: RFC 9112 §6.1).
    /// <paramref name="held"/>: the body was held for body filters, its first read is <see cref="Transport.HeldReads.ReadAsync"/>.
    /// </summary>
    public static async ValueTask CopyAsync(PipeReader input, PipeWriter? output, BodyKind kind, long length, ChunkedDecoder chunked, IBodyObserver? observer,
        bool dechunk = false, bool held = false)
    {
        switch (kind)
        {
            case BodyKind.ContentLength:
                if (length == 0)
                {
                    await FlushAsync(output).ConfigureAwait(false); // the head written before us goes out now
                    break;
                }

                long remaining = length;
                while (remaining > 0)
                {
                    ReadResult read = await Transport.HeldReads.ReadAsync(input, held).ConfigureAwait(false);
                    held = false;
                    ReadOnlySequence<byte> take = read.Buffer.Slice(0, Math.Min(remaining, read.Buffer.Length));
                    Emit(output, observer, take);
                    remaining -= take.Length;
                    input.AdvanceTo(take.End);
                    await FlushAsync(output).ConfigureAwait(false);
                    if (remaining > 0 && read.IsCompleted)
                    {
                        throw new IOException($"the body ended {remaining} bytes early");
                    }
                }

                break;

            case BodyKind.Chunked:
                chunked.Reset();
                while (true)
                {
                    ReadResult read = await Transport.HeldReads.ReadAsync(input, held).ConfigureAwait(false);
                    held = false;
                    ReadOnlySequence<byte> buffer = read.Buffer;
                    ChunkedReadStatus status;
                    try
                    {
                        while ((status = chunked.Read(ref buffer, out ReadOnlySequence<byte> data)) == ChunkedReadStatus.Data)
                        {
                            if (dechunk)
                            {
                                Emit(output, observer, data);
                                continue;
                            }

                            observer?.OnData(data);
                            if (output is not null)
                            {
                                ChunkedEncoder.WriteChunk(output, data);
                            }
                        }

                        if (status == ChunkedReadStatus.Completed && output is not null && !dechunk)
                        {
                            ChunkedEncoder.WriteLastChunk(output, chunked.Trailers);
                        }
                    }
                    finally
                    {
                        input.AdvanceTo(buffer.Start, buffer.End);
                    }

                    await FlushAsync(output).ConfigureAwait(false);
                    if (status == ChunkedReadStatus.Completed)
                    {
                        break;
                    }

                    if (read.IsCompleted)
                    {
                        throw new IOException("the chunked body ended before its last chunk");
                    }
                }

                break;

            case BodyKind.UntilClose:
                while (true)
                {
                    ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                    Emit(output, observer, read.Buffer);
                    input.AdvanceTo(read.Buffer.End);
                    await FlushAsync(output).ConfigureAwait(false);
                    if (read.IsCompleted)
                    {
                        break;
                    }
                }

                break;
        }
    }

    private static void Emit(PipeWriter? output, IBodyObserver? observer, in ReadOnlySequence<byte> data)
    {
        observer?.OnData(data);
        if (output is null)
        {
            return;
        }

        foreach (ReadOnlyMemory<byte> segment in data)
        {
            output.Write(segment.Span);
        }
    }

    private static ValueTask<FlushResult> FlushAsync(PipeWriter? output) => output?.FlushAsync() ?? default;
}
