using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>Frame types of RFC 9113 §6.</summary>
public enum FrameType : byte
{
    Data = 0x0,
    Headers = 0x1,
    Priority = 0x2,
    RstStream = 0x3,
    Settings = 0x4,
    PushPromise = 0x5,
    Ping = 0x6,
    GoAway = 0x7,
    WindowUpdate = 0x8,
    Continuation = 0x9,
}

/// <summary>Error codes of RFC 9113 §7.</summary>
public enum H2Error : uint
{
    NoError = 0x0,
    ProtocolError = 0x1,
    InternalError = 0x2,
    FlowControlError = 0x3,
    SettingsTimeout = 0x4,
    StreamClosed = 0x5,
    FrameSizeError = 0x6,
    RefusedStream = 0x7,
    Cancel = 0x8,
    CompressionError = 0x9,
    ConnectError = 0xa,
    EnhanceYourCalm = 0xb,
    InadequateSecurity = 0xc,
    Http11Required = 0xd,
}

/// <summary>Flag bits (RFC 9113 §6); ACK shares END_STREAM's bit on SETTINGS and PING.</summary>
public static class FrameFlags
{
    public const byte None = 0x0;
    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte Priority = 0x20;
}

/// <summary>SETTINGS identifiers (RFC 9113 §6.5.2).</summary>
public static class SettingId
{
    public const ushort HeaderTableSize = 0x1;
    public const ushort EnablePush = 0x2;
    public const ushort MaxConcurrentStreams = 0x3;
    public const ushort InitialWindowSize = 0x4;
    public const ushort MaxFrameSize = 0x5;
    public const ushort MaxHeaderListSize = 0x6;
}

/// <summary>One frame as read from the wire; <see cref="Fields"/> is set on the frame that completes a field block.</summary>
public sealed record Http2Frame(FrameType Type, byte Flags, int StreamId, byte[] Payload)
{
    public IReadOnlyList<KeyValuePair<string, string>>? Fields { get; init; }

    public bool HasFlag(byte flag) => (Flags & flag) != 0;

    /// <summary>RST_STREAM: its code; GOAWAY: its code (after the last stream id).</summary>
    public H2Error ErrorCode => Type switch
    {
        FrameType.RstStream => (H2Error)BinaryPrimitives.ReadUInt32BigEndian(Payload),
        FrameType.GoAway => (H2Error)BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(4)),
        _ => throw new InvalidOperationException($"{Type} has no error code"),
    };

    public int LastStreamId => (int)(BinaryPrimitives.ReadUInt32BigEndian(Payload) & 0x7FFFFFFF);

    public string DebugData => Type == FrameType.GoAway ? Encoding.UTF8.GetString(Payload.AsSpan(8)) : "";

    /// <summary>The :status of a response field block, when this frame carries one.</summary>
    public int? Status => Fields?.Where(f => f.Key == ":status").Select(f => (int?)int.Parse(f.Value, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();

    public override string ToString() => Type switch
    {
        FrameType.GoAway => $"GOAWAY last={LastStreamId} {ErrorCode} \"{DebugData}\"",
        FrameType.RstStream => $"RST_STREAM #{StreamId} {ErrorCode}",
        FrameType.Headers or FrameType.Continuation when Fields is not null =>
            $"{Type} #{StreamId} flags=0x{Flags:x2} [{string.Join(", ", Fields.Select(f => f.Key + ": " + f.Value))}]",
        _ => $"{Type} #{StreamId} flags=0x{Flags:x2} len={Payload.Length}",
    };
}

/// <summary>How <see cref="Http2FrameClient.CloseAsync"/> ends a connection.</summary>
public enum ClientClose
{
    /// <summary>close(2) as it is: FIN, or RST when unread bytes from the server are left (the kernel decides).</summary>
    Close,

    /// <summary>TLS close_notify, then close(2); over h2c the same as <see cref="Close"/>.</summary>
    CloseNotify,

    /// <summary>RST (SO_LINGER 0).</summary>
    Reset,
}

/// <summary>Every frame the server sent on the connection so far, and how the last wait ended (GOAWAY, close, timeout).</summary>
public sealed record FrameLog(IReadOnlyList<Http2Frame> Frames, bool Closed, string CloseReason, bool TimedOut)
{
    public Http2Frame? GoAway => Frames.LastOrDefault(f => f.Type == FrameType.GoAway);

    public IEnumerable<Http2Frame> OnStream(int streamId) => Frames.Where(f => f.StreamId == streamId);

    public Http2Frame? ResetOf(int streamId) => OnStream(streamId).FirstOrDefault(f => f.Type == FrameType.RstStream);

    public int? StatusOf(int streamId) => OnStream(streamId).Select(f => f.Status).FirstOrDefault(s => s is not null);

    public string BodyOf(int streamId) =>
        Encoding.UTF8.GetString([.. OnStream(streamId).Where(f => f.Type == FrameType.Data).SelectMany(f => DataPayload(f))]);

    public override string ToString() =>
        $"{Frames.Count} frames{(Closed ? ", then closed (" + CloseReason + ")" : "")}{(TimedOut ? ", then nothing more (timed out)" : "")}:\n  "
        + string.Join("\n  ", Frames.TakeLast(40));

    private static byte[] DataPayload(Http2Frame data)
    {
        if (!data.HasFlag(FrameFlags.Padded))
        {
            return data.Payload;
        }

        int pad = data.Payload[0];
        return data.Payload[1..^pad];
    }
}

/// <summary>
/// A scriptable HTTP/2 client for protocol-level tests: TLS with ALPN h2 (SslStream) or h2c prior knowledge, the
/// connection preface, raw frames out, frames in (field blocks decoded, the server's SETTINGS acknowledged, the
/// windows given back for every DATA frame read).
/// One reader at a time; writing may run alongside it (writes are serialised).
/// </summary>
public sealed class Http2FrameClient : IAsyncDisposable
{
    public static readonly byte[] Preface = Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly HpackDecoder _decoder = new();
    private readonly List<byte> _pendingBlock = [];
    private readonly byte[] _header = new byte[9];
    private long _bytesWritten;

    private Http2FrameClient(Socket socket, Stream stream, bool tls)
    {
        _socket = socket;
        _stream = stream;
        IsTls = tls;
    }

    public bool IsTls { get; }

    /// <summary>"https" or "http", for the :scheme pseudo-header.</summary>
    public string Scheme => IsTls ? "https" : "http";

    /// <summary>Bytes handed to the connection so far (preface included).</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>The parameters of the server's first SETTINGS frame (after <see cref="HandshakeAsync"/>).</summary>
    public IReadOnlyDictionary<ushort, uint> ServerSettings { get; private set; } = new Dictionary<ushort, uint>();

    /// <summary>The server's SETTINGS_MAX_FRAME_SIZE (16384 unless it said otherwise).</summary>
    public int ServerMaxFrameSize => ServerSettings.TryGetValue(SettingId.MaxFrameSize, out var size) ? (int)size : 16384;

    /// <summary>Every frame read so far, in order.</summary>
    public List<Http2Frame> Received { get; } = [];

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>; with <paramref name="tls"/>, TLS for "localhost" offering only h2.</summary>
    public static async Task<Http2FrameClient> ConnectAsync(int port, bool tls, CancellationToken cancellationToken)
    {
        var socket = await TlsClient.ConnectAsync(port, cancellationToken);
        try
        {
            if (!tls)
            {
                return new Http2FrameClient(socket, new NetworkStream(socket, ownsSocket: false), tls: false);
            }

            SslStream ssl;
            try
            {
                ssl = await TlsClient.AuthenticateAsync(socket, TestPki.Shared.Ca, ["h2"], cancellationToken);
            }
            catch (System.Security.Authentication.AuthenticationException e)
            {
                throw new InvalidOperationException($"the TLS handshake offering only ALPN h2 failed (does the server select h2?): {e.InnerException?.Message ?? e.Message}", e);
            }

            if (ssl.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
            {
                var got = ssl.NegotiatedApplicationProtocol.ToString();
                await ssl.DisposeAsync();
                throw new InvalidOperationException($"the server did not select ALPN h2 (selected: '{got}')");
            }

            return new Http2FrameClient(socket, ssl, tls: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects, sends the preface and SETTINGS, and reads until the server's SETTINGS (which it acknowledges).</summary>
    public static async Task<Http2FrameClient> OpenAsync(int port, bool tls, CancellationToken cancellationToken, params (ushort Id, uint Value)[] settings)
    {
        var client = await ConnectAsync(port, tls, cancellationToken);
        try
        {
            await client.HandshakeAsync(cancellationToken, settings);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>The client preface (magic + SETTINGS), then frames until the server's SETTINGS arrives.</summary>
    public async Task HandshakeAsync(CancellationToken cancellationToken, params (ushort Id, uint Value)[] settings)
    {
        await WriteAsync((byte[])[.. Preface, .. Settings(settings)], cancellationToken);
        while (true)
        {
            var frame = await ReadFrameAsync(cancellationToken)
                ?? throw new IOException($"the server closed the connection before its SETTINGS; frames: {string.Join("; ", Received)}");
            if (frame.Type == FrameType.Settings && !frame.HasFlag(FrameFlags.Ack))
            {
                var parsed = new Dictionary<ushort, uint>();
                for (int i = 0; i + 6 <= frame.Payload.Length; i += 6)
                {
                    parsed[BinaryPrimitives.ReadUInt16BigEndian(frame.Payload.AsSpan(i))] = BinaryPrimitives.ReadUInt32BigEndian(frame.Payload.AsSpan(i + 2));
                }

                ServerSettings = parsed;
                return;
            }

            if (frame.Type == FrameType.GoAway)
            {
                throw new IOException($"the server said GOAWAY before its SETTINGS: {frame}");
            }
        }
    }

    // ---- building frames ----

    /// <summary>9-byte header + payload.</summary>
    public static byte[] Frame(FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = (byte)type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)streamId & 0x7FFFFFFF);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    public static byte[] Settings(params (ushort Id, uint Value)[] settings)
    {
        var payload = new byte[settings.Length * 6];
        for (int i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(i * 6), settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(i * 6 + 2), settings[i].Value);
        }

        return Frame(FrameType.Settings, FrameFlags.None, 0, payload);
    }

    public static byte[] SettingsAck() => Frame(FrameType.Settings, FrameFlags.Ack, 0, []);

    public static byte[] Ping(ulong opaque)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(payload, opaque);
        return Frame(FrameType.Ping, FrameFlags.None, 0, payload);
    }

    public static byte[] RstStream(int streamId, H2Error error)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)error);
        return Frame(FrameType.RstStream, FrameFlags.None, streamId, payload);
    }

    public static byte[] WindowUpdate(int streamId, uint increment)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, increment & 0x7FFFFFFF);
        return Frame(FrameType.WindowUpdate, FrameFlags.None, streamId, payload);
    }

    public static byte[] Data(int streamId, ReadOnlySpan<byte> data, bool endStream) =>
        Frame(FrameType.Data, endStream ? FrameFlags.EndStream : FrameFlags.None, streamId, data);

    /// <summary>One HEADERS frame (END_HEADERS) carrying <paramref name="block"/>.</summary>
    public static byte[] Headers(int streamId, byte[] block, bool endStream, bool endHeaders = true) =>
        Frame(FrameType.Headers, (byte)((endStream ? FrameFlags.EndStream : 0) | (endHeaders ? FrameFlags.EndHeaders : 0)), streamId, block);

    /// <summary>The request pseudo-headers plus <paramref name="extra"/> fields, as literals.</summary>
    public byte[] RequestBlock(string method, string path, params (string Name, string Value)[] extra) =>
        Hpack.Encode([(":method", method), (":scheme", Scheme), (":authority", "localhost"), (":path", path), .. extra]);

    /// <summary>A HEADERS frame for a request (END_HEADERS; END_STREAM when <paramref name="endStream"/>).</summary>
    public byte[] Request(int streamId, string method, string path, bool endStream = true, params (string Name, string Value)[] extra) =>
        Headers(streamId, RequestBlock(method, path, extra), endStream);

    // ---- writing ----

    /// <summary>Writes (and flushes) raw bytes: one or more frames concatenated.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken);
            await _stream.FlushAsync(cancellationToken);
            Interlocked.Add(ref _bytesWritten, bytes.Length);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public Task SendAsync(CancellationToken cancellationToken, params byte[][] frames) =>
        WriteAsync(frames.SelectMany(f => f).ToArray(), cancellationToken);

    // ---- reading ----

    /// <summary>The next frame, or null at end of stream. Field blocks are decoded; the server's SETTINGS are acknowledged.</summary>
    public async Task<Http2Frame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        if (!await ReadExactlyOrEndAsync(_header, cancellationToken))
        {
            return null;
        }

        int length = (_header[0] << 16) | (_header[1] << 8) | _header[2];
        var type = (FrameType)_header[3];
        byte flags = _header[4];
        int streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(5)) & 0x7FFFFFFF);
        var payload = new byte[length];
        if (!await ReadExactlyOrEndAsync(payload, cancellationToken))
        {
            throw new IOException($"the connection ended inside a {type} frame of {length} bytes");
        }

        var frame = new Http2Frame(type, flags, streamId, payload);
        if (type is FrameType.Headers or FrameType.Continuation)
        {
            _pendingBlock.AddRange(type == FrameType.Headers ? FieldBlockFragment(frame) : payload);
            if (frame.HasFlag(FrameFlags.EndHeaders))
            {
                var fields = _decoder.Decode([.. _pendingBlock]);
                _pendingBlock.Clear();
                frame = frame with { Fields = fields };
            }
        }
        else if (type == FrameType.Settings && !frame.HasFlag(FrameFlags.Ack))
        {
            await TryWriteAsync(SettingsAck(), cancellationToken);
        }
        else if (type == FrameType.Data && length > 0)
        {
            // Received DATA counts against both windows: give it back, so responses of any size flow.
            await TryWriteAsync(frame.HasFlag(FrameFlags.EndStream)
                ? WindowUpdate(0, (uint)length)
                : [.. WindowUpdate(0, (uint)length), .. WindowUpdate(streamId, (uint)length)], cancellationToken);
        }

        Received.Add(frame);
        return frame;
    }

    /// <summary>
    /// Reads until <paramref name="stop"/> accepts a frame (one already received counts), the connection ends, or
    /// <paramref name="timeout"/> passes. The log holds every frame received on the connection so far.
    /// </summary>
    public async Task<FrameLog> ReadUntilAsync(Func<Http2Frame, bool> stop, TimeSpan timeout)
    {
        if (Received.Any(stop))
        {
            return new FrameLog([.. Received], Closed: false, "", TimedOut: false);
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var frame = await ReadFrameAsync(cts.Token);
                if (frame is null)
                {
                    return new FrameLog([.. Received], Closed: true, "end of stream", TimedOut: false);
                }

                if (stop(frame))
                {
                    return new FrameLog([.. Received], Closed: false, "", TimedOut: false);
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return new FrameLog([.. Received], Closed: false, "", TimedOut: true);
        }
        catch (IOException e)
        {
            return new FrameLog([.. Received], Closed: true, e.Message, TimedOut: false);
        }
    }

    /// <summary>Reads until a GOAWAY (or the end of the connection).</summary>
    public Task<FrameLog> ReadUntilGoAwayAsync(TimeSpan timeout) => ReadUntilAsync(f => f.Type == FrameType.GoAway, timeout);

    /// <summary>Reads until the server closes the connection.</summary>
    public Task<FrameLog> ReadUntilClosedAsync(TimeSpan timeout) => ReadUntilAsync(_ => false, timeout);

    /// <summary>Reads until stream <paramref name="streamId"/> ends (END_STREAM or RST_STREAM), an error GOAWAY, or close.</summary>
    public Task<FrameLog> ReadStreamAsync(int streamId, TimeSpan timeout) => ReadUntilAsync(
        f => (f.StreamId == streamId && (f.Type == FrameType.RstStream || (f.Type is FrameType.Data or FrameType.Headers && f.HasFlag(FrameFlags.EndStream))))
             || (f.Type == FrameType.GoAway && f.ErrorCode != H2Error.NoError),
        timeout);

    /// <summary>A write on behalf of the reader (acknowledgements, window updates); the server may already have closed.</summary>
    private async Task TryWriteAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        try
        {
            await WriteAsync(bytes, cancellationToken);
        }
        catch (IOException)
        {
            // Closed after its GOAWAY, or reset: the frame log tells the story.
        }
    }

    private static byte[] FieldBlockFragment(Http2Frame headers)
    {
        int start = 0;
        int pad = 0;
        if (headers.HasFlag(FrameFlags.Padded))
        {
            pad = headers.Payload[0];
            start = 1;
        }

        if (headers.HasFlag(FrameFlags.Priority))
        {
            start += 5;
        }

        return headers.Payload[start..^pad];
    }

    private async Task<bool> ReadExactlyOrEndAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                if (read == 0)
                {
                    return false;
                }

                throw new IOException($"the connection ended after {read} of {buffer.Length} bytes");
            }

            read += n;
        }

        return true;
    }

    /// <summary>
    /// Ends the connection without reading what the server sent since the last read, as a client that is done may:
    /// <see cref="ClientClose.Close"/> closes the socket as it is (FIN, or RST when the server's bytes are left unread:
    /// the kernel's choice), <see cref="ClientClose.CloseNotify"/> sends TLS close_notify first (over TLS),
    /// <see cref="ClientClose.Reset"/> closes with RST (SO_LINGER 0).
    /// </summary>
    public async ValueTask CloseAsync(ClientClose how)
    {
        if (how == ClientClose.Reset)
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        else if (how == ClientClose.CloseNotify && _stream is SslStream ssl)
        {
            try
            {
                await ssl.ShutdownAsync();
            }
            catch (IOException)
            {
                // The server closed first: the socket is closed below all the same.
            }
        }

        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.DisposeAsync();
        }
        catch (IOException)
        {
        }

        _socket.Dispose();
        _decoder.Dispose();
        _writeLock.Dispose();
    }
}
