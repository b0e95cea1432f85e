using System.Buffers;
using System.Text;
using Switchyard.Http2.Hpack;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>
/// A decoded or to-be-encoded field. Names and values are Latin-1 strings: one char per octet, so any byte
/// sequence (binary values included) survives the trip and compares exactly.
/// </summary>
public sealed record Field(string Name, string Value, HpackIndexing Indexing = HpackIndexing.Incremental)
{
    public override string ToString() => $"{Name}: {Value} ({Indexing})";
}

/// <summary>Remembers every field the decoder hands out (copied: the spans die with the call).</summary>
internal sealed class RecordingSink : IHpackHeaderSink
{
    public List<Field> Fields { get; } = [];

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing) =>
        Fields.Add(new Field(HpackBytes.Text(name), HpackBytes.Text(value), indexing));
}

/// <summary>Counts fields without keeping them (no allocation per field).</summary>
internal sealed class CountingSink : IHpackHeaderSink
{
    public int Count { get; private set; }

    public long Octets { get; private set; }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing)
    {
        Count++;
        Octets += name.Length + value.Length;
    }
}

internal static class HpackBytes
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static byte[] Bytes(string latin1) => Encoding.Latin1.GetBytes(latin1);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>Decodes one block, asserting it is <see cref="HpackDecodeResult.Ok"/>.</summary>
    public static List<Field> Decode(HpackDecoder decoder, byte[] block)
    {
        var sink = new RecordingSink();
        Assert.Equal(HpackDecodeResult.Ok, decoder.Decode(block, sink));
        return sink.Fields;
    }

    public static List<Field> Decode(HpackDecoder decoder, ReadOnlySequence<byte> block)
    {
        var sink = new RecordingSink();
        Assert.Equal(HpackDecodeResult.Ok, decoder.Decode(block, sink));
        return sink.Fields;
    }

    /// <summary>One block: the pending table size updates, then the fields.</summary>
    public static byte[] Encode(HpackEncoder encoder, IEnumerable<Field> fields)
    {
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginHeaderBlock(output);
        foreach (Field field in fields)
        {
            encoder.EncodeHeader(Bytes(field.Name), Bytes(field.Value), field.Indexing, output);
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>The dynamic table, newest entry first.</summary>
    public static List<(string Name, string Value)> Entries(HpackDynamicTable table)
    {
        var entries = new List<(string, string)>();
        for (int i = 1; i <= table.Count; i++)
        {
            entries.Add((Text(table.Name(i)), Text(table.Value(i))));
        }

        return entries;
    }

    /// <summary>Both tables hold the same entries in the same order, and agree on size and maximum size.</summary>
    public static void AssertSameTable(HpackDynamicTable expected, HpackDynamicTable actual)
    {
        Assert.Equal(Entries(expected), Entries(actual));
        Assert.Equal(expected.Size, actual.Size);
        Assert.Equal(expected.MaxSize, actual.MaxSize);
    }
}
