using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Switchyard.Http2;
using Switchyard.Http2.Hpack;
using Switchyard.Transport;

namespace Switchyard.Tests.Http2.Connection;

/// <summary>An in-memory connection: what one side writes, the other reads.</summary>
internal sealed class PipeChannel(PipeReader input, PipeWriter output) : Channel
{
    public override PipeReader Input => input;

    public override PipeWriter Output => output;

    public static (PipeChannel A, PipeChannel B) CreatePair()
    {
        var ab = new Pipe(new PipeOptions(useSynchronizationContext: false));
        var ba = new Pipe(new PipeOptions(useSynchronizationContext: false));
        return (new PipeChannel(ba.Reader, ab.Writer), new PipeChannel(ab.Reader, ba.Writer));
    }

    public override async ValueTask CloseOutputAsync() => await output.CompleteAsync();

    public override void Abort()
    {
        output.Complete(new IOException("aborted"));
        input.Complete();
    }

    public override async ValueTask DisposeAsync()
    {
        await output.CompleteAsync();
        await input.CompleteAsync();
    }

    public override bool IsIdleAndOpen() => true;
}

/// <summary>
/// The test's side of an HTTP/2 connection: scripts raw frames at an <see cref="Http2Connection"/> and reads
/// what it answers, frame by frame, with its own HPACK codec.
/// </summary>
internal sealed class FramePeer(Channel channel)
{
    private readonly HpackEncoder _encoder = new();
    private readonly HpackDecoder _decoder = new();

    public sealed record Frame(Http2FrameType Type, Http2FrameFlags Flags, int StreamId, byte[] Payload)
    {
        public bool Has(Http2FrameFlags flag) => (Flags & flag) == flag;
    }

    public async Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        write(channel.Output);
        await channel.Output.FlushAsync();
    }

    public Task SendPrefaceAndSettingsAsync(params (Http2SettingId, uint)[] settings) => SendAsync(o =>
    {
        o.Write(Http2FrameWriter.ClientPreface);
        Http2FrameWriter.WriteSettings(o, settings);
    });

    public byte[] Encode(params (string Name, string Value)[] headers)
    {
        var block = new ArrayBufferWriter<byte>();
        _encoder.BeginHeaderBlock(block);
        foreach ((string name, string value) in headers)
        {
            _encoder.EncodeHeader(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), HpackIndexing.Incremental, block);
        }

        return block.WrittenSpan.ToArray();
    }

    public Task SendRequestAsync(int streamId, bool endStream, params (string Name, string Value)[] extra)
    {
        (string, string)[] headers = [(":method", endStream ? "GET" : "POST"), (":scheme", "https"), (":path", "/p"), (":authority", "example"), .. extra];
        byte[] block = Encode(headers);
        return SendAsync(o => Http2FrameWriter.WriteHeaders(o, streamId, block, endStream, 16_384));
    }

    public List<(string Name, string Value)> Decode(byte[] block)
    {
        var sink = new Sink();
        _decoder.Decode(block, sink);
        return sink.Fields;
    }

    private sealed class Sink : IHpackHeaderSink
    {
        public List<(string, string)> Fields { get; } = [];

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing) =>
            Fields.Add((Encoding.ASCII.GetString(name), Encoding.ASCII.GetString(value)));
    }

    /// <summary>The next frame, or null when the connection closed.</summary>
    public async Task<Frame?> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            ReadResult read = await channel.Input.ReadAsync(cts.Token);
            ReadOnlySequence<byte> buffer = read.Buffer;
            if (Http2FrameReader.TryReadFrame(ref buffer, 16_777_215, out Http2Frame frame))
            {
                var result = new Frame(frame.Header.Type, frame.Header.Flags, frame.Header.StreamId, frame.Payload.ToArray());
                channel.Input.AdvanceTo(buffer.Start);
                return result;
            }

            channel.Input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                return null;
            }
        }
    }

    /// <summary>Reads until a frame of <paramref name="type"/> arrives (others skipped).</summary>
    public async Task<Frame> ReadUntilAsync(Http2FrameType type, Func<Frame, bool>? also = null)
    {
        while (true)
        {
            Frame? frame = await ReadAsync() ?? throw new IOException($"closed before a {type} frame");
            if (frame.Type == type && (also is null || also(frame)))
            {
                return frame;
            }
        }
    }

    public static uint UInt32(byte[] payload, int offset) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(offset));
}
