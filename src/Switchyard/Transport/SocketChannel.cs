using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Switchyard.Transport;

/// <summary>A TCP connection as a pair of pipes (Pipelines.Sockets.Unofficial).</summary>
public sealed class SocketChannel : Channel
{
    private readonly SocketConnection _connection;
    private Stream? _stream;

    private SocketChannel(Socket socket, string name)
    {
        socket.NoDelay = true;
        Socket = socket;
        // ZeroLengthReads: wait for readability before renting a receive buffer, so idle connections hold none.
        _connection = SocketConnection.Create(socket, TransportOptions.Send, TransportOptions.Receive, SocketConnectionOptions.ZeroLengthReads, name);
    }

    public Socket Socket { get; }

    public EndPoint? RemoteEndPoint => Socket.RemoteEndPoint;

    public override PipeReader Input => _connection.Input;

    public override PipeWriter Output => _connection.Output;

    public static SocketChannel FromAccepted(Socket socket) => new(socket, "downstream");

    /// <summary>Dials host:port within the timeout; throws <see cref="SocketException"/> or <see cref="TimeoutException"/>.</summary>
    public static async Task<SocketChannel> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken cancellation)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        cts.CancelAfter(timeout);
        Socket socket = IPAddress.TryParse(host, out IPAddress? address)
            ? new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address is not null)
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cts.Token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(host, port, cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"connect to {host}:{port} timed out after {timeout.TotalMilliseconds:0} ms");
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new SocketChannel(socket, "upstream");
    }

    /// <summary>The connection as a Stream, for SslStream to run over the same pipes.</summary>
    public Stream AsStream() => _stream ??= new DuplexPipeStream(_connection);

    /// <summary>Waits for the first bytes without consuming them (e.g. to tell a TLS ClientHello from plaintext).</summary>
    public async ValueTask<int> PeekFirstByteAsync(CancellationToken cancellation)
    {
        ReadResult result = await Input.ReadAsync(cancellation).ConfigureAwait(false);
        int first = result.Buffer.IsEmpty ? -1 : result.Buffer.FirstSpan[0];
        Input.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
        return first;
    }

    /// <summary>Flushes (the send pipe's flush waits until the socket took every byte), then FIN.</summary>
    public override async ValueTask CloseOutputAsync()
    {
        await Output.FlushAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false); // P.S.U's send loop ends with Shutdown(Send)
    }

    public override bool IsIdleAndOpen()
    {
        if (!Input.TryRead(out ReadResult result))
        {
            return true; // nothing arrived, not even a FIN
        }

        bool idle = result.Buffer.IsEmpty && !result.IsCompleted && !result.IsCanceled;
        Input.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
        return idle;
    }

    public override void Abort()
    {
        try
        {
            Socket.LingerState = new LingerOption(true, 0); // close with RST: the peer must not take this for a clean end
            Socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public override ValueTask DisposeAsync()
    {
        _connection.Dispose();
        Socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
