using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>One request as a <see cref="ScriptedHttp1App"/> received it.</summary>
public sealed record AppRequest(int Connection, string RequestLine, string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body, IReadOnlyList<string> Trailers)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>A parsed HTTP/1 response as a raw caller read it.</summary>
public sealed record RawResponse(string StatusLine, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body)
{
    public int Status => int.Parse(StatusLine.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);

    public string BodyText => Encoding.ASCII.GetString(Body);

    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>Line and byte reads over a stream, for the raw HTTP/1 peers of the tests.</summary>
public sealed class ByteReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    /// <summary>A line without its CRLF (or bare LF), or null at end of stream.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end && !await FillAsync(ct))
            {
                return line.Count == 0 ? null : throw new IOException("the stream ended inside a line");
            }

            byte b = _buffer[_start++];
            if (b == '\n')
            {
                if (line.Count > 0 && line[^1] == '\r')
                {
                    line.RemoveAt(line.Count - 1);
                }

                return Encoding.Latin1.GetString([.. line]);
            }

            line.Add(b);
        }
    }

    public async Task<byte[]> ReadExactlyAsync(long count, CancellationToken ct)
    {
        var result = new MemoryStream();
        while (result.Length < count)
        {
            if (_start == _end && !await FillAsync(ct))
            {
                throw new IOException($"the stream ended after {result.Length} of {count} bytes");
            }

            int take = (int)Math.Min(count - result.Length, _end - _start);
            result.Write(_buffer, _start, take);
            _start += take;
        }

        return result.ToArray();
    }

    public async Task<byte[]> ReadToEndAsync(CancellationToken ct)
    {
        var result = new MemoryStream();
        result.Write(_buffer, _start, _end - _start);
        _start = _end;
        while (await FillAsync(ct))
        {
            result.Write(_buffer, _start, _end - _start);
            _start = _end;
        }

        return result.ToArray();
    }

    /// <summary>Header field lines up to the blank line.</summary>
    public async Task<List<(string Name, string Value)>> ReadFieldsAsync(CancellationToken ct)
    {
        var fields = new List<(string, string)>();
        while (await ReadLineAsync(ct) is { Length: > 0 } line)
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            fields.Add((line[..colon], line[(colon + 1)..].Trim()));
        }

        return fields;
    }

    /// <summary>A chunked body: its data and its trailer lines.</summary>
    public async Task<(byte[] Data, List<string> Trailers)> ReadChunkedAsync(CancellationToken ct)
    {
        var data = new MemoryStream();
        while (true)
        {
            string sizeLine = await ReadLineAsync(ct) ?? throw new IOException("the stream ended in a chunked body");
            int semicolon = sizeLine.IndexOf(';', StringComparison.Ordinal);
            long size = Convert.ToInt64(semicolon < 0 ? sizeLine : sizeLine[..semicolon], 16);
            if (size == 0)
            {
                break;
            }

            data.Write(await ReadExactlyAsync(size, ct));
            await ReadLineAsync(ct);
        }

        var trailers = new List<string>();
        while (await ReadLineAsync(ct) is { Length: > 0 } trailer)
        {
            trailers.Add(trailer);
        }

        return (data.ToArray(), trailers);
    }

    private async Task<bool> FillAsync(CancellationToken ct)
    {
        _start = 0;
        _end = await stream.ReadAsync(_buffer, ct);
        return _end > 0;
    }
}

/// <summary>
/// A plaintext HTTP/1.1 app written on raw sockets, so a test decides every byte of its answers: per request, the
/// script returns the raw response or null (close the connection without answering). It never closes an idle
/// keep-alive connection itself. Records every request and its connection number.
/// </summary>
public sealed class ScriptedHttp1App : IAsyncDisposable
{
    private readonly TcpTestServer _server;
    private readonly Func<AppRequest, Task<byte[]?>> _script;
    private int _connections;
    private int _open;

    private ScriptedHttp1App(Func<AppRequest, Task<byte[]?>> script)
    {
        _script = script;
        _server = TcpTestServer.Start(ServeAsync);
    }

    public int Port => _server.Port;

    public ConcurrentQueue<AppRequest> Requests { get; } = new();

    /// <summary>Connections currently open toward the app.</summary>
    public int Open => Volatile.Read(ref _open);

    public static ScriptedHttp1App Start(Func<AppRequest, Task<byte[]?>> script) => new(script);

    /// <summary>200 with a Content-Length body naming the method and target.</summary>
    public static byte[] Ok(AppRequest request, string? extraHeaders = null)
    {
        string body = $"method={request.Method} target={request.Target}\n";
        return Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n{extraHeaders}\r\n{body}");
    }

    public async Task<AppRequest> WaitForRequestAsync(Func<AppRequest, bool> condition, string description)
    {
        var deadline = DateTime.UtcNow + Timeouts.Short;
        while (true)
        {
            if (Requests.FirstOrDefault(condition) is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the app never received {description}; it received: {string.Join(" | ", Requests.Select(r => r.RequestLine))}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until no connection toward the app is open (the agent closed them all).</summary>
    public async Task WaitUntilNoneOpenAsync(string description)
    {
        var deadline = DateTime.UtcNow + Timeouts.Short;
        while (Open != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Open} app connection(s) still open: {description}");
            }

            await Task.Delay(20);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken ct)
    {
        int connection = Interlocked.Increment(ref _connections);
        Interlocked.Increment(ref _open);
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var reader = new ByteReader(stream);
            while (true)
            {
                string? requestLine;
                try
                {
                    requestLine = await reader.ReadLineAsync(ct);
                }
                catch (IOException)
                {
                    return;
                }

                if (requestLine is null)
                {
                    return;
                }

                string[] parts = requestLine.Split(' ');
                List<(string Name, string Value)> headers = await reader.ReadFieldsAsync(ct);
                byte[] body = [];
                List<string> trailers = [];
                string? length = headers.FirstOrDefault(h => h.Name.Equals("content-length", StringComparison.OrdinalIgnoreCase)).Value;
                if (headers.Any(h => h.Name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)))
                {
                    (body, trailers) = await reader.ReadChunkedAsync(ct);
                }
                else if (length is not null)
                {
                    body = await reader.ReadExactlyAsync(long.Parse(length, System.Globalization.CultureInfo.InvariantCulture), ct);
                }

                var request = new AppRequest(connection, requestLine, parts[0], parts.Length > 1 ? parts[1] : "", headers, body, trailers);
                Requests.Enqueue(request);
                byte[]? response = await _script(request);
                if (response is null)
                {
                    return; // close without answering
                }

                await stream.WriteAsync(response, ct);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

/// <summary>A raw plaintext HTTP/1 caller: writes bytes as given, reads responses as they come.</summary>
public sealed class RawHttp1Caller : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private RawHttp1Caller(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        Reader = new ByteReader(_stream);
    }

    public ByteReader Reader { get; }

    public static async Task<RawHttp1Caller> ConnectAsync(int port, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
        return new RawHttp1Caller(socket);
    }

    /// <summary>Sends the bytes in one send call (one packet on loopback).</summary>
    public async Task SendAsync(string text, CancellationToken ct) => await _socket.SendAsync(Encoding.Latin1.GetBytes(text), ct);

    /// <summary>
    /// Reads one response: Content-Length or chunked bodies by their framing, others until the connection closes
    /// (HEAD-less tests only).
    /// </summary>
    public async Task<RawResponse> ReadResponseAsync(CancellationToken ct)
    {
        string statusLine = await Reader.ReadLineAsync(ct) ?? throw new IOException("the agent closed the connection before answering");
        List<(string Name, string Value)> headers = await Reader.ReadFieldsAsync(ct);
        string? length = headers.FirstOrDefault(h => h.Name.Equals("content-length", StringComparison.OrdinalIgnoreCase)).Value;
        byte[] body;
        if (headers.Any(h => h.Name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)))
        {
            (body, _) = await Reader.ReadChunkedAsync(ct);
        }
        else if (length is not null)
        {
            body = await Reader.ReadExactlyAsync(long.Parse(length, System.Globalization.CultureInfo.InvariantCulture), ct);
        }
        else
        {
            body = await Reader.ReadToEndAsync(ct);
        }

        return new RawResponse(statusLine, headers, body);
    }

    /// <summary>True when the agent closed the connection (end of stream or reset) with nothing more to read.</summary>
    public async Task<bool> IsClosedByPeerAsync(CancellationToken ct)
    {
        try
        {
            return (await Reader.ReadToEndAsync(ct)).Length == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }
}
