using System.Net.Sockets;

namespace Switchyard.Config;

/// <summary>A config error: the file, the JSON path inside it and the reason, printed as one line.</summary>
public sealed class ConfigException(string file, string jsonPath, string reason) : Exception($"{file}: {jsonPath}: {reason}")
{
    public string File { get; } = file;
    public string JsonPath { get; } = jsonPath;
    public string Reason { get; } = reason;

    /// <summary>
    /// A listen address that cannot be bound is a config error too (SPEC "Exit codes"):
    /// <c>config.json: $.ports[1].listen: 0.0.0.0:9903 is already in use</c>.
    /// </summary>
    public static ConfigException Listen(string file, string jsonPath, string address, SocketException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new ConfigException(file, jsonPath, ListenReason(address, e.SocketErrorCode));
    }

    /// <summary>
    /// A listen address as the user thinks of it: a bare port number listens on every interface (IPv6 any, dual
    /// mode), shown as 0.0.0.0:PORT.
    /// </summary>
    public static string Address(System.Net.IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return endPoint.Address.Equals(System.Net.IPAddress.IPv6Any) ? $"0.0.0.0:{endPoint.Port}" : Endpoints.Format(endPoint);
    }

    /// <summary>"ADDRESS is already in use", or "cannot listen on ADDRESS: REASON".</summary>
    public static string ListenReason(string address, SocketError error) => error switch
    {
        SocketError.AddressAlreadyInUse => $"{address} is already in use",
        SocketError.AccessDenied => $"cannot listen on {address}: permission denied (ports below 1024 need the NET_BIND_SERVICE capability)",
        _ => $"cannot listen on {address}: {Diagnostics.ErrorText.Socket(error)}",
    };
}
