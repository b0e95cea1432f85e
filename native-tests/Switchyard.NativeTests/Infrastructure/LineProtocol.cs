using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>A raw TCP line protocol (no HTTP, no TLS) for transport-level intercepts: servers answer each line with "NAME: line".</summary>
public static class LineProtocol
{
    /// <summary>A line protocol: every line is answered with "NAME: line".</summary>
    public static Func<Socket, CancellationToken, Task> Server(string name) => async (socket, ct) =>
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream);
        await using var writer = new StreamWriter(stream) { AutoFlush = true, NewLine = "\n" };
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            await writer.WriteLineAsync($"{name}: {line}");
        }
    };

    public static async Task<string> AskAsync(int port, string line)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await reader.ReadLineAsync(timeout.Token) ?? "<closed>";
    }
}
