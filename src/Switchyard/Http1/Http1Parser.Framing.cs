using System.Text;

namespace Switchyard.Http1;

public static partial class Http1Parser
{
    /// <summary>The facts about a header section that framing, keep-alive and upgrade decisions need.</summary>
    private struct FieldFacts
    {
        public long ContentLength;
        public bool HasTransferEncoding;
        public bool ChunkedLast;
        public bool OtherCodings;
        public bool Close;
        public bool KeepAliveOption;
        public bool UpgradeOption;
        public int HostIndex;
        public int HostCount;
        public int UpgradeIndex;
        public bool Expect100;
        public bool UpgradeH2c;
    }

    /// <summary>One pass over the fields, recognising the ones that decide framing and connection handling.</summary>
    private static FieldFacts Analyze(Http1Fields fields)
    {
        var facts = new FieldFacts { ContentLength = -1, HostIndex = -1, UpgradeIndex = -1 };
        bool chunkedSeen = false;
        for (int i = 0; i < fields.Count; i++)
        {
            ReadOnlySpan<byte> name = fields.Name(i);
            switch (name.Length)
            {
                case 4 when Ascii.EqualsIgnoreCase(name, "host"u8):
                    facts.HostCount++;
                    facts.HostIndex = facts.HostIndex < 0 ? i : facts.HostIndex;
                    break;
                case 6 when Ascii.EqualsIgnoreCase(name, "expect"u8):
                    facts.Expect100 |= Ascii.EqualsIgnoreCase(fields.Value(i), "100-continue"u8);
                    break;
                case 7 when Ascii.EqualsIgnoreCase(name, "upgrade"u8):
                    facts.UpgradeIndex = facts.UpgradeIndex < 0 ? i : facts.UpgradeIndex;
                    foreach (ReadOnlySpan<byte> protocol in new ListElements(fields.Value(i)))
                    {
                        int slash = protocol.IndexOf((byte)'/');
                        facts.UpgradeH2c |= Ascii.EqualsIgnoreCase(slash < 0 ? protocol : protocol[..slash], "h2c"u8);
                    }

                    break;
                case 10 when Ascii.EqualsIgnoreCase(name, "connection"u8):
                    foreach (ReadOnlySpan<byte> option in new ListElements(fields.Value(i)))
                    {
                        facts.Close |= Ascii.EqualsIgnoreCase(option, "close"u8);
                        facts.KeepAliveOption |= Ascii.EqualsIgnoreCase(option, "keep-alive"u8);
                        facts.UpgradeOption |= Ascii.EqualsIgnoreCase(option, "upgrade"u8);
                    }

                    break;
                case 14 when Ascii.EqualsIgnoreCase(name, "content-length"u8):
                    ReadContentLength(fields.Value(i), ref facts.ContentLength);
                    break;
                case 17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8):
                    facts.HasTransferEncoding = true;
                    ReadTransferCodings(fields.Value(i), ref chunkedSeen, ref facts);
                    break;
            }
        }

        return facts;
    }

    /// <summary>
    /// RFC 9110 §8.6: Content-Length = 1*DIGIT. "a recipient MAY either reject the message as invalid or replace
    /// that invalid field value with a single instance of the decimal value, since this might indicate that a
    /// duplicate was generated or combined by an upstream message processor" — so "5, 5" and two lines of 5 are
    /// one length; anything else ("1,2", "+5", "0x10", "", "-1") is refused.
    /// </summary>
    private static void ReadContentLength(ReadOnlySpan<byte> value, ref long contentLength)
    {
        foreach (ReadOnlySpan<byte> element in new ListElements(value))
        {
            // 19 digits may still overflow a long; 20 always do.
            if (element.IsEmpty || element.Length > 19 || element.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                Http1ParseException.Throw("invalid Content-Length");
            }

            long length = 0;
            foreach (byte digit in element)
            {
                length = (length * 10) + (digit - '0');
            }

            if (length < 0)
            {
                Http1ParseException.Throw("invalid Content-Length");
            }

            if (contentLength >= 0 && contentLength != length)
            {
                Http1ParseException.Throw("conflicting Content-Length values");
            }

            contentLength = length;
        }
    }

    /// <summary>
    /// RFC 9112 §6.1: Transfer-Encoding = #transfer-coding. Only registered codings are accepted; chunked at most
    /// once ("A sender MUST NOT apply the chunked transfer coding more than once to a message body").
    /// </summary>
    private static void ReadTransferCodings(ReadOnlySpan<byte> value, ref bool chunkedSeen, ref FieldFacts facts)
    {
        foreach (ReadOnlySpan<byte> element in new ListElements(value))
        {
            int semicolon = element.IndexOf((byte)';');
            ReadOnlySpan<byte> coding = ListElements.Trim(semicolon < 0 ? element : element[..semicolon]);
            if (coding.IsEmpty || coding.ContainsAnyExcept(Tchar))
            {
                Http1ParseException.Throw("invalid Transfer-Encoding");
            }

            if (Ascii.EqualsIgnoreCase(coding, "chunked"u8))
            {
                if (semicolon >= 0)
                {
                    Http1ParseException.Throw("invalid Transfer-Encoding");
                }

                if (chunkedSeen)
                {
                    Http1ParseException.Throw("chunked applied more than once");
                }

                chunkedSeen = true;
                facts.ChunkedLast = true;
            }
            else if (IsKnownCoding(coding))
            {
                facts.OtherCodings = true;
                facts.ChunkedLast = false;
            }
            else
            {
                Http1ParseException.Throw("unknown transfer coding");
            }
        }
    }

    /// <summary>The IANA HTTP Transfer Coding Registry, minus chunked and the withdrawn identity.</summary>
    private static bool IsKnownCoding(ReadOnlySpan<byte> coding) =>
        Ascii.EqualsIgnoreCase(coding, "gzip"u8) || Ascii.EqualsIgnoreCase(coding, "deflate"u8) ||
        Ascii.EqualsIgnoreCase(coding, "compress"u8) || Ascii.EqualsIgnoreCase(coding, "x-gzip"u8) ||
        Ascii.EqualsIgnoreCase(coding, "x-compress"u8);
}

/// <summary>The elements of a comma-separated list field value (RFC 9110 §5.6.1), each without surrounding OWS.</summary>
internal ref struct ListElements
{
    private ReadOnlySpan<byte> _rest;
    private bool _done;

    public ListElements(ReadOnlySpan<byte> value)
    {
        _rest = value;
        _done = false;
        Current = default;
    }

    public ReadOnlySpan<byte> Current { get; private set; }

    public readonly ListElements GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_done)
        {
            return false;
        }

        int comma = _rest.IndexOf((byte)',');
        if (comma < 0)
        {
            Current = Trim(_rest);
            _done = true;
        }
        else
        {
            Current = Trim(_rest[..comma]);
            _rest = _rest[(comma + 1)..];
        }

        return true;
    }

    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> value) => value.Trim(" \t"u8);
}
