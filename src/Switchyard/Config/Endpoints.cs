using System.Globalization;
using System.Net;

namespace Switchyard.Config;

/// <summary>Parses "HOST:PORT", "[v6]:PORT" and bare port numbers.</summary>
public static class Endpoints
{
    public static bool TryParseHostPort(string? text, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':'))
        {
            return false; // an IPv6 address must be bracketed
        }

        return host.Length > 0 && TryParsePort(text[(colon + 1)..], out port);
    }

    public static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;

    /// <summary>A listen value: a port number binds every interface; "HOST:PORT" binds that address.</summary>
    public static bool TryParseListen(string? text, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (text is null)
        {
            return false;
        }

        if (TryParsePort(text, out int bare))
        {
            endPoint = new IPEndPoint(IPAddress.IPv6Any, bare);
            return true;
        }

        if (!TryParseHostPort(text, out string host, out int port))
        {
            return false;
        }

        IPAddress? address = host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" or "0.0.0.0" => IPAddress.Any,
            // IPAddress.TryParse also takes short IPv4 forms ("10" = 0.0.0.10); only a dotted quad is meant here.
            _ => IPAddress.TryParse(host, out IPAddress? a) && (a.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || host.Count(c => c == '.') == 3) ? a : null,
        };
        if (address is null)
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }

    public static string Format(IPEndPoint endPoint) =>
        endPoint.Address.Equals(IPAddress.IPv6Any) ? $"*:{endPoint.Port}" : endPoint.ToString();
}
