using System.Buffers;
using System.Runtime.CompilerServices;

namespace Switchyard.Http1;

/// <summary>
/// The HTTP/1 head parsers (RFC 9112): pure, synchronous, over <see cref="ReadOnlySequence{T}"/>. Each TryRead
/// returns false without consuming when the head is incomplete, checks the size limit before asking for more, and
/// throws <see cref="Http1ParseException"/> for anything malformed or ambiguous. Strict where request smuggling
/// lives: bare CR/LF, obs-fold, whitespace before the colon, bad tokens, conflicting framing.
/// </summary>
public static partial class Http1Parser
{
    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    private static ReadOnlySpan<byte> CrLfCrLf => "\r\n\r\n"u8;

    /// <summary>RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&amp;" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.</summary>
    internal static readonly SearchValues<byte> Tchar =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>RFC 9110 §5.5: field-vchar = VCHAR / obs-text, with SP and HTAB between. Everything else is refused:
    /// CTLs other than HTAB, and DEL.</summary>
    internal static readonly SearchValues<byte> InvalidFieldValue = SearchValues.Create(
        [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
         0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x7F]);

    /// <summary>
    /// Finds a head (start-line + field lines) ending in CRLFCRLF after optional empty lines. Returns false when
    /// the end is not in the buffer yet, after checking that what is there does not already exceed the limit.
    /// </summary>
    /// <param name="head">The head without the final CRLFCRLF.</param>
    /// <param name="end">Where the next message starts.</param>
    private static bool TryFindHead(in ReadOnlySequence<byte> buffer, int maxHeadBytes, string tooLarge, out ReadOnlySequence<byte> head, out SequencePosition end)
    {
        var reader = new SequenceReader<byte>(buffer);

        // RFC 9112 §2.2: "In the interest of robustness, a server that is expecting to receive and parse a
        // request-line SHOULD ignore at least one empty line (CRLF) received prior to the request-line."
        // Bounded like the head itself, so a peer cannot keep us skipping forever.
        while (reader.IsNext(CrLf, advancePast: true))
        {
            if (reader.Consumed > maxHeadBytes)
            {
                Http1ParseException.Throw(tooLarge);
            }
        }

        long skipped = reader.Consumed;
        if (!reader.TryReadTo(out head, CrLfCrLf, advancePastDelimiter: true))
        {
            end = default;

            // RFC 9112 §2.3 leaves the head size to us; refuse as soon as the bytes already here cannot fit, rather
            // than buffering more. The trailing bytes that may start the CRLFCRLF do not count, so the same head is
            // accepted or refused the same way however TCP split it.
            long pending = buffer.Length - skipped;
            if (pending - PartialTerminatorLength(buffer) > maxHeadBytes)
            {
                Http1ParseException.Throw(tooLarge);
            }

            // A head that already holds a bare LF or CR can never become valid: say so now rather than wait for
            // a CRLFCRLF a lenient peer ("\n\n") may never send.
            ThrowIfBareLineEnd(buffer.Slice(skipped));
            return false;
        }

        if (head.Length > maxHeadBytes)
        {
            Http1ParseException.Throw(tooLarge);
        }

        end = reader.Position;
        return true;
    }

    /// <summary>Throws for an LF not preceded by CR or a CR followed by anything but LF (a final CR may still be).</summary>
    private static void ThrowIfBareLineEnd(in ReadOnlySequence<byte> pending)
    {
        byte previous = 0;
        foreach (ReadOnlyMemory<byte> memory in pending)
        {
            ReadOnlySpan<byte> span = memory.Span;
            if (span.IsEmpty)
            {
                continue;
            }

            if (previous == '\r' && span[0] != '\n')
            {
                Http1ParseException.Throw("bare CR in message head");
            }

            int start = 0;
            int i;
            while (start < span.Length && (i = span[start..].IndexOfAny((byte)'\r', (byte)'\n')) >= 0)
            {
                i += start;
                if (span[i] == '\n')
                {
                    if ((i > 0 ? span[i - 1] : previous) != '\r')
                    {
                        Http1ParseException.Throw("bare LF in message head");
                    }
                }
                else if (i + 1 < span.Length && span[i + 1] != '\n')
                {
                    Http1ParseException.Throw("bare CR in message head");
                }

                start = i + 1;
            }

            previous = span[^1];
        }
    }

    /// <summary>How many trailing bytes are a proper prefix of CRLFCRLF (0 to 3).</summary>
    private static int PartialTerminatorLength(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> tail = stackalloc byte[3];
        int n = (int)Math.Min(3, buffer.Length);
        buffer.Slice(buffer.Length - n).CopyTo(tail);
        for (int k = n; k > 0; k--)
        {
            if (tail[(n - k)..n].SequenceEqual(CrLfCrLf[..k]))
            {
                return k;
            }
        }

        return 0;
    }

    /// <summary>
    /// The line starting at <paramref name="start"/>: up to the next CRLF, or to the end of the section.
    /// RFC 9112 §2.2: "A sender MUST NOT generate a bare CR (a CR character not immediately followed by LF) within
    /// any protocol elements other than the content." We accept no bare CR, and no bare LF either: a lenient LF
    /// line end is where request smuggling between parsers that disagree lives.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ReadOnlySpan<byte> NextLine(ReadOnlySpan<byte> section, int start, out int next)
    {
        ReadOnlySpan<byte> rest = section[start..];
        int lf = rest.IndexOf((byte)'\n');
        ReadOnlySpan<byte> line;
        if (lf < 0)
        {
            line = rest;
            next = section.Length;
        }
        else
        {
            if (lf == 0 || rest[lf - 1] != '\r')
            {
                Http1ParseException.Throw("bare LF in message head");
            }

            line = rest[..(lf - 1)];
            next = start + lf + 1;
        }

        if (line.Contains((byte)'\r'))
        {
            Http1ParseException.Throw("bare CR in message head");
        }

        return line;
    }

    /// <summary>Parses the field lines of a section (RFC 9112 §5) from <paramref name="start"/> into <paramref name="fields"/>.</summary>
    internal static void ParseFieldLines(ReadOnlySpan<byte> section, int start, Http1Fields fields, int maxCount, string tooMany)
    {
        int position = start;
        bool first = true;
        while (position < section.Length)
        {
            int lineStart = position;
            ReadOnlySpan<byte> line = NextLine(section, lineStart, out position);
            ParseFieldLine(line, lineStart, fields, maxCount, tooMany, first);
            first = false;
        }
    }

    /// <summary>
    /// RFC 9112 §5: field-line = field-name ":" OWS field-value OWS.
    /// </summary>
    private static void ParseFieldLine(ReadOnlySpan<byte> line, int offset, Http1Fields fields, int maxCount, string tooMany, bool first)
    {
        if (line.IsEmpty)
        {
            Http1ParseException.Throw("empty header line");
        }

        if (line[0] is (byte)' ' or (byte)'\t')
        {
            // RFC 9112 §2.2: "A recipient that receives whitespace between the start-line and the first header
            // field MUST either reject the message as invalid or consume each whitespace-preceded line without
            // further processing of it".
            // RFC 9112 §5.2: "A server that receives an obs-fold in a request message that is not within a
            // message/http container MUST either reject the message by sending a 400 (Bad Request)... or replace
            // each received obs-fold with one or more SP octets". We reject, in responses too.
            Http1ParseException.Throw(first ? "whitespace before the first header field" : "obsolete line folding (obs-fold)");
        }

        // RFC 9110 §5.1: field-name = token.
        int colon = line.IndexOfAnyExcept(Tchar);
        if (colon < 0)
        {
            Http1ParseException.Throw("header line without a colon");
        }

        byte stop = line[colon];
        if (stop != ':')
        {
            // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon. ... A server MUST reject,
            // with a response status code of 400 (Bad Request), any received request message that contains
            // whitespace between a header field name and colon."
            Http1ParseException.Throw(stop is (byte)' ' or (byte)'\t'
                ? "whitespace between header field name and colon"
                : "invalid character in header field name");
        }

        if (colon == 0)
        {
            Http1ParseException.Throw("empty header field name");
        }

        int valueStart = colon + 1;
        int valueEnd = line.Length;
        while (valueStart < valueEnd && line[valueStart] is (byte)' ' or (byte)'\t')
        {
            valueStart++;
        }

        while (valueEnd > valueStart && line[valueEnd - 1] is (byte)' ' or (byte)'\t')
        {
            valueEnd--;
        }

        // RFC 9110 §5.5: "Field values containing CR, LF, or NUL characters are invalid and dangerous ... a
        // recipient MUST either reject the message or replace each of those characters with SP". We reject, and
        // also the other CTLs that field-vchar excludes.
        if (line[valueStart..valueEnd].ContainsAny(InvalidFieldValue))
        {
            Http1ParseException.Throw("control character in header field value");
        }

        if (fields.Count >= maxCount)
        {
            Http1ParseException.Throw(tooMany);
        }

        fields.Add(offset, colon, offset + valueStart, valueEnd - valueStart);
    }

    /// <summary>RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT. Only 1.0 and 1.1 are spoken here.</summary>
    private static Http1Version ParseVersion(ReadOnlySpan<byte> version, string malformed)
    {
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            return Http1Version.Http11;
        }

        if (version.SequenceEqual("HTTP/1.0"u8))
        {
            return Http1Version.Http10;
        }

        if (version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5]) && version[6] == '.' && char.IsAsciiDigit((char)version[7]))
        {
            Http1ParseException.Throw("unsupported HTTP version");
        }

        Http1ParseException.Throw(malformed);
        return default;
    }
}
