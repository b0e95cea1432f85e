using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;

namespace Switchyard.Diagnostics;

/// <summary>
/// Sentences for exceptions the runtime throws, for messages and logs. The binary is built with
/// <c>UseSystemResourceKeys</c>, so a runtime exception's <see cref="Exception.Message"/> is a resource key such as
/// <c>net_ssl_io_renego</c> or <c>UnauthorizedAccess_IODenied_Path</c>: never show one. Each exception is described
/// by its type and error code (errno, <see cref="SocketError"/>); a message is kept only when it is a sentence (an
/// OpenSSL reason, our own exceptions, or the English text of a JIT build).
/// </summary>
public static class ErrorText
{
    /// <summary>What went wrong, in a few words, without resource keys or type names; inner exceptions follow after ": ".</summary>
    public static string Describe(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var parts = new List<string>(3);
        for (Exception? current = e; current is not null && parts.Count < 4; current = current.InnerException)
        {
            string? part = DescribeOne(current);
            if (part is not null && !parts.Contains(part))
            {
                parts.Add(part);
            }
        }

        return parts.Count == 0 ? "unexpected error" : string.Join(": ", parts);
    }

    /// <summary>Why a file could not be read, for "cannot read PATH: {reason}" (a directory, permission denied, ...).</summary>
    public static string FileReason(Exception e, string path)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (Directory.Exists(path))
        {
            return "is a directory, not a file";
        }

        return e switch
        {
            FileNotFoundException or DirectoryNotFoundException => "file not found",
            UnauthorizedAccessException => "permission denied",
            PathTooLongException => "path too long",
            IOException io => IoReason(io) ?? "read error",
            _ => Describe(e),
        };
    }

    /// <summary>A socket error in words: "address already in use", "connection refused".</summary>
    public static string Socket(SocketError error) => error switch
    {
        SocketError.AddressAlreadyInUse => "address already in use",
        SocketError.AccessDenied => "permission denied",
        SocketError.AddressNotAvailable => "address not available on this host",
        SocketError.AddressFamilyNotSupported => "address family not supported",
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset by peer",
        SocketError.ConnectionAborted => "connection aborted",
        SocketError.TimedOut => "timed out",
        SocketError.HostNotFound => "host not found",
        SocketError.TryAgain => "host name lookup failed for now (try again)",
        SocketError.NoData => "host name has no address",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.NetworkDown => "network down",
        SocketError.NetworkReset => "connection reset by the network",
        SocketError.Shutdown => "connection already shut down",
        SocketError.NotConnected => "not connected",
        SocketError.OperationAborted => "operation aborted",
        SocketError.Interrupted => "interrupted",
        SocketError.MessageSize => "datagram too large",
        SocketError.NoBufferSpaceAvailable => "no buffer space available",
        SocketError.TooManyOpenSockets => "too many open files",
        SocketError.InvalidArgument => "invalid argument",
        SocketError.Fault => "bad address",
        _ => $"socket error {(int)error}",
    };

    /// <summary>
    /// True when <paramref name="message"/> looks like a runtime resource key rather than a sentence: one word with an
    /// underscore (<c>net_io_eof</c>, <c>UnauthorizedAccess_IODenied_Path</c>), a CamelCase word
    /// (<c>UnmappedJsonProperty</c>), or such a word followed by ", " arguments.
    /// </summary>
    public static bool LooksLikeResourceKey(string? message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return true;
        }

        string first = message.TrimStart().Split([' ', ','], 2)[0];
        if (first.Length == 0)
        {
            return false;
        }

        if (first.Contains('_', StringComparison.Ordinal))
        {
            return true; // net_io_eof, UnauthorizedAccess_IODenied_Path: sentences do not start with a snake_case word
        }

        // CamelCase (UnmappedJsonProperty): an upper-case letter after a lower-case one, alone or followed by ", " arguments.
        bool camel = false;
        for (int i = 1; i < first.Length && !camel; i++)
        {
            camel = char.IsUpper(first[i]) && char.IsLower(first[i - 1]);
        }

        return camel && (!message.Contains(' ', StringComparison.Ordinal) || message.Contains(", ", StringComparison.Ordinal));
    }

    /// <summary>Resource keys seen on a proxy's path, in words (SslStream and the socket stream throw them).</summary>
    private static string? KnownKey(string message)
    {
        string key = message.Split(',', 2)[0].Trim();
        return key switch
        {
            "net_ssl_io_renego" => "the peer asked for a TLS renegotiation, which is not supported",
            "net_frame_read_size" or "net_io_eof" or "net_auth_eof" => "the peer closed the connection in the middle of a TLS record",
            "net_io_connectionclosed" => "the peer closed the connection",
            "net_auth_alert" or "net_ssl_handshake_failed_error" => "the TLS handshake failed",
            "net_ssl_io_frame" => "the peer sent data that is not TLS",
            "net_io_readfailure" => "read failed",
            "net_io_writefailure" => "write failed",
            "net_ssl_certificate_exist" => "the TLS certificate could not be used",
            "net_auth_SSPI" or "net_auth_message_not_encrypted" => "the TLS handshake failed",
            "net_ssl_io_already_shutdown" => "TLS already shut down",
            "ObjectDisposed_Generic" or "ObjectDisposed_ObjectName_Name" => "the connection was already closed",
            "OperationCanceled" => "cancelled",
            "Cryptography_PrivateKey_DoesNotMatch" => "the private key does not match the certificate",
            "UnauthorizedAccess_IODenied_Path" or "UnauthorizedAccess_IODenied_NoPathName" => "permission denied",
            _ => null,
        };
    }

    private static string? DescribeOne(Exception e)
    {
        switch (e)
        {
            case SocketException s:
                return Socket(s.SocketErrorCode);
            case OperationCanceledException:
                return "cancelled";
            case TimeoutException when LooksLikeResourceKey(e.Message):
                return "timed out";
            case ObjectDisposedException:
                return "the connection was already closed";
            case AggregateException a when a.InnerExceptions.Count > 0:
                return null; // the inner exception says it
        }

        string message = e.Message;
        if (!LooksLikeResourceKey(message))
        {
            // A sentence: ours, OpenSSL's ("error:0A000086:SSL routines::certificate verify failed"), or a JIT build's.
            return message.TrimEnd('.');
        }

        if (KnownKey(message) is { } known)
        {
            return known;
        }

        return e switch
        {
            AuthenticationException => "the TLS handshake failed",
            FileNotFoundException or DirectoryNotFoundException => "file not found",
            UnauthorizedAccessException => "permission denied",
            IOException io => IoReason(io) ?? (e.InnerException is null ? "the connection broke" : null),
            CryptographicException => "invalid cryptographic data",
            FormatException => "invalid format",
            ArgumentException => "invalid value",
            InvalidOperationException => "the connection was in a state that does not allow this",
            _ => null,
        };
    }

    /// <summary>An IOException's errno (Unix puts it in HResult when it has no better exception type).</summary>
    private static string? IoReason(IOException e) => e.HResult switch
    {
        1 or 13 => "permission denied", // EPERM, EACCES
        2 => "file not found",
        5 => "input/output error",
        21 => "is a directory, not a file",
        24 or 23 => "too many open files",
        28 => "no space left on device",
        32 => "broken pipe (the peer closed the connection)",
        104 => "connection reset by peer",
        110 => "timed out",
        111 => "connection refused",
        _ => null,
    };
}
