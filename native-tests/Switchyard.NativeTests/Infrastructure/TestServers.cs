using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>
/// A TCP server on 127.0.0.1 that runs a handler per accepted connection. Handlers run independently,
/// so the agent's protocol probes (extra short connections) never disturb the connection under test.
/// </summary>
public sealed class TcpTestServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<Socket, CancellationToken, Task> _handler;
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _acceptLoop;

    private TcpTestServer(Socket listener, Func<Socket, CancellationToken, Task> handler)
    {
        _listener = listener;
        _handler = handler;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => _connections.Count;

    /// <summary>Exceptions thrown by handlers (probe connections that hang up early end up here too).</summary>
    public ConcurrentQueue<Exception> Errors { get; } = new();

    public static TcpTestServer Start(Func<Socket, CancellationToken, Task> handler, int port = 0)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(128);
        return new TcpTestServer(listener, handler);
    }

    /// <summary>Echoes every byte back; on end of input half-closes and finishes.</summary>
    public static TcpTestServer StartEcho(int port = 0) => Start(async (socket, ct) =>
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var buffer = new byte[Payload.ChunkSize];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, ct);
            if (read == 0)
            {
                break;
            }

            await stream.WriteAsync(buffer.AsMemory(0, read), ct);
        }

        socket.Shutdown(SocketShutdown.Send);
    }, port);

    /// <summary>TLS echo: handshake with <paramref name="certificate"/>, echo until close_notify/EOF, then close_notify back.</summary>
    public static TcpTestServer StartTlsEcho(X509Certificate2 certificate, int port = 0) => Start(async (socket, ct) =>
    {
        await using var network = new NetworkStream(socket, ownsSocket: false);
        await using var tls = new SslStream(network, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, ct);
        var buffer = new byte[Payload.ChunkSize];
        while (true)
        {
            var read = await tls.ReadAsync(buffer, ct);
            if (read == 0)
            {
                break;
            }

            await tls.WriteAsync(buffer.AsMemory(0, read), ct);
        }

        await tls.ShutdownAsync();
        socket.Shutdown(SocketShutdown.Send);
        var drain = new byte[1024];
        while (await network.ReadAsync(drain, ct) > 0)
        {
        }
    }, port);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _connections.Add(Task.Run(async () =>
            {
                using (socket)
                {
                    try
                    {
                        await _handler(socket, _stop.Token);
                    }
                    catch (Exception e)
                    {
                        Errors.Enqueue(e);
                    }
                }
            }));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await Task.WhenAll([_acceptLoop, .. _connections]).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or IOException or SocketException)
        {
        }

        _stop.Dispose();
    }
}

/// <summary>What the bulk server saw on one connection.</summary>
public sealed record BulkExchange(Digest Received, Digest Sent);

/// <summary>
/// The 64 MiB peer: reads until end of input hashing everything, then writes a seeded pseudo-random
/// response of a fixed length and closes. Plain TCP or TLS (SslStream server).
/// </summary>
public sealed class BulkServer : IAsyncDisposable
{
    private readonly TcpTestServer _server;
    private readonly ConcurrentQueue<BulkExchange> _exchanges = new();

    private BulkServer(long responseLength, int responseSeed, X509Certificate2? certificate)
    {
        _server = TcpTestServer.Start(async (socket, ct) =>
        {
            await using var network = new NetworkStream(socket, ownsSocket: false);
            if (certificate is null)
            {
                var received = await Payload.ReadToEndAsync(network, ct);
                var sent = await Payload.WriteAsync(network, responseLength, responseSeed, ct);
                socket.Shutdown(SocketShutdown.Send);
                _exchanges.Enqueue(new BulkExchange(received, sent));
            }
            else
            {
                await using var tls = new SslStream(network, leaveInnerStreamOpen: true);
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = certificate,
                    EnabledSslProtocols = SslProtocols.None,
                }, ct);
                var received = await Payload.ReadToEndAsync(tls, ct);
                var sent = await Payload.WriteAsync(tls, responseLength, responseSeed, ct);
                await tls.ShutdownAsync();
                socket.Shutdown(SocketShutdown.Send);
                _exchanges.Enqueue(new BulkExchange(received, sent));
            }

            // Wait for the peer to close so the last bytes are not cut off by an RST.
            var drain = new byte[1024];
            while (await network.ReadAsync(drain, ct) > 0)
            {
            }
        });
    }

    public int Port => _server.Port;

    public IReadOnlyCollection<Exception> Errors => _server.Errors;

    public static BulkServer StartPlain(long responseLength, int responseSeed) => new(responseLength, responseSeed, null);

    public static BulkServer StartTls(long responseLength, int responseSeed, X509Certificate2 certificate) =>
        new(responseLength, responseSeed, certificate);

    /// <summary>Waits for a finished exchange that received <paramref name="expectedLength"/> bytes.</summary>
    public async Task<BulkExchange> WaitForExchangeAsync(long expectedLength, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var match = _exchanges.FirstOrDefault(e => e.Received.Length == expectedLength);
            if (match is not null)
            {
                return match;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException(
            $"the bulk server saw no exchange of {expectedLength} bytes within {timeout.TotalSeconds}s; exchanges: " +
            $"[{string.Join("; ", _exchanges)}], handler errors: [{string.Join("; ", _server.Errors.Select(e => e.GetType().Name + ": " + e.Message))}]");
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
