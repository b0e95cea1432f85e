using System.Buffers;
using System.Text;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Http1;

/// <summary>Shared helpers for the HTTP/1 codec tests.</summary>
internal static class Http1Text
{
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    public static ReadOnlySequence<byte> Sequence(string text) => new(Bytes(text));

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>The same bytes as a contiguous buffer and cut into segments of 1, 3 and 7 bytes.</summary>
    public static IEnumerable<ReadOnlySequence<byte>> Shapes(byte[] bytes)
    {
        yield return new ReadOnlySequence<byte>(bytes);
        yield return Segments.Split(bytes, 1);
        yield return Segments.Split(bytes, 3);
        yield return Segments.Split(bytes, 7);
    }

    /// <summary>Every strict prefix, as one segment and as 1- and 5-byte segments.</summary>
    public static IEnumerable<(int Length, ReadOnlySequence<byte> Prefix)> StrictPrefixes(byte[] bytes)
    {
        for (int length = 0; length < bytes.Length; length++)
        {
            yield return (length, new ReadOnlySequence<byte>(bytes, 0, length));
            yield return (length, Segments.Split(bytes[..length], 1));
            yield return (length, Segments.Split(bytes[..length], 5));
        }
    }
}
