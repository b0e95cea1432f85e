using System.Buffers;

namespace Switchyard.Tests.TestSupport;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s, as a pipe hands them out.</summary>
public static class Segments
{
    public static ReadOnlySequence<byte> Of(params byte[][] chunks)
    {
        if (chunks.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(chunks[0], 0);
        Segment last = first;
        for (int i = 1; i < chunks.Length; i++)
        {
            last = last.Append(chunks[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>The bytes cut into pieces of <paramref name="size"/> (the last may be shorter).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, int size) =>
        bytes.Length == 0 ? ReadOnlySequence<byte>.Empty : Of([.. bytes.Chunk(size)]);

    /// <summary>The bytes cut at <paramref name="cuts"/> (outside 1..length-1 and repeated cuts are ignored; none: one segment).</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, int[] cuts)
    {
        int[] points = [0, .. cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order(), bytes.Length];
        return points.Length == 2 ? new ReadOnlySequence<byte>(bytes) : Of([.. points.Zip(points[1..], (from, to) => bytes[from..to])]);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
