using System.Buffers;
using System.IO.Pipelines;

namespace Switchyard.Http1;

/// <summary>How reading a message head from a pipe ended.</summary>
internal enum HeadRead : byte
{
    Read,
    ClosedBeforeHead,
    ClosedInsideHead,
}

/// <summary>One of the head parsers, as a struct so the shared read loop stays allocation-free.</summary>
internal interface IHeadParser
{
    bool TryRead(ref ReadOnlySequence<byte> buffer);
}

internal readonly struct RequestHeadParser(Http1RequestHead head, Http1Limits? limits) : IHeadParser
{
    public bool TryRead(ref ReadOnlySequence<byte> buffer) => Http1Parser.TryReadRequestHead(ref buffer, head, limits);
}

internal readonly struct ResponseHeadParser(Http1ResponseHead head, string requestMethod) : IHeadParser
{
    public bool TryRead(ref ReadOnlySequence<byte> buffer) => Http1Parser.TryReadResponseHead(ref buffer, head, requestMethod);
}

internal static class Http1HeadReader
{
    /// <summary>
    /// Reads until the parser has a whole head (consuming exactly it) or the peer closes. Incomplete input is
    /// examined but not consumed, so the next read waits for more bytes.
    /// </summary>
    public static async ValueTask<HeadRead> ReadAsync<TParser>(PipeReader input, TParser parser)
        where TParser : struct, IHeadParser
    {
        while (true)
        {
            ReadResult read = await input.ReadAsync().ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            bool done = false;
            try
            {
                done = parser.TryRead(ref buffer);
            }
            finally
            {
                input.AdvanceTo(buffer.Start, done ? buffer.Start : buffer.End);
            }

            if (done)
            {
                return HeadRead.Read;
            }

            if (read.IsCompleted)
            {
                return buffer.IsEmpty ? HeadRead.ClosedBeforeHead : HeadRead.ClosedInsideHead;
            }

            if (read.IsCanceled && buffer.IsEmpty)
            {
                // A drain woke a connection waiting for its next message: it ends as if the peer had closed. A head
                // already begun is read to its end (that request is answered, with Connection: close).
                return HeadRead.ClosedBeforeHead;
            }
        }
    }
}
