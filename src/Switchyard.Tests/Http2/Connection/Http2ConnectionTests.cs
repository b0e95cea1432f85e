using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Switchyard.Http2;

namespace Switchyard.Tests.Http2.Connection;

/// <summary>
/// The connection engine against scripted frames: SETTINGS exchange, stream states, flow-control accounting (both
/// directions), GOAWAY/RST handling and the abuse guard hooks.
/// </summary>
public sealed class Http2ConnectionTests : IAsyncLifetime
{
    private readonly System.Threading.Channels.Channel<(Http2Stream Stream, Http2HeaderList Headers)> _requests =
        System.Threading.Channels.Channel.CreateUnbounded<(Http2Stream, Http2HeaderList)>();

    private Http2Connection _server = null!;
    private FramePeer _client = null!;
    private Task _run = null!;
    private PipeChannel _clientSide = null!;

    private Http2Limits Options { get; set; } = new() { InitialStreamWindow = 1000, ConnectionWindow = 100_000 };

    private Http2AbuseGuard? Guard { get; set; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _clientSide.DisposeAsync(); // the caller goes away: the server's read loop sees the end
            await _run.WaitAsync(TimeSpan.FromSeconds(5));
            await _server.DisposeAsync();
        }
    }

    private async Task StartServerAsync(params (Http2SettingId, uint)[] clientSettings)
    {
        (PipeChannel serverSide, PipeChannel clientSide) = PipeChannel.CreatePair();
        _server = new Http2Connection(serverSide, isServer: true, Options, Guard, (stream, headers) => _requests.Writer.TryWrite((stream, headers)));
        _client = new FramePeer(clientSide);
        _clientSide = clientSide;
        _run = _server.RunAsync();
        await _client.SendPrefaceAndSettingsAsync(clientSettings);
        FramePeer.Frame settings = await _client.ReadUntilAsync(Http2FrameType.Settings, f => !f.Has(Http2FrameFlags.Ack));
        Assert.Equal(0, settings.Payload.Length % 6);
        await _client.SendAsync(Http2FrameWriter.WriteSettingsAck);
        await _client.ReadUntilAsync(Http2FrameType.Settings, f => f.Has(Http2FrameFlags.Ack));
    }

    private async Task<(Http2Stream Stream, Http2HeaderList Headers)> NextRequestAsync() =>
        await _requests.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));

    [Fact]
    public async Task ARequestOpensAStreamWithItsDecodedHeadersAndTheAnswerGoesBackOnIt()
    {
        await StartServerAsync();
        await _client.SendRequestAsync(1, endStream: true, ("x-dev", "alice"));
        (Http2Stream stream, Http2HeaderList headers) = await NextRequestAsync();
        Assert.Equal(1, stream.Id);
        Assert.Equal("alice", headers.GetString("x-dev"u8));
        Assert.Equal("/p", headers.GetString(":path"u8));
        Assert.True(headers.EndStream);

        using var response = new Http2HeaderList();
        response.Add(":status"u8, "200"u8);
        await _server.SendHeadersAsync(stream, response, endStream: false);
        await _server.SendDataAsync(stream, new ReadOnlySequence<byte>("hello"u8.ToArray()), endStream: true);

        FramePeer.Frame head = await _client.ReadUntilAsync(Http2FrameType.Headers);
        Assert.Equal([(":status", "200")], _client.Decode(head.Payload));
        FramePeer.Frame data = await _client.ReadUntilAsync(Http2FrameType.Data);
        Assert.Equal("hello", Encoding.ASCII.GetString(data.Payload));
        Assert.True(data.Has(Http2FrameFlags.EndStream));
        Assert.Equal(1, _server.ActiveStreams); // both sides ended, but the proxy's exchange holds the slot
        stream.EndExchange();
        Assert.Equal(0, _server.ActiveStreams);
    }

    [Fact]
    public async Task DataIsSentOnlyWithinThePeersStreamWindowAndResumesOnWindowUpdate()
    {
        await StartServerAsync((Http2SettingId.InitialWindowSize, 10));
        await _client.SendRequestAsync(1, endStream: true);
        (Http2Stream stream, _) = await NextRequestAsync();
        using var response = new Http2HeaderList();
        response.Add(":status"u8, "200"u8);
        await _server.SendHeadersAsync(stream, response, endStream: false);

        Task send = _server.SendDataAsync(stream, new ReadOnlySequence<byte>(new byte[25]), endStream: true).AsTask();
        FramePeer.Frame first = await _client.ReadUntilAsync(Http2FrameType.Data);
        Assert.Equal(10, first.Payload.Length);
        Assert.False(first.Has(Http2FrameFlags.EndStream));
        // Window exhausted: the sender waits. A PING sent now is answered before any further DATA.
        await _client.SendAsync(o => Http2FrameWriter.WritePing(o, ack: false, 7));
        FramePeer.Frame? next = await _client.ReadAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Http2FrameType.Ping, next?.Type);
        Assert.False(send.IsCompleted);

        await _client.SendAsync(o => Http2FrameWriter.WriteWindowUpdate(o, 1, 5));
        FramePeer.Frame second = await _client.ReadUntilAsync(Http2FrameType.Data);
        Assert.Equal(5, second.Payload.Length);
        await _client.SendAsync(o => Http2FrameWriter.WriteWindowUpdate(o, 1, 100));
        FramePeer.Frame third = await _client.ReadUntilAsync(Http2FrameType.Data);
        Assert.Equal(10, third.Payload.Length);
        Assert.True(third.Has(Http2FrameFlags.EndStream));
        await send.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task TheReceiveWindowReopensOnlyAfterTheConsumerForwardedTheData()
    {
        await StartServerAsync();
        await _client.SendRequestAsync(1, endStream: false);
        (Http2Stream stream, _) = await NextRequestAsync();
        await _client.SendAsync(o => Http2FrameWriter.WriteData(o, 1, new byte[600], endStream: false));

        ReadResult read = await stream.Data.ReadAsync();
        Assert.Equal(600, read.Buffer.Length);
        // Nothing forwarded yet: no WINDOW_UPDATE may arrive.
        FramePeer.Frame? early = await ReadOrNullAsync(TimeSpan.FromMilliseconds(200));
        Assert.Null(early);

        stream.Data.AdvanceTo(read.Buffer.End);
        await stream.ConsumedAsync(600);
        FramePeer.Frame update = await _client.ReadUntilAsync(Http2FrameType.WindowUpdate, f => f.StreamId == 1);
        Assert.Equal(600u, FramePeer.UInt32(update.Payload, 0));
    }

    [Fact]
    public async Task DataBeyondTheStreamWindowResetsTheStreamWithFlowControlError()
    {
        await StartServerAsync();
        await _client.SendRequestAsync(1, endStream: false);
        (Http2Stream stream, _) = await NextRequestAsync();
        await _client.SendAsync(o => Http2FrameWriter.WriteData(o, 1, new byte[1001], endStream: false));
        FramePeer.Frame rst = await _client.ReadUntilAsync(Http2FrameType.RstStream);
        Assert.Equal(1, rst.StreamId);
        Assert.Equal((uint)Http2ErrorCode.FlowControlError, FramePeer.UInt32(rst.Payload, 0));
        Assert.True(stream.Aborted.IsCancellationRequested);
    }

    [Fact]
    public async Task DataOnAnIdleStreamIsAConnectionProtocolError()
    {
        await StartServerAsync();
        await _client.SendAsync(o => Http2FrameWriter.WriteData(o, 7, new byte[3], endStream: false));
        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)Http2ErrorCode.ProtocolError, FramePeer.UInt32(goAway.Payload, 4));
        Assert.Equal(Http2ErrorCode.ProtocolError, _server.GoAwaySent);
    }

    [Fact]
    public async Task AnInterruptedHeaderBlockIsAConnectionProtocolError()
    {
        await StartServerAsync();
        byte[] block = _client.Encode((":method", "GET"), (":scheme", "https"), (":path", "/"));
        await _client.SendAsync(o =>
        {
            Http2FrameWriter.WriteFrameHeader(o, block.Length, Http2FrameType.Headers, Http2FrameFlags.EndStream, 1); // no END_HEADERS
            o.Write(block);
            Http2FrameWriter.WritePing(o, ack: false, 1);
        });
        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)Http2ErrorCode.ProtocolError, FramePeer.UInt32(goAway.Payload, 4));
    }

    [Fact]
    public async Task HeadersSplitIntoContinuationFramesAreJoined()
    {
        await StartServerAsync();
        byte[] block = _client.Encode((":method", "GET"), (":scheme", "https"), (":path", "/joined"), ("x-long", new string('a', 300)));
        await _client.SendAsync(o =>
        {
            Http2FrameWriter.WriteFrameHeader(o, 10, Http2FrameType.Headers, Http2FrameFlags.EndStream, 1);
            o.Write(block.AsSpan(0, 10));
            Http2FrameWriter.WriteContinuation(o, 1, block.AsSpan(10, 100), endHeaders: false);
            Http2FrameWriter.WriteContinuation(o, 1, block.AsSpan(110), endHeaders: true);
        });
        (_, Http2HeaderList headers) = await NextRequestAsync();
        Assert.Equal("/joined", headers.GetString(":path"u8));
        Assert.Equal(300, headers.GetString("x-long"u8)!.Length);
    }

    [Fact]
    public async Task AMalformedRequestResetsOnlyItsStream()
    {
        await StartServerAsync();
        byte[] bad = _client.Encode((":method", "GET"), (":path", "/")); // no :scheme
        await _client.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, bad, endStream: true, 16_384));
        FramePeer.Frame rst = await _client.ReadUntilAsync(Http2FrameType.RstStream);
        Assert.Equal((uint)Http2ErrorCode.ProtocolError, FramePeer.UInt32(rst.Payload, 0));

        await _client.SendRequestAsync(3, endStream: true);
        (Http2Stream stream, _) = await NextRequestAsync();
        Assert.Equal(3, stream.Id);
    }

    [Fact]
    public async Task ACallerResetAbortsTheStreamForItsConsumer()
    {
        await StartServerAsync();
        await _client.SendRequestAsync(1, endStream: false);
        (Http2Stream stream, _) = await NextRequestAsync();
        await _client.SendAsync(o => Http2FrameWriter.WriteRstStream(o, 1, Http2ErrorCode.Cancel));
        var error = await Assert.ThrowsAsync<Http2StreamResetException>(async () => await stream.Data.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(Http2ErrorCode.Cancel, error.Code);
        Assert.True(stream.Aborted.IsCancellationRequested);
        Assert.Equal(1, _server.ActiveStreams); // reset, but its exchange still runs at the destination: the slot stays taken
        stream.EndExchange();
        Assert.Equal(0, _server.ActiveStreams);
    }

    [Fact]
    public async Task StreamsBeyondMaxConcurrentStreamsAreRefused()
    {
        Options = Options with { MaxConcurrentStreams = 2 };
        await StartServerAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await _client.SendRequestAsync(3, endStream: false);
        await _client.SendRequestAsync(5, endStream: false);
        FramePeer.Frame rst = await _client.ReadUntilAsync(Http2FrameType.RstStream);
        Assert.Equal(5, rst.StreamId);
        Assert.Equal((uint)Http2ErrorCode.RefusedStream, FramePeer.UInt32(rst.Payload, 0));
        Assert.Equal(2, _server.ActiveStreams);
    }

    [Fact]
    public async Task APingFloodEndsTheConnectionWithEnhanceYourCalm()
    {
        Guard = new Http2AbuseGuard();
        await StartServerAsync();
        await _client.SendAsync(o =>
        {
            for (int i = 0; i < 5000; i++)
            {
                Http2FrameWriter.WritePing(o, ack: false, (ulong)i);
            }
        });
        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)Http2ErrorCode.EnhanceYourCalm, FramePeer.UInt32(goAway.Payload, 4));
        Assert.Equal("ping_flood", _server.AbuseReason);
    }

    [Fact]
    public async Task RapidResetEndsTheConnectionWithEnhanceYourCalm()
    {
        Guard = new Http2AbuseGuard();
        await StartServerAsync();
        for (int id = 1; id < 2000; id += 2)
        {
            int stream = id;
            await _client.SendRequestAsync(stream, endStream: false);
            await _client.SendAsync(o => Http2FrameWriter.WriteRstStream(o, stream, Http2ErrorCode.Cancel));
        }

        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)Http2ErrorCode.EnhanceYourCalm, FramePeer.UInt32(goAway.Payload, 4));
        Assert.Equal("rapid_reset", _server.AbuseReason);
    }

    [Fact]
    public async Task ConnectionWindowOverflowIsAFlowControlError()
    {
        await StartServerAsync();
        await _client.SendAsync(o => Http2FrameWriter.WriteWindowUpdate(o, 0, int.MaxValue));
        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)Http2ErrorCode.FlowControlError, FramePeer.UInt32(goAway.Payload, 4));
    }

    [Fact]
    public async Task ShutdownSendsGoAwayWithTheLastStreamAndLetsOpenStreamsFinish()
    {
        await StartServerAsync();
        await _client.SendRequestAsync(1, endStream: true);
        (Http2Stream stream, _) = await NextRequestAsync();
        Task shutdown = _server.ShutdownAsync().AsTask();
        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal(1u, FramePeer.UInt32(goAway.Payload, 0));
        Assert.Equal((uint)Http2ErrorCode.NoError, FramePeer.UInt32(goAway.Payload, 4));
        Assert.False(shutdown.IsCompleted);

        using var response = new Http2HeaderList();
        response.Add(":status"u8, "204"u8);
        await _server.SendHeadersAsync(stream, response, endStream: true);
        Assert.False(shutdown.IsCompleted); // the exchange has not ended yet
        stream.EndExchange();
        await shutdown.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(await _client.ReadUntilAsync(Http2FrameType.Headers));
    }

    private async Task<FramePeer.Frame?> ReadOrNullAsync(TimeSpan timeout)
    {
        try
        {
            return await _client.ReadAsync(timeout);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
