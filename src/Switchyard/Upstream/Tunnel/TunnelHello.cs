using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Switchyard.Upstream.Tunnel;

/// <summary>What a tunnel connection is for: the developer's control connection, or one reverse data connection.</summary>
internal enum TunnelRole : byte
{
    Control,
    Data,
}

/// <summary>
/// The first line of every tunnel connection, written by `switchyard intercept`:
/// <code>SWITCHYARD-TUNNEL/1 &lt;control|data&gt; &lt;intercept-id&gt; &lt;token or -&gt;\n</code>
/// The agent answers <c>OK\n</c>, or <c>ERR &lt;reason&gt;\n</c> and closes.
/// </summary>
internal sealed record TunnelHello(TunnelRole Role, string InterceptId, string? Token)
{
    public const string Magic = "SWITCHYARD-TUNNEL/1";

    /// <summary>A hello longer than this (without its line feed) is refused before the line ends.</summary>
    public const int MaxLength = 1024;

    public static readonly byte[] Ok = "OK\n"u8.ToArray();

    public string Format() => $"{Magic} {(Role == TunnelRole.Control ? "control" : "data")} {InterceptId} {Token ?? "-"}\n";

    /// <summary>
    /// Reads one hello line from <paramref name="buffer"/>. False when the line is not complete yet (nothing consumed);
    /// true with <paramref name="hello"/> null and <paramref name="error"/> set when the line is malformed or too long.
    /// On success <paramref name="buffer"/> is left after the line feed.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out TunnelHello? hello, out string? error)
    {
        hello = null;
        error = null;
        SequencePosition? end = buffer.PositionOf((byte)'\n');
        if (end is null)
        {
            if (buffer.Length > MaxLength)
            {
                error = "hello line too long";
                return true;
            }

            return false;
        }

        ReadOnlySequence<byte> line = buffer.Slice(0, end.Value);
        if (line.Length > MaxLength)
        {
            error = "hello line too long";
            return true;
        }

        buffer = buffer.Slice(buffer.GetPosition(1, end.Value));
        hello = Parse(Encoding.ASCII.GetString(line).TrimEnd('\r'), out error);
        return true;
    }

    /// <summary>Parses a hello line without its line feed; null and the reason when it is malformed.</summary>
    public static TunnelHello? Parse(string line, out string? error)
    {
        error = null;
        string[] parts = line.Split(' ');
        if (parts.Length != 4 || parts[0] != Magic)
        {
            error = $"bad hello: expected \"{Magic} control|data ID TOKEN\"";
            return null;
        }

        TunnelRole? role = parts[1] switch { "control" => TunnelRole.Control, "data" => TunnelRole.Data, _ => null };
        if (role is null)
        {
            error = $"bad hello: unknown role \"{parts[1]}\"";
            return null;
        }

        if (parts[2].Length == 0 || parts[3].Length == 0)
        {
            error = "bad hello: empty intercept id or token";
            return null;
        }

        return new TunnelHello(role.Value, parts[2], parts[3] == "-" ? null : parts[3]);
    }

    /// <summary>True when no token is configured, or the hello presents it (compared in constant time).</summary>
    public static bool TokenMatches(string? expected, string? presented)
    {
        if (expected is null)
        {
            return true;
        }

        return presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));
    }

    public static byte[] Error(string reason) => Encoding.ASCII.GetBytes($"ERR {reason.ReplaceLineEndings(" ")}\n");
}
