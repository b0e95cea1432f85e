using System.Buffers;
using System.IO.Pipelines;
using Switchyard.Http1;
using Switchyard.Http2;

namespace Switchyard.Proxy;

/// <summary>
/// Message bodies between the two HTTP versions, used for requests and responses alike (an HTTP/1.1 caller in front
/// of an h2 destination, an h2 caller in front of an HTTP/1.1 destination).
/// </summary>
internal static class BodyTranslation
{
    /// <summary>
    /// An HTTP/1.1 body sent on an HTTP/2 stream: Content-Length and until-close bodies as DATA frames, chunked bodies
    /// decoded into DATA frames with their trailers as a final HEADERS frame (RFC 9113 §8.1).
    /// </summary>
    /// <param name="chunked">The decoder for a chunked body (reset here); may be null for other kinds.</param>
    /// <param name="isRequest">Counts the bytes as downstream-to-app (a request) or app-to-downstream (a response).</param>
    /// <param name="copier">A wiretap's copy of a request body, fed as the data passes.</param>
    /// <param name="held">The request body was held for body filters: its first read is <see cref="Transport.HeldReads.ReadAsync"/>.</param>
    public static async Task Http1ToHttp2Async(PipeReader input, BodyKind kind, long contentLength, ChunkedDecoder? chunked,
        Http2Connection connection, Http2Stream stream, ConnectionContext context, bool isRequest, WiretapCopier? copier = null, bool held = false)
    {
        string what = isRequest ? "request body" : "body";
        switch (kind)
        {
            case BodyKind.ContentLength:
                long remaining = contentLength;
                while (remaining > 0)
                {
                    ReadResult read = await Transport.HeldReads.ReadAsync(input, held).ConfigureAwait(false);
                    held = false;
                    ReadOnlySequence<byte> take = read.Buffer.Slice(0, Math.Min(remaining, read.Buffer.Length));
                    long taken = take.Length;
                    remaining -= taken;
                    if (remaining > 0 && read.IsCompleted)
                    {
                        input.AdvanceTo(take.End);
                        throw new IOException($"the {what} ended {remaining} bytes early");
                    }

                    try
                    {
                        copier?.OnData(take);
                        await connection.SendDataAsync(stream, take, endStream: remaining == 0).ConfigureAwait(false);
                    }
                    finally
                    {
                        input.AdvanceTo(take.End);
                    }

                    Count(context, isRequest, taken);
                }

                return;

            case BodyKind.Chunked:
                ArgumentNullException.ThrowIfNull(chunked);
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
                            copier?.OnData(data);
                            await connection.SendDataAsync(stream, data, endStream: false).ConfigureAwait(false);
                            Count(context, isRequest, data.Length);
                        }
                    }
                    finally
                    {
                        input.AdvanceTo(buffer.Start, buffer.End);
                    }

                    if (status == ChunkedReadStatus.Completed)
                    {
                        if (chunked.Trailers.Count > 0)
                        {
                            using var trailers = new Http2HeaderList();
                            Http2Translation.AddFields(trailers, chunked.Trailers);
                            await connection.SendHeadersAsync(stream, trailers, endStream: true).ConfigureAwait(false);
                        }
                        else
                        {
                            await connection.SendDataAsync(stream, ReadOnlySequence<byte>.Empty, endStream: true).ConfigureAwait(false);
                        }

                        return;
                    }

                    if (read.IsCompleted)
                    {
                        throw new IOException($"the chunked {what} ended early");
                    }
                }

            default: // until close (responses only)
                while (true)
                {
                    ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                    long length = read.Buffer.Length;
                    try
                    {
                        await connection.SendDataAsync(stream, read.Buffer, endStream: read.IsCompleted).ConfigureAwait(false);
                    }
                    finally
                    {
                        input.AdvanceTo(read.Buffer.End);
                    }

                    Count(context, isRequest, length);
                    if (read.IsCompleted)
                    {
                        return;
                    }
                }
        }
    }

    /// <summary>
    /// An HTTP/2 stream's DATA written as an HTTP/1.1 body: as it comes (Content-Length framing) or as chunks ending
    /// with the stream's trailers; the peer's window re-opens only after each piece was flushed (backpressure).
    /// </summary>
    /// <param name="copier">A wiretap's copy of a request body, fed as the data passes.</param>
    public static async Task Http2ToHttp1Async(Http2Stream stream, PipeWriter output, bool chunked, ConnectionContext context, bool isRequest, WiretapCopier? copier = null)
    {
        PipeReader data = stream.Data;
        bool held = stream.DataHeld;
        while (true)
        {
            ValueTask<ReadResult> next = stream.ReadDataAsync();
            if (held && !next.IsCompleted)
            {
                // A held request whose hold ended at bodyTimeout with no DATA received: the head (written by the caller,
                // not yet flushed) goes to the app now rather than with the first DATA, as on HTTP/1.1.
                await output.FlushAsync().ConfigureAwait(false);
            }

            held = false;
            ReadResult read = await next.ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            long length = buffer.Length;
            if (!buffer.IsEmpty)
            {
                copier?.OnData(buffer);
                if (chunked)
                {
                    ChunkedEncoder.WriteChunk(output, buffer);
                }
                else
                {
                    foreach (ReadOnlyMemory<byte> segment in buffer)
                    {
                        output.Write(segment.Span);
                    }
                }
            }

            data.AdvanceTo(buffer.End);
            if (read.IsCompleted)
            {
                copier?.End();
                if (chunked)
                {
                    output.Write("0\r\n"u8);
                    using Http2HeaderList? trailers = stream.TryTakeTrailers();
                    for (int i = 0; trailers is not null && i < trailers.Count; i++)
                    {
                        Http1HeadWriter.WriteField(output, trailers.Name(i), trailers.Value(i));
                    }

                    output.Write("\r\n"u8);
                }

                await output.FlushAsync().ConfigureAwait(false);
                Count(context, isRequest, length);
                await data.CompleteAsync().ConfigureAwait(false);
                return;
            }

            await output.FlushAsync().ConfigureAwait(false);
            Count(context, isRequest, length);
            await stream.ConsumedAsync((int)length).ConfigureAwait(false);
        }
    }

    private static void Count(ConnectionContext context, bool isRequest, long bytes)
    {
        if (isRequest)
        {
            context.AddIn(bytes);
        }
        else
        {
            context.AddOut(bytes);
        }
    }
}
