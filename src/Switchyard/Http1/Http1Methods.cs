using System.Text;

namespace Switchyard.Http1;

/// <summary>The registered methods as shared string instances, so a parsed common method allocates nothing.</summary>
public static class Http1Methods
{
    public const string Get = "GET";
    public const string Post = "POST";
    public const string Put = "PUT";
    public const string Delete = "DELETE";
    public const string Head = "HEAD";
    public const string Options = "OPTIONS";
    public const string Patch = "PATCH";
    public const string Connect = "CONNECT";
    public const string Trace = "TRACE";

    /// <summary>The interned string for a common method (methods are case-sensitive, RFC 9110 §9.1), else a new string.</summary>
    public static string Intern(ReadOnlySpan<byte> method) => method.Length switch
    {
        3 when method.SequenceEqual("GET"u8) => Get,
        3 when method.SequenceEqual("PUT"u8) => Put,
        4 when method.SequenceEqual("POST"u8) => Post,
        4 when method.SequenceEqual("HEAD"u8) => Head,
        5 when method.SequenceEqual("PATCH"u8) => Patch,
        5 when method.SequenceEqual("TRACE"u8) => Trace,
        6 when method.SequenceEqual("DELETE"u8) => Delete,
        7 when method.SequenceEqual("OPTIONS"u8) => Options,
        7 when method.SequenceEqual("CONNECT"u8) => Connect,
        _ => Encoding.ASCII.GetString(method),
    };
}
