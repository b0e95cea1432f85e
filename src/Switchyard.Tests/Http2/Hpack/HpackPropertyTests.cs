using System.Buffers;
using CsCheck;
using Switchyard.Http2.Hpack;
using Switchyard.Tests.TestSupport;
using static Switchyard.Tests.Http2.Hpack.HpackBytes;

namespace Switchyard.Tests.Http2.Hpack;

/// <summary>
/// Property tests (CsCheck, shrinking to the smallest failing case): any sequence of header lists, with any table
/// size changes announced between blocks, encodes and decodes back on one connection, the block cut into any
/// segments.
/// </summary>
public sealed class HpackPropertyTests
{
    /// <summary>Octets a name or value may hold: HPACK carries any octet; a few common ones weigh more so tables hit.</summary>
    private static readonly Gen<string> Octets = Gen.Frequency(
        (4, Gen.OneOf<string>(":method", ":path", "GET", "/", "content-type", "x-dev", "alice", "", "gzip, deflate")),
        (4, Gen.Char['a', 'z'].Array[0, 24].Select(chars => new string(chars))),
        (2, Gen.Byte.Array[0, 40].Select(bytes => Text(bytes))),
        (1, Gen.Char['0', '9'].Array[500, 3000].Select(chars => new string(chars))));

    private static readonly Gen<Field> FieldGen =
        Gen.Select(Octets, Octets, Gen.Enum<HpackIndexing>(), (name, value, indexing) => new Field(name, value, indexing));

    /// <summary>One block: the SETTINGS_HEADER_TABLE_SIZE values acknowledged before it (often none), its fields, where to cut it.</summary>
    private static readonly Gen<(int[] Sizes, Field[] Fields, int[] Cuts)> BlockGen = Gen.Select(
        Gen.Frequency((3, Gen.Const(Array.Empty<int>())), (1, Gen.Int[0, 8192].Array[1, 3])),
        FieldGen.Array[0, 12],
        Gen.Int[0, 4000].Array[0, 6]);

    [Fact]
    public void Any_header_lists_with_any_table_size_changes_survive_encoding_and_decoding()
    {
        Gen.Select(Gen.Int[0, 8192], BlockGen.Array[1, 8]).Sample((encoderMax, blocks) =>
        {
            var encoder = new HpackEncoder(encoderMax);
            var decoder = new HpackDecoder(maxTableSize: 4096, maxHeaderListSize: int.MaxValue, maxStringLength: int.MaxValue);
            foreach ((int[] sizes, Field[] fields, int[] cuts) in blocks)
            {
                foreach (int size in sizes)
                {
                    // Our SETTINGS_HEADER_TABLE_SIZE changes and is acknowledged: the decoder allows it, the encoder follows.
                    decoder.SetMaxTableSize(size);
                    encoder.SetPeerMaxTableSize(size);
                }

                byte[] block = Encode(encoder, fields);
                List<Field> received = Decode(decoder, Cut(block, cuts));

                Assert.Equal(fields.Length, received.Count);
                for (int i = 0; i < fields.Length; i++)
                {
                    Assert.Equal(fields[i].Name, received[i].Name);
                    Assert.Equal(fields[i].Value, received[i].Value);
                    Assert.Equal(fields[i].Indexing == HpackIndexing.NeverIndexed, received[i].Indexing == HpackIndexing.NeverIndexed);
                }

                AssertSameTable(encoder.DynamicTable, decoder.DynamicTable);
            }
        }, iter: 400);
    }

    [Fact]
    public void A_decoded_block_decodes_the_same_whole_and_cut_into_any_segments()
    {
        Gen.Select(FieldGen.Array[0, 10], Gen.Int[0, 600].Array[0, 8]).Sample((fields, cuts) =>
        {
            byte[] block = Encode(new HpackEncoder(), fields);

            List<Field> whole = Decode(new HpackDecoder(), block);
            List<Field> pieces = Decode(new HpackDecoder(), Cut(block, cuts));

            Assert.Equal(whole, pieces);
        }, iter: 300);
    }

    /// <summary>The bytes cut at the given offsets (taken modulo the length; repeats and zero-length pieces allowed).</summary>
    private static ReadOnlySequence<byte> Cut(byte[] bytes, int[] cuts)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        int[] offsets = [0, .. cuts.Select(c => c % (bytes.Length + 1)).Order(), bytes.Length];
        var pieces = new byte[offsets.Length - 1][];
        for (int i = 0; i < pieces.Length; i++)
        {
            pieces[i] = bytes[offsets[i]..offsets[i + 1]];
        }

        return Segments.Of(pieces);
    }
}
