using System.Runtime.InteropServices;
using System.Text;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>
/// The few HPACK (RFC 7541) representations the frame-level tests write: literals without indexing and with
/// incremental indexing (never Huffman-coded), and indexed fields. Enough to script requests and abuse.
/// </summary>
public static class Hpack
{
    /// <summary>A whole field block of literals without indexing (0000 prefix), names lower-case as HTTP/2 wants.</summary>
    public static byte[] Encode(IEnumerable<(string Name, string Value)> fields)
    {
        var block = new List<byte>();
        foreach (var (name, value) in fields)
        {
            block.AddRange(LiteralWithoutIndexing(name, value));
        }

        return [.. block];
    }

    /// <summary>Literal field, new name, not added to the dynamic table (§6.2.2).</summary>
    public static byte[] LiteralWithoutIndexing(string name, string value) => Literal(0x00, 4, name, value);

    /// <summary>Literal field, new name, added to the decoder's dynamic table (§6.2.1): the next entry is index 62.</summary>
    public static byte[] LiteralWithIncrementalIndexing(string name, string value) => Literal(0x40, 6, name, value);

    /// <summary>Indexed field (§6.1): 1-61 static table, 62+ dynamic table (62 = newest).</summary>
    public static byte[] Indexed(int index)
    {
        var bytes = new List<byte>();
        WriteInteger(bytes, 0x80, 7, index);
        return [.. bytes];
    }

    /// <summary>Integer with an N-bit prefix (§5.1); <paramref name="flags"/> fill the bits above the prefix.</summary>
    public static void WriteInteger(List<byte> output, byte flags, int prefixBits, int value)
    {
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            output.Add((byte)(flags | value));
            return;
        }

        output.Add((byte)(flags | max));
        value -= max;
        while (value >= 128)
        {
            output.Add((byte)((value % 128) + 128));
            value /= 128;
        }

        output.Add((byte)value);
    }

    private static byte[] Literal(byte flags, int prefixBits, string name, string value)
    {
        var bytes = new List<byte>();
        WriteInteger(bytes, flags, prefixBits, 0); // index 0: the name follows as a string
        WriteString(bytes, name);
        WriteString(bytes, value);
        return [.. bytes];
    }

    private static void WriteString(List<byte> output, string text)
    {
        var raw = Encoding.ASCII.GetBytes(text);
        WriteInteger(output, 0x00, 7, raw.Length); // H bit 0: no Huffman
        output.AddRange(raw);
    }
}

/// <summary>
/// Decodes the field blocks the server sends (it may use Huffman coding and its dynamic table) with libnghttp2's
/// HPACK inflater, the same decoder curl and nghttp use. One instance per connection: the table is stateful.
/// </summary>
public sealed class HpackDecoder : IDisposable
{
    private const int InflateFinal = 0x01;
    private const int InflateEmit = 0x02;
    private IntPtr _inflater;

    public HpackDecoder()
    {
        int rc = NativeMethods.InflateNew(out _inflater);
        if (rc != 0)
        {
            throw new InvalidOperationException($"nghttp2_hd_inflate_new failed: {rc}");
        }
    }

    /// <summary>The fields of one complete block (HEADERS plus its CONTINUATIONs), in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Decode(byte[] block)
    {
        ObjectDisposedException.ThrowIf(_inflater == IntPtr.Zero, this);
        var fields = new List<KeyValuePair<string, string>>();
        var handle = GCHandle.Alloc(block, GCHandleType.Pinned);
        try
        {
            IntPtr start = handle.AddrOfPinnedObject();
            int offset = 0;
            while (true)
            {
                nint used = NativeMethods.InflateHd2(_inflater, out var nv, out int flags, start + offset, (nuint)(block.Length - offset), 1);
                if (used < 0)
                {
                    throw new InvalidDataException($"the server's field block does not decode (nghttp2 error {used})");
                }

                offset += (int)used;
                if ((flags & InflateEmit) != 0)
                {
                    fields.Add(new(Marshal.PtrToStringUTF8(nv.Name, (int)nv.NameLength), Marshal.PtrToStringUTF8(nv.Value, (int)nv.ValueLength)));
                }

                if ((flags & InflateFinal) != 0)
                {
                    NativeMethods.InflateEndHeaders(_inflater);
                    return fields;
                }

                if ((flags & InflateEmit) == 0 && offset >= block.Length)
                {
                    return fields;
                }
            }
        }
        finally
        {
            handle.Free();
        }
    }

    public void Dispose()
    {
        if (_inflater != IntPtr.Zero)
        {
            NativeMethods.InflateDel(_inflater);
            _inflater = IntPtr.Zero;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct NameValue
    {
        public IntPtr Name;
        public IntPtr Value;
        public nuint NameLength;
        public nuint ValueLength;
        public byte Flags;
    }

    private static class NativeMethods
    {
        private const string Library = "libnghttp2.so.14";

        [DllImport(Library, EntryPoint = "nghttp2_hd_inflate_new")]
        public static extern int InflateNew(out IntPtr inflater);

        [DllImport(Library, EntryPoint = "nghttp2_hd_inflate_del")]
        public static extern void InflateDel(IntPtr inflater);

        [DllImport(Library, EntryPoint = "nghttp2_hd_inflate_hd2")]
        public static extern nint InflateHd2(IntPtr inflater, out NameValue nv, out int inflateFlags, IntPtr input, nuint length, int final);

        [DllImport(Library, EntryPoint = "nghttp2_hd_inflate_end_headers")]
        public static extern int InflateEndHeaders(IntPtr inflater);
    }
}
