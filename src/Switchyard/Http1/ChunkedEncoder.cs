using System.Buffers;

namespace Switchyard.Http1;

/// <summary>
/// Writes the chunked transfer coding (RFC 9112 §7.1) to an <see cref="IBufferWriter{T}"/>: one chunk per call,
/// then the last chunk with optional trailer fields. Never writes an empty chunk by accident (that would end the body).
/// </summary>
public static class ChunkedEncoder
{
    /// <summary>chunk-size CRLF (lower-case hex), for callers that copy the chunk-data themselves.</summary>
    public static void WriteChunkHeader(IBufferWriter<byte> output, long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        Span<byte> span = output.GetSpan(18);
        size.TryFormat(span, out int written, "x", provider: null);
        span[written++] = (byte)'\r';
        span[written++] = (byte)'\n';
        output.Advance(written);
    }

    /// <summary>The CRLF that ends chunk-data.</summary>
    public static void WriteChunkEnd(IBufferWriter<byte> output) => output.Write("\r\n"u8);

    /// <summary>A whole chunk: size line, data, CRLF. Empty data writes nothing.</summary>
    public static void WriteChunk(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        WriteChunkHeader(output, data.Length);
        output.Write(data);
        WriteChunkEnd(output);
    }

    /// <summary>A whole chunk from a (multi-segment) sequence, e.g. a slice handed out by <see cref="ChunkedDecoder"/>.</summary>
    public static void WriteChunk(IBufferWriter<byte> output, in ReadOnlySequence<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        WriteChunkHeader(output, data.Length);
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            output.Write(segment.Span);
        }

        WriteChunkEnd(output);
    }

    /// <summary>last-chunk, the trailer fields (if any) and the final CRLF.</summary>
    public static void WriteLastChunk(IBufferWriter<byte> output, Http1Fields? trailers = null)
    {
        output.Write("0\r\n"u8);
        if (trailers is not null)
        {
            for (int i = 0; i < trailers.Count; i++)
            {
                Http1HeadWriter.WriteField(output, trailers.Name(i), trailers.Value(i));
            }
        }

        output.Write("\r\n"u8);
    }
}
