using System.Buffers;
using System.Text;

namespace Switchyard.Admin;

/// <summary>
/// A small, strict reader for admin-plane HTTP/1.1 requests (request line, headers, Content-Length body).
/// The admin API is low-volume and loopback-bound; the data-plane codec lives in Http1/.
/// </summary>
internal sealed record AdminRequest(string Method, string Target, Dictionary<string, string> Headers, byte[] Body)
{
    public const int MaxHeadBytes = 16 * 1024;
    public const int MaxBodyBytes = 1024 * 1024;

    public string Path => Target.IndexOf('?') is var q and >= 0 ? Target[..q] : Target;

    /// <summary>How many trailing bytes are a proper prefix of "\r\n\r\n" (0 to 3).</summary>
    private static int PartialTerminatorLength(ReadOnlySequence<byte> buffer)
    {
        Span<byte> tail = stackalloc byte[3];
        int n = (int)Math.Min(3, buffer.Length);
        buffer.Slice(buffer.Length - n).CopyTo(tail);
        ReadOnlySpan<byte> terminator = "\r\n\r\n"u8;
        for (int k = n; k > 0; k--)
        {
            if (tail[(n - k)..n].SequenceEqual(terminator[..k]))
            {
                return k;
            }
        }

        return 0;
    }

    /// <summary>
    /// Parses one request from the buffer. Returns false when more bytes are needed (nothing consumed);
    /// throws <see cref="FormatException"/> for a malformed or oversized request.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out AdminRequest? request)
    {
        request = null;
        SequenceReader<byte> reader = new(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8, advancePastDelimiter: true))
        {
            // The bytes that could still be the start of the terminator do not count towards the head, so the
            // same request is accepted or refused the same way however TCP split it.
            if (buffer.Length - PartialTerminatorLength(buffer) > MaxHeadBytes)
            {
                throw new FormatException("request head too large");
            }

            return false;
        }

        if (head.Length > MaxHeadBytes)
        {
            throw new FormatException("request head too large");
        }

        string[] lines = Encoding.ASCII.GetString(head).Split("\r\n");
        string[] requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || !requestLine[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || requestLine[1].Length == 0)
        {
            throw new FormatException("malformed request line");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < lines.Length; i++)
        {
            int colon = lines[i].IndexOf(':');
            if (colon <= 0 || lines[i][colon - 1] == ' ')
            {
                throw new FormatException("malformed header line");
            }

            headers[lines[i][..colon]] = lines[i][(colon + 1)..].Trim();
        }

        long contentLength = 0;
        if (headers.TryGetValue("Content-Length", out string? cl) && (!long.TryParse(cl, out contentLength) || contentLength < 0 || contentLength > MaxBodyBytes))
        {
            throw new FormatException("invalid Content-Length");
        }

        if (headers.ContainsKey("Transfer-Encoding"))
        {
            throw new FormatException("Transfer-Encoding is not accepted by the admin API; send Content-Length");
        }

        if (reader.Remaining < contentLength)
        {
            return false;
        }

        byte[] body = reader.UnreadSequence.Slice(0, contentLength).ToArray();
        reader.Advance(contentLength);
        buffer = buffer.Slice(reader.Position);
        request = new AdminRequest(requestLine[0], requestLine[1], headers, body);
        return true;
    }
}
