using System.Buffers;
using System.Text;
using CsCheck;
using Switchyard.Http1;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Http1;

/// <summary>
/// Property tests (CsCheck, shrinking to the smallest failing case): any body, cut into chunks any way and written by
/// <see cref="ChunkedEncoder"/> with any trailers, decodes back to the same body and trailers, whatever segments the
/// encoded bytes arrive in and however the buffer grows between calls.
/// </summary>
public sealed class ChunkedPropertyTests
{
    private static readonly Gen<string> Token = Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"].Array[1, 12].Select(c => new string(c));

    /// <summary>A field value: visible ASCII and obs-text with inner spaces, no surrounding whitespace (RFC 9110 §5.5).</summary>
    private static readonly Gen<string> FieldValue = Gen.Char[' ', '~'].Array[0, 30].Select(c => new string(c).Trim());

    private static readonly Gen<(string Name, string Value)[]> Trailers = Gen.Select(Token, FieldValue).Array[0, 3];

    /// <summary>
    /// The trailers a decoder hands on: all but the fields a trailer section must not carry (framing, routing,
    /// connection-specific ones: <see cref="HopByHop.IsProhibitedInTrailer"/>), which it drops. A generated name can be
    /// one of them ("te", "host").
    /// </summary>
    private static (string Name, string Value)[] Kept((string Name, string Value)[] trailers) =>
        [.. trailers.Where(t => !HopByHop.IsProhibitedInTrailer(Encoding.ASCII.GetBytes(t.Name)))];

    /// <summary>Where to cut: offsets taken modulo the length (repeats give empty pieces, which the encoder skips).</summary>
    private static readonly Gen<int[]> Cuts = Gen.Int[0, 5000].Array[0, 10];

    [Fact]
    public void Any_body_split_any_way_round_trips_through_encoder_and_decoder_in_any_segments()
    {
        Gen.Select(Gen.Byte.Array[0, 3000], Cuts, Trailers, Cuts, Gen.Bool).Sample((body, chunkCuts, trailers, segmentCuts, asSequences) =>
        {
            byte[] encoded = Encode(body, chunkCuts, trailers, asSequences);
            byte[] next = "GET /next HTTP/1.1\r\n"u8.ToArray();
            byte[] wire = [.. encoded, .. next];

            (byte[] decoded, List<(string, string)> decodedTrailers, int rest) = DecodeAll(new ReadOnlySequence<byte>(wire), growBy: null);
            Assert.Equal(body, decoded);
            Assert.Equal(Kept(trailers), decodedTrailers);
            Assert.Equal(next.Length, rest);

            (decoded, decodedTrailers, rest) = DecodeAll(Cut(wire, segmentCuts), growBy: null);
            Assert.Equal(body, decoded);
            Assert.Equal(Kept(trailers), decodedTrailers);
            Assert.Equal(next.Length, rest);
        }, iter: 300);
    }

    [Fact]
    public void A_chunked_body_arriving_a_few_bytes_at_a_time_decodes_the_same()
    {
        Gen.Select(Gen.Byte.Array[0, 800], Cuts, Trailers, Gen.Int[1, 40]).Sample((body, chunkCuts, trailers, step) =>
        {
            byte[] encoded = Encode(body, chunkCuts, trailers, asSequences: false);

            (byte[] decoded, List<(string, string)> decodedTrailers, int rest) = DecodeAll(new ReadOnlySequence<byte>(encoded), growBy: step);

            Assert.Equal(body, decoded);
            Assert.Equal(Kept(trailers), decodedTrailers);
            Assert.Equal(0, rest);
        }, iter: 300);
    }

    private static byte[] Encode(byte[] body, int[] chunkCuts, (string Name, string Value)[] trailers, bool asSequences)
    {
        var output = new ArrayBufferWriter<byte>();
        int[] offsets = [0, .. chunkCuts.Select(c => c % (body.Length + 1)).Order(), body.Length];
        for (int i = 0; i + 1 < offsets.Length; i++)
        {
            byte[] piece = body[offsets[i]..offsets[i + 1]];
            if (asSequences)
            {
                ChunkedEncoder.WriteChunk(output, Segments.Split(piece, 1 + (i % 5)));
            }
            else
            {
                ChunkedEncoder.WriteChunk(output, piece);
            }
        }

        using var fields = new Http1Fields();
        if (trailers.Length > 0)
        {
            string section = string.Concat(trailers.Select(t => $"{t.Name}: {t.Value}\r\n"));
            ReadOnlySpan<byte> bytes = fields.Load(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(section[..^2])));
            Http1Parser.ParseFieldLines(bytes, 0, fields, 100, "too many");
        }

        ChunkedEncoder.WriteLastChunk(output, trailers.Length > 0 ? fields : null);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Decodes to the end. With <paramref name="growBy"/> the decoder first sees that many bytes, then that many more
    /// after each NeedMoreData, as a pipe hands out a growing buffer; otherwise it sees everything at once.
    /// </summary>
    private static (byte[] Body, List<(string, string)> Trailers, int Remaining) DecodeAll(ReadOnlySequence<byte> wire, int? growBy)
    {
        using var decoder = new ChunkedDecoder();
        decoder.Reset();
        var body = new ArrayBufferWriter<byte>();
        long consumed = 0;
        long available = growBy is int step ? Math.Min(step, wire.Length) : wire.Length;
        for (int calls = 0; calls < 100_000; calls++)
        {
            ReadOnlySequence<byte> buffer = wire.Slice(consumed, available - consumed);
            long before = buffer.Length;
            ChunkedReadStatus status = decoder.Read(ref buffer, out ReadOnlySequence<byte> data);
            consumed += before - buffer.Length;
            switch (status)
            {
                case ChunkedReadStatus.Data:
                    Assert.False(data.IsEmpty);
                    foreach (ReadOnlyMemory<byte> segment in data)
                    {
                        body.Write(segment.Span);
                    }

                    break;
                case ChunkedReadStatus.Completed:
                    Assert.Equal(body.WrittenCount, decoder.BodyBytes);
                    var trailers = new List<(string, string)>();
                    for (int i = 0; i < decoder.Trailers.Count; i++)
                    {
                        trailers.Add((Encoding.Latin1.GetString(decoder.Trailers.Name(i)), Encoding.Latin1.GetString(decoder.Trailers.Value(i))));
                    }

                    return (body.WrittenSpan.ToArray(), trailers, (int)(wire.Length - consumed));
                default:
                    Assert.True(available < wire.Length, "the decoder asked for more data after the whole body");
                    available = Math.Min(available + (growBy ?? 1), wire.Length);
                    break;
            }
        }

        throw new InvalidOperationException("the decoder made no progress");
    }

    private static ReadOnlySequence<byte> Cut(byte[] bytes, int[] cuts)
    {
        int[] offsets = [0, .. cuts.Select(c => c % (bytes.Length + 1)).Order(), bytes.Length];
        var pieces = new byte[offsets.Length - 1][];
        for (int i = 0; i < pieces.Length; i++)
        {
            pieces[i] = bytes[offsets[i]..offsets[i + 1]];
        }

        return Segments.Of(pieces);
    }
}
