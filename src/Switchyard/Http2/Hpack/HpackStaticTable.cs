namespace Switchyard.Http2.Hpack;

/// <summary>The static table (RFC 7541 2.3.1, Appendix A): indexes 1..61.</summary>
internal static class HpackStaticTable
{
    public const int Count = 61;

    private static readonly byte[][] Names =
    [
        ":authority"u8.ToArray(), ":method"u8.ToArray(), ":method"u8.ToArray(), ":path"u8.ToArray(), ":path"u8.ToArray(),
        ":scheme"u8.ToArray(), ":scheme"u8.ToArray(), ":status"u8.ToArray(), ":status"u8.ToArray(), ":status"u8.ToArray(),
        ":status"u8.ToArray(), ":status"u8.ToArray(), ":status"u8.ToArray(), ":status"u8.ToArray(), "accept-charset"u8.ToArray(),
        "accept-encoding"u8.ToArray(), "accept-language"u8.ToArray(), "accept-ranges"u8.ToArray(), "accept"u8.ToArray(),
        "access-control-allow-origin"u8.ToArray(), "age"u8.ToArray(), "allow"u8.ToArray(), "authorization"u8.ToArray(),
        "cache-control"u8.ToArray(), "content-disposition"u8.ToArray(), "content-encoding"u8.ToArray(),
        "content-language"u8.ToArray(), "content-length"u8.ToArray(), "content-location"u8.ToArray(),
        "content-range"u8.ToArray(), "content-type"u8.ToArray(), "cookie"u8.ToArray(), "date"u8.ToArray(), "etag"u8.ToArray(),
        "expect"u8.ToArray(), "expires"u8.ToArray(), "from"u8.ToArray(), "host"u8.ToArray(), "if-match"u8.ToArray(),
        "if-modified-since"u8.ToArray(), "if-none-match"u8.ToArray(), "if-range"u8.ToArray(), "if-unmodified-since"u8.ToArray(),
        "last-modified"u8.ToArray(), "link"u8.ToArray(), "location"u8.ToArray(), "max-forwards"u8.ToArray(),
        "proxy-authenticate"u8.ToArray(), "proxy-authorization"u8.ToArray(), "range"u8.ToArray(), "referer"u8.ToArray(),
        "refresh"u8.ToArray(), "retry-after"u8.ToArray(), "server"u8.ToArray(), "set-cookie"u8.ToArray(),
        "strict-transport-security"u8.ToArray(), "transfer-encoding"u8.ToArray(), "user-agent"u8.ToArray(), "vary"u8.ToArray(),
        "via"u8.ToArray(), "www-authenticate"u8.ToArray(),
    ];

    /// <summary>Values by index - 1; only entries 2-14 and 16 have one.</summary>
    private static readonly byte[][] Values = BuildValues();

    /// <summary>Indexes (ascending) of the entries whose name has a given length.</summary>
    private static readonly int[][] ByNameLength = BuildByNameLength();

    public static ReadOnlySpan<byte> Name(int index) => Names[index - 1];

    public static ReadOnlySpan<byte> Value(int index) => Values[index - 1];

    /// <summary>
    /// The index of the entry equal to (<paramref name="name"/>, <paramref name="value"/>), or 0, and the lowest index
    /// of an entry named <paramref name="name"/>, or 0.
    /// </summary>
    public static int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out int nameIndex)
    {
        nameIndex = 0;
        if (name.Length >= ByNameLength.Length)
        {
            return 0;
        }

        foreach (int index in ByNameLength[name.Length])
        {
            if (!name.SequenceEqual(Names[index - 1]))
            {
                if (nameIndex != 0)
                {
                    return 0; // entries with the same name are adjacent
                }

                continue;
            }

            if (nameIndex == 0)
            {
                nameIndex = index;
            }

            if (value.SequenceEqual(Values[index - 1]))
            {
                return index;
            }
        }

        return 0;
    }

    private static byte[][] BuildValues()
    {
        byte[][] values = new byte[Count][];
        Array.Fill(values, []);
        values[1] = "GET"u8.ToArray();
        values[2] = "POST"u8.ToArray();
        values[3] = "/"u8.ToArray();
        values[4] = "/index.html"u8.ToArray();
        values[5] = "http"u8.ToArray();
        values[6] = "https"u8.ToArray();
        values[7] = "200"u8.ToArray();
        values[8] = "204"u8.ToArray();
        values[9] = "206"u8.ToArray();
        values[10] = "304"u8.ToArray();
        values[11] = "400"u8.ToArray();
        values[12] = "404"u8.ToArray();
        values[13] = "500"u8.ToArray();
        values[15] = "gzip, deflate"u8.ToArray();
        return values;
    }

    private static int[][] BuildByNameLength()
    {
        int longest = 0;
        foreach (byte[] name in Names)
        {
            longest = Math.Max(longest, name.Length);
        }

        var lists = new List<int>[longest + 1];
        for (int index = 1; index <= Count; index++)
        {
            int length = Names[index - 1].Length;
            (lists[length] ??= []).Add(index);
        }

        int[][] byLength = new int[longest + 1][];
        for (int length = 0; length <= longest; length++)
        {
            byLength[length] = lists[length]?.ToArray() ?? [];
        }

        return byLength;
    }
}
