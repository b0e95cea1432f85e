using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>
/// A minimal h2c (prior knowledge) app on 127.0.0.1 that counts the streams open at it, at the HTTP/2 level: a stream
/// opens with its HEADERS and ends only with the peer's RST_STREAM or the end of its connection (requests are never
/// answered, so no exchange ends any other way). <see cref="MaxOpen"/> is the most that were open at once, over all
/// connections. A request for <see cref="BarrierPath"/> is answered at once (200, no body) and not counted: its answer
/// tells a test that every frame the peer sent before it on that connection has been read.
/// </summary>
public sealed class CountingH2cApp : IAsyncDisposable
{
    public const string BarrierPath = "/barrier";

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Lock _sync = new();
    private readonly List<string> _failures = [];
    private readonly Task _accepting;
    private int _open;
    private int _maxOpen;
    private int _opened;
    private int _resets;

    private readonly TaskCompletionSource _accept = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Socket> _fillers = [];

    private CountingH2cApp(bool slowToAccept)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        if (slowToAccept)
        {
            // A listen queue of one, filled by our own connections and not accepted: the kernel drops the next SYN,
            // and the peer's connect waits for its retransmission (1 s later) to get in.
            _listener.Start(1);
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            for (int i = 0; i < 3; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                _fillers.Add(filler);
                try
                {
                    filler.ConnectAsync(IPAddress.Loopback, Port).Wait(TimeSpan.FromMilliseconds(300));
                }
                catch (AggregateException)
                {
                }
            }
        }
        else
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _accept.SetResult();
        }

        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public int Open { get { lock (_sync) { return _open; } } }

    public int MaxOpen { get { lock (_sync) { return _maxOpen; } } }

    /// <summary>Streams opened in all (barrier requests not counted).</summary>
    public int Opened { get { lock (_sync) { return _opened; } } }

    /// <summary>Connections accepted so far.</summary>
    public int Connections { get { lock (_sync) { return _connections.Count; } } }

    /// <summary>How connections ended, when not by the peer closing between frames (for assertion messages).</summary>
    public string Failures { get { lock (_sync) { return string.Join("; ", _failures); } } }

    /// <summary>RST_STREAMs received for counted streams.</summary>
    public int Resets { get { lock (_sync) { return _resets; } } }

    /// <summary>
    /// Starts listening. With <paramref name="slowToAccept"/>, the app accepts nothing until <see cref="StartAccepting"/>
    /// and its listen queue is full, so a peer's connect is still pending then (the kernel drops its SYN; the
    /// retransmission a second later gets in).
    /// </summary>
    public static CountingH2cApp Start(bool slowToAccept = false) => new(slowToAccept);

    /// <summary>Closes the connections that filled the listen queue and starts accepting.</summary>
    public void StartAccepting()
    {
        foreach (var filler in _fillers)
        {
            filler.Dispose();
        }

        _accept.TrySetResult();
    }

    private async Task AcceptAsync()
    {
        try
        {
            await _accept.Task.WaitAsync(_stop.Token);
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                lock (_sync)
                {
                    _connections.Add(ServeAsync(socket));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var open = new HashSet<int>();
        using var decoder = new HpackDecoder();
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            var preface = new byte[24];
            await stream.ReadExactlyAsync(preface, _stop.Token);
            await stream.WriteAsync(Http2FrameClient.Settings((SettingId.MaxConcurrentStreams, 100_000)), _stop.Token);
            var header = new byte[9];
            var block = new List<byte>();
            int blockStream = 0;
            while (true)
            {
                await stream.ReadExactlyAsync(header, _stop.Token);
                int length = (header[0] << 16) | (header[1] << 8) | header[2];
                var type = (FrameType)header[3];
                byte flags = header[4];
                int id = (int)(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF);
                var payload = new byte[length];
                await stream.ReadExactlyAsync(payload, _stop.Token);
                switch (type)
                {
                    case FrameType.Settings when (flags & FrameFlags.Ack) == 0:
                        await stream.WriteAsync(Http2FrameClient.SettingsAck(), _stop.Token);
                        break;
                    case FrameType.Ping when (flags & FrameFlags.Ack) == 0:
                        await stream.WriteAsync(Http2FrameClient.Frame(FrameType.Ping, FrameFlags.Ack, 0, payload), _stop.Token);
                        break;
                    case FrameType.Headers or FrameType.Continuation:
                        if (type == FrameType.Headers)
                        {
                            blockStream = id;
                            block.Clear();
                            block.AddRange(Fragment(payload, flags));
                        }
                        else
                        {
                            block.AddRange(payload);
                        }

                        if ((flags & FrameFlags.EndHeaders) != 0)
                        {
                            var fields = decoder.Decode([.. block]);
                            if (fields.Any(f => f.Key == ":path" && f.Value == BarrierPath))
                            {
                                await stream.WriteAsync(Http2FrameClient.Headers(blockStream, Hpack.Encode([(":status", "200")]), endStream: true), _stop.Token);
                            }
                            else if (fields.Any(f => f.Key == ":path") && open.Add(blockStream))
                            {
                                lock (_sync)
                                {
                                    _opened++;
                                    _maxOpen = Math.Max(_maxOpen, ++_open);
                                }
                            }
                        }

                        break;
                    case FrameType.RstStream:
                        if (open.Remove(id))
                        {
                            lock (_sync)
                            {
                                _open--;
                                _resets++;
                            }
                        }

                        break;
                }
            }
        }
        catch (EndOfStreamException)
        {
            // the peer closed the connection: its streams end with it
        }
        catch (Exception e)
        {
            lock (_sync)
            {
                _failures.Add($"{e.GetType().Name}: {e.Message}");
            }
        }
        finally
        {
            lock (_sync)
            {
                _open -= open.Count;
            }
        }
    }

    private static byte[] Fragment(byte[] payload, byte flags)
    {
        int start = 0;
        int pad = 0;
        if ((flags & FrameFlags.Padded) != 0)
        {
            pad = payload[0];
            start = 1;
        }

        if ((flags & FrameFlags.Priority) != 0)
        {
            start += 5;
        }

        return payload[start..^pad];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var filler in _fillers)
        {
            filler.Dispose();
        }

        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_sync)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
