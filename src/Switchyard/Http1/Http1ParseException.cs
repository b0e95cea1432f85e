using System.Diagnostics.CodeAnalysis;

namespace Switchyard.Http1;

/// <summary>
/// A malformed, ambiguous or oversized HTTP/1 message. <see cref="Exception.Message"/> is a short one-line reason
/// that the proxy sends as the body of its <c>400</c> (or <c>502</c> for an upstream response) before closing:
/// after a framing error the connection can no longer be trusted to be in sync.
/// </summary>
public sealed class Http1ParseException : Exception
{
    public Http1ParseException(string reason)
        : base(reason)
    {
    }

    public Http1ParseException()
        : base("malformed HTTP/1 message")
    {
    }

    public Http1ParseException(string reason, Exception innerException)
        : base(reason, innerException)
    {
    }

    /// <summary>The one-line reason (same as <see cref="Exception.Message"/>).</summary>
    public string Reason => Message;

    [DoesNotReturn]
    internal static void Throw(string reason) => throw new Http1ParseException(reason);
}
