using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Switchyard.Transport;

/// <summary>
/// A TCP connection, used one of two ways, chosen by the first use: as a pair of pipes
/// (Pipelines.Sockets.Unofficial; plaintext codecs, relays, admin, tunnel), or as a plain socket stream under
/// SslStream (<see cref="AsStream"/> before the pipes were touched). The TLS path skips the socket pipes:
/// SslStream reads records straight from the socket into its own buffer and writes each encrypted flush with one
/// send, without the pipe loops, the extra copy and the FIONREAD per read in between (perf/RESULTS.md, perf-h1).
/// </summary>
public sealed class SocketChannel : Channel
{
    private readonly string _name;
    private readonly Lock _gate = new();
    private SocketConnection? _connection;
    private CountingNetworkStream? _direct;
    private Stream? _stream;

    private SocketChannel(Socket socket, string name)
    {
        socket.NoDelay = true;
        Socket = socket;
        _name = name;
    }

    public Socket Socket { get; }

    public EndPoint? RemoteEndPoint => Socket.RemoteEndPoint;

    public override PipeReader Input => Pipes.Input;

    public override PipeWriter Output => Pipes.Output;

    /// <summary>The socket pipes, started on first use; never once the socket is read directly as a stream.</summary>
    private SocketConnection Pipes
    {
        get
        {
            if (Volatile.Read(ref _connection) is { } connection)
            {
                return connection;
            }

            lock (_gate)
            {
                if (_direct is not null)
                {
                    throw new InvalidOperationException("the socket is already read as a stream (AsStream), not through pipes");
                }

                // ZeroLengthReads: wait for readability before renting a receive buffer, so idle connections hold none.
                return _connection ??= SocketConnection.Create(Socket, TransportOptions.Send, TransportOptions.Receive, SocketConnectionOptions.ZeroLengthReads, _name);
            }
        }
    }

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

    /// <summary>
    /// The connection as a Stream, for SslStream: the socket itself when the pipes were never used (zero-byte
    /// reads pass through, so an idle TLS connection holds no buffer), else a stream over the pipes (a tunnel
    /// connection whose hello was read through them).
    /// </summary>
    public override Stream AsStream()
    {
        lock (_gate)
        {
            return _stream ??= _connection is null
                ? _direct = new CountingNetworkStream(Socket)
                : new DuplexPipeStream(_connection);
        }
    }

    /// <summary>Bytes read from the socket (TLS records for a decrypted connection, heads included), by either path.</summary>
    public long WireBytesRead => _direct?.BytesRead ?? Volatile.Read(ref _connection)?.BytesRead ?? 0;

    /// <summary>Bytes written to the socket, by either path.</summary>
    public long WireBytesWritten => _direct?.BytesWritten ?? Volatile.Read(ref _connection)?.BytesSent ?? 0;

    /// <summary>
    /// Copies the bytes that have arrived (at most <paramref name="into"/>'s length) without consuming them; waits only
    /// until there is one. -1 when the peer closed first. Used to tell a TLS ClientHello from plaintext, and to read it
    /// before SslStream does: the bytes stay for whoever reads next (SslStream or the pipes; MSG_PEEK on the socket).
    /// </summary>
    public async ValueTask<int> PeekAsync(Memory<byte> into, CancellationToken cancellation)
    {
        if (Volatile.Read(ref _connection) is null)
        {
            int n = await Socket.ReceiveAsync(into, SocketFlags.Peek, cancellation).ConfigureAwait(false);
            return n == 0 ? -1 : n;
        }

        ReadResult result = await Input.ReadAsync(cancellation).ConfigureAwait(false);
        System.Buffers.ReadOnlySequence<byte> buffer = result.Buffer;
        int count = (int)Math.Min(buffer.Length, into.Length);
        System.Buffers.BuffersExtensions.CopyTo(buffer.Slice(0, count), into.Span);
        Input.AdvanceTo(buffer.Start, buffer.Start);
        return count == 0 ? -1 : count;
    }

    /// <summary>Flushes (the send pipe's flush waits until the socket took every byte), then FIN.</summary>
    public override async ValueTask CloseOutputAsync()
    {
        if (_direct is not null)
        {
            Socket.Shutdown(SocketShutdown.Send); // every write on the stream completed when the socket took it
            return;
        }

        await Output.FlushAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false); // P.S.U's send loop ends with Shutdown(Send)
    }

    public override bool IsIdleAndOpen()
    {
        if (_direct is not null)
        {
            try
            {
                return !Socket.Poll(0, SelectMode.SelectRead); // readable = bytes, a FIN or an error arrived
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }

        ReadResult result;
        try
        {
            if (!Input.TryRead(out result))
            {
                return true; // nothing arrived, not even a FIN
            }
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            return false; // the receive side failed (a reset): certainly not open
        }

        bool idle = result.Buffer.IsEmpty && !result.IsCompleted && !result.IsCanceled;
        Input.AdvanceTo(result.Buffer.Start, result.Buffer.Start);
        return idle;
    }

    /// <summary>The socket pipes stopped on ETIMEDOUT: the kernel's TCP_USER_TIMEOUT ended the connection (<see cref="WriteStall"/>).</summary>
    public bool EndedByTimeout => Volatile.Read(ref _connection) is { SocketError: SocketError.TimedOut };

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
        _connection?.Dispose();
        _direct?.Dispose();
        Socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
