namespace Switchyard.Http2;

/// <summary>RFC 9113 8.2 / 8.3 rules for a decoded field section; a violation makes the message malformed (stream PROTOCOL_ERROR).</summary>
internal static class Http2Validation
{
    /// <summary>Null when the request header section is well formed, else why not.</summary>
    public static string? CheckRequest(Http2HeaderList headers)
    {
        bool regularSeen = false;
        int method = -1, scheme = -1, path = -1, authority = -1, protocol = -1;
        for (int i = 0; i < headers.Count; i++)
        {
            ReadOnlySpan<byte> name = headers.Name(i);
            if (name.IsEmpty)
            {
                return "empty field name";
            }

            if (name[0] == (byte)':')
            {
                if (regularSeen)
                {
                    return "pseudo-header field after a regular field";
                }

                ref int slot = ref method;
                if (name.SequenceEqual(":method"u8))
                {
                    slot = ref method;
                }
                else if (name.SequenceEqual(":scheme"u8))
                {
                    slot = ref scheme;
                }
                else if (name.SequenceEqual(":path"u8))
                {
                    slot = ref path;
                }
                else if (name.SequenceEqual(":authority"u8))
                {
                    slot = ref authority;
                }
                else if (name.SequenceEqual(":protocol"u8))
                {
                    slot = ref protocol;
                }
                else
                {
                    return $"pseudo-header field {System.Text.Encoding.Latin1.GetString(name)} not allowed in a request";
                }

                if (slot >= 0)
                {
                    return $"duplicate pseudo-header field {System.Text.Encoding.Latin1.GetString(name)}";
                }

                slot = i;
            }
            else
            {
                regularSeen = true;
                string? bad = CheckRegular(name, headers.Value(i));
                if (bad is not null)
                {
                    return bad;
                }
            }

            string? value = CheckValue(headers.Value(i));
            if (value is not null)
            {
                return value;
            }
        }

        if (method < 0)
        {
            return "missing :method";
        }

        if (headers.Value(method).SequenceEqual("CONNECT"u8) && protocol < 0)
        {
            return authority < 0 || scheme >= 0 || path >= 0 ? "CONNECT needs :authority and no :scheme or :path" : null;
        }

        if (scheme < 0 || path < 0)
        {
            return "missing :scheme or :path";
        }

        return headers.Value(path).IsEmpty ? "empty :path" : null;
    }

    /// <summary>Null when a response (or informational) header section is well formed.</summary>
    public static string? CheckResponse(Http2HeaderList headers, out int status)
    {
        status = 0;
        bool regularSeen = false;
        for (int i = 0; i < headers.Count; i++)
        {
            ReadOnlySpan<byte> name = headers.Name(i);
            if (!name.IsEmpty && name[0] == (byte)':')
            {
                if (regularSeen || !name.SequenceEqual(":status"u8) || status != 0)
                {
                    return "unexpected pseudo-header field in a response";
                }

                ReadOnlySpan<byte> v = headers.Value(i);
                if (v.Length != 3 || !System.Buffers.Text.Utf8Parser.TryParse(v, out status, out int used) || used != 3 || status < 100)
                {
                    return "bad :status";
                }
            }
            else
            {
                regularSeen = true;
                string? bad = name.IsEmpty ? "empty field name" : CheckRegular(name, headers.Value(i)) ?? CheckValue(headers.Value(i));
                if (bad is not null)
                {
                    return bad;
                }
            }
        }

        return status == 0 ? "missing :status" : null;
    }

    /// <summary>Trailers: regular fields only.</summary>
    public static string? CheckTrailers(Http2HeaderList headers)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            ReadOnlySpan<byte> name = headers.Name(i);
            string? bad = name.IsEmpty || name[0] == (byte)':' ? "pseudo-header field in trailers" : CheckRegular(name, headers.Value(i)) ?? CheckValue(headers.Value(i));
            if (bad is not null)
            {
                return bad;
            }
        }

        return null;
    }

    /// <summary>Connection-specific fields (RFC 9113 8.2.2) — never valid in HTTP/2.</summary>
    public static bool IsConnectionSpecific(ReadOnlySpan<byte> lowerName) =>
        lowerName.SequenceEqual("connection"u8) || lowerName.SequenceEqual("proxy-connection"u8) || lowerName.SequenceEqual("keep-alive"u8)
        || lowerName.SequenceEqual("transfer-encoding"u8) || lowerName.SequenceEqual("upgrade"u8);

    private static string? CheckRegular(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        foreach (byte b in name)
        {
            if (b is >= (byte)'A' and <= (byte)'Z' || b <= 0x20 || b >= 0x7F || b == (byte)':')
            {
                return "field name not lower-case token";
            }
        }

        if (IsConnectionSpecific(name))
        {
            return $"connection-specific field {System.Text.Encoding.Latin1.GetString(name)}";
        }

        if (name.SequenceEqual("te"u8) && !value.SequenceEqual("trailers"u8))
        {
            return "te other than trailers";
        }

        return null;
    }

    private static string? CheckValue(ReadOnlySpan<byte> value)
    {
        if (value.IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0)
        {
            return "NUL, CR or LF in a field value";
        }

        if (!value.IsEmpty && (value[0] is (byte)' ' or (byte)'\t' || value[^1] is (byte)' ' or (byte)'\t'))
        {
            return "whitespace around a field value";
        }

        return null;
    }
}
