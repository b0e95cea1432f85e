using System.Buffers;
using Switchyard.Http2;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Http2.Connection;

/// <summary>
/// RFC 9113 §5.1 from the outside, server role: a scripted frame peer sends each frame a stream state must refuse
/// and expects the error the RFC names (stream error = RST_STREAM and the connection goes on; connection error =
/// GOAWAY), then flow control at the edges of the windows, then the reset budget (model: hyperium/h2
/// tests/h2-tests/tests/stream_states.rs and flow_control.rs).
/// </summary>
public sealed class Http2StreamStateTests : IAsyncLifetime
{
    private readonly System.Threading.Channels.Channel<(Http2Stream Stream, Http2HeaderList Headers)> _requests =
        System.Threading.Channels.Channel.CreateUnbounded<(Http2Stream, Http2HeaderList)>();

    private Http2Connection _server = null!;
    private FramePeer _client = null!;
    private PipeChannel _clientSide = null!;
    private Task _run = null!;
    private ulong _pings;

    private Http2Limits Limits { get; set; } = new() { InitialStreamWindow = 1000, ConnectionWindow = 100_000 };

    private Http2AbuseGuard? Guard { get; set; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _clientSide.DisposeAsync();
            await _run.WaitAsync(TimeSpan.FromSeconds(5));
            await _server.DisposeAsync();
        }
    }

    private async Task StartAsync(params (Http2SettingId, uint)[] clientSettings)
    {
        (PipeChannel serverSide, PipeChannel clientSide) = PipeChannel.CreatePair();
        _server = new Http2Connection(serverSide, isServer: true, Limits, Guard, (stream, headers) => _requests.Writer.TryWrite((stream, headers)));
        _client = new FramePeer(clientSide);
        _clientSide = clientSide;
        _run = _server.RunAsync();
        await _client.SendPrefaceAndSettingsAsync(clientSettings);
        await _client.ReadUntilAsync(Http2FrameType.Settings, f => !f.Has(Http2FrameFlags.Ack));
        await _client.SendAsync(Http2FrameWriter.WriteSettingsAck);
        await _client.ReadUntilAsync(Http2FrameType.Settings, f => f.Has(Http2FrameFlags.Ack));
    }

    private async Task<(Http2Stream Stream, Http2HeaderList Headers)> NextRequestAsync() =>
        await _requests.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));

    /// <summary>Sends a PING and reads up to its ACK: every frame the server wrote before answering it (the connection is alive).</summary>
    private async Task<List<FramePeer.Frame>> RoundTripAsync()
    {
        ulong opaque = ++_pings;
        await _client.SendAsync(o => Http2FrameWriter.WritePing(o, ack: false, opaque));
        var before = new List<FramePeer.Frame>();
        while (true)
        {
            FramePeer.Frame frame = await _client.ReadAsync() ?? throw new IOException("the connection closed before the PING ACK");
            if (frame.Type == Http2FrameType.Ping && frame.Has(Http2FrameFlags.Ack))
            {
                return before;
            }

            before.Add(frame);
        }
    }

    private async Task ExpectStreamErrorAsync(int streamId, Http2ErrorCode code)
    {
        FramePeer.Frame rst = await _client.ReadUntilAsync(Http2FrameType.RstStream);
        Assert.Equal(streamId, rst.StreamId);
        Assert.Equal((uint)code, FramePeer.UInt32(rst.Payload, 0));
        Assert.DoesNotContain(await RoundTripAsync(), f => f.Type == Http2FrameType.GoAway); // a stream error: the connection goes on
    }

    private async Task ExpectConnectionErrorAsync(Http2ErrorCode code)
    {
        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)code, FramePeer.UInt32(goAway.Payload, 4));
        await _run.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(code, _server.GoAwaySent);
    }

    /// <summary>DATA of <paramref name="length"/> octets, in frames of at most 16 KiB (our SETTINGS_MAX_FRAME_SIZE).</summary>
    private Task SendDataAsync(int streamId, int length, bool endStream) =>
        _client.SendAsync(o =>
        {
            do
            {
                int chunk = Math.Min(length, 16_384);
                length -= chunk;
                Http2FrameWriter.WriteData(o, streamId, new ReadOnlySequence<byte>(new byte[chunk]), endStream && length == 0);
            }
            while (length > 0);
        });

    // ---------------------------------------------------------------- idle

    [Theory]
    [InlineData(Http2FrameType.Data)]
    [InlineData(Http2FrameType.WindowUpdate)]
    [InlineData(Http2FrameType.RstStream)]
    public async Task A_frame_other_than_HEADERS_or_PRIORITY_on_an_idle_stream_is_a_connection_error(Http2FrameType type)
    {
        await StartAsync();
        await _client.SendAsync(o =>
        {
            switch (type)
            {
                case Http2FrameType.Data:
                    Http2FrameWriter.WriteData(o, 1, new ReadOnlySequence<byte>(new byte[1]), endStream: false);
                    break;
                case Http2FrameType.WindowUpdate:
                    Http2FrameWriter.WriteWindowUpdate(o, 1, 10);
                    break;
                default:
                    Http2FrameWriter.WriteRstStream(o, 1, Http2ErrorCode.Cancel);
                    break;
            }
        });
        await ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task PRIORITY_on_an_idle_stream_is_allowed_and_the_stream_can_still_open()
    {
        await StartAsync();
        await _client.SendAsync(o => Http2FrameWriter.WritePriority(o, 5, new PriorityPayload(0, false, 15)));
        Assert.Empty(await RoundTripAsync());
        await _client.SendRequestAsync(5, endStream: true);
        Assert.Equal(5, (await NextRequestAsync()).Stream.Id);
    }

    [Fact]
    public async Task An_even_stream_id_from_a_client_is_a_connection_error()
    {
        await StartAsync();
        await _client.SendRequestAsync(2, endStream: true);
        await ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task A_stream_id_below_the_highest_that_was_never_opened_is_a_connection_error_PROTOCOL_ERROR()
    {
        await StartAsync();
        await _client.SendRequestAsync(5, endStream: true);
        await NextRequestAsync();
        await _client.SendRequestAsync(3, endStream: true);
        await ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
    }

    // ---------------------------------------------------------------- open and half-closed (remote)

    [Fact]
    public async Task DATA_then_END_STREAM_on_an_open_stream_reaches_the_consumer()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        (Http2Stream stream, _) = await NextRequestAsync();
        await SendDataAsync(1, 10, endStream: false);
        await SendDataAsync(1, 5, endStream: true);
        long total = 0;
        while (true)
        {
            System.IO.Pipelines.ReadResult read = await stream.Data.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            total += read.Buffer.Length;
            stream.Data.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal(15, total);
        Assert.True(stream.RemoteEnded);
    }

    [Fact]
    public async Task HEADERS_on_a_half_closed_remote_stream_is_a_stream_error_STREAM_CLOSED()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: true);
        (Http2Stream stream, _) = await NextRequestAsync();
        byte[] more = _client.Encode(("x-late", "1"));
        await _client.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, more, endStream: true, 16_384));
        await ExpectStreamErrorAsync(1, Http2ErrorCode.StreamClosed);
        Assert.NotNull(stream.ResetError);
    }

    [Fact]
    public async Task DATA_on_a_half_closed_remote_stream_is_a_stream_error_STREAM_CLOSED()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: true);
        await NextRequestAsync();
        await SendDataAsync(1, 3, endStream: false);
        await ExpectStreamErrorAsync(1, Http2ErrorCode.StreamClosed);
    }

    [Fact]
    public async Task WINDOW_UPDATE_PRIORITY_and_RST_STREAM_are_allowed_on_a_half_closed_remote_stream()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: true);
        (Http2Stream stream, _) = await NextRequestAsync();
        await _client.SendAsync(o =>
        {
            Http2FrameWriter.WriteWindowUpdate(o, 1, 100);
            Http2FrameWriter.WritePriority(o, 1, new PriorityPayload(0, false, 15));
        });
        Assert.Empty(await RoundTripAsync());
        await _client.SendAsync(o => Http2FrameWriter.WriteRstStream(o, 1, Http2ErrorCode.Cancel));
        Assert.Empty(await RoundTripAsync());
        Assert.Equal(Http2ErrorCode.Cancel, stream.ResetError?.Code);
    }

    [Fact]
    public async Task Trailers_without_END_STREAM_make_the_request_malformed()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await NextRequestAsync();
        byte[] trailers = _client.Encode(("grpc-status", "0"));
        await _client.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, trailers, endStream: false, 16_384));
        await ExpectStreamErrorAsync(1, Http2ErrorCode.ProtocolError);
    }

    // ---------------------------------------------------------------- closed

    [Fact]
    public async Task DATA_after_the_peer_reset_the_stream_is_a_stream_error_STREAM_CLOSED()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await NextRequestAsync();
        await _client.SendAsync(o => Http2FrameWriter.WriteRstStream(o, 1, Http2ErrorCode.Cancel));
        await SendDataAsync(1, 3, endStream: false);
        await ExpectStreamErrorAsync(1, Http2ErrorCode.StreamClosed);
    }

    [Fact]
    public async Task HEADERS_after_the_peer_reset_the_stream_is_a_stream_error_STREAM_CLOSED()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await NextRequestAsync();
        await _client.SendAsync(o => Http2FrameWriter.WriteRstStream(o, 1, Http2ErrorCode.Cancel));
        byte[] trailers = _client.Encode(("x-late", "1"));
        await _client.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, trailers, endStream: true, 16_384));
        await ExpectStreamErrorAsync(1, Http2ErrorCode.StreamClosed);
    }

    [Fact]
    public async Task HEADERS_on_a_stream_both_sides_ended_is_a_connection_error_STREAM_CLOSED()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: true);
        (Http2Stream stream, _) = await NextRequestAsync();
        using var response = new Http2HeaderList();
        response.Add(":status"u8, "204"u8);
        await _server.SendHeadersAsync(stream, response, endStream: true);
        await _client.ReadUntilAsync(Http2FrameType.Headers);
        await _client.SendRequestAsync(1, endStream: true);
        await ExpectConnectionErrorAsync(Http2ErrorCode.StreamClosed);
    }

    [Fact]
    public async Task WINDOW_UPDATE_on_a_closed_stream_is_ignored()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: true);
        (Http2Stream stream, _) = await NextRequestAsync();
        using var response = new Http2HeaderList();
        response.Add(":status"u8, "204"u8);
        await _server.SendHeadersAsync(stream, response, endStream: true);
        await _client.SendAsync(o => Http2FrameWriter.WriteWindowUpdate(o, 1, 100));
        Assert.DoesNotContain(await RoundTripAsync(), f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);
    }

    [Fact]
    public async Task Frames_in_flight_after_our_reset_are_ignored_and_their_bytes_return_to_the_connection_window()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false, ("content-length", "4"));
        await NextRequestAsync();
        await SendDataAsync(1, 5, endStream: false); // more than content-length: we reset the stream
        await ExpectStreamErrorAsync(1, Http2ErrorCode.ProtocolError);

        // The client had more in flight: DATA and trailers on the stream we reset. Ignored, no second RST_STREAM.
        byte[] trailers = _client.Encode(("x-trailer", "1"));
        await SendDataAsync(1, 800, endStream: false);
        await _client.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, trailers, endStream: true, 16_384));
        Assert.DoesNotContain(await RoundTripAsync(), f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);

        // The connection window is not leaked: a new stream can still use the whole of it in total.
        for (int id = 3; id < 3 + (2 * 130); id += 2)
        {
            await _client.SendRequestAsync(id, endStream: false);
            (Http2Stream s, _) = await NextRequestAsync();
            await SendDataAsync(id, 1000, endStream: true); // 130 x 1000 > the 100,000 connection window
            System.IO.Pipelines.ReadResult read = await s.Data.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            int length = (int)read.Buffer.Length;
            s.Data.AdvanceTo(read.Buffer.End);
            await s.ConsumedAsync(length);
            using var done = new Http2HeaderList();
            done.Add(":status"u8, "204"u8);
            await _server.SendHeadersAsync(s, done, endStream: true);
            s.EndExchange();
        }

        Assert.Null(_server.GoAwaySent);
    }

    // ---------------------------------------------------------------- priority (§5.3.1)

    [Fact]
    public async Task HEADERS_that_depend_on_their_own_stream_are_reset_and_never_reach_the_proxy()
    {
        await StartAsync();
        byte[] block = _client.Encode((":method", "GET"), (":scheme", "https"), (":path", "/self"), (":authority", "example"));
        await _client.SendAsync(o => WriteHeadersWithPriority(o, 1, dependency: 1, block));
        await ExpectStreamErrorAsync(1, Http2ErrorCode.ProtocolError);

        await _client.SendRequestAsync(3, endStream: true);
        (Http2Stream next, Http2HeaderList headers) = await NextRequestAsync();
        Assert.Equal(3, next.Id); // stream 1 never reached the proxy
        Assert.Equal("/p", headers.GetString(":path"u8));
    }

    [Fact]
    public async Task PRIORITY_that_depends_on_its_own_stream_is_a_stream_error()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        (Http2Stream stream, _) = await NextRequestAsync();
        await _client.SendAsync(o => WriteRaw(o, Http2FrameType.Priority, Http2FrameFlags.None, 1, [0, 0, 0, 1, 15]));
        await ExpectStreamErrorAsync(1, Http2ErrorCode.ProtocolError);
        Assert.NotNull(stream.ResetError);
    }

    private static void WriteHeadersWithPriority(IBufferWriter<byte> o, int streamId, int dependency, byte[] block)
    {
        // HEADERS with the PRIORITY flag: E + stream dependency (4 octets) and weight (1) before the fragment.
        byte[] payload = new byte[5 + block.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(payload, dependency);
        payload[4] = 15;
        block.CopyTo(payload, 5);
        WriteRaw(o, Http2FrameType.Headers, Http2FrameFlags.EndHeaders | Http2FrameFlags.EndStream | Http2FrameFlags.Priority, streamId, payload);
    }

    /// <summary>Any frame as it is on the wire, including ones our writer refuses to produce.</summary>
    private static void WriteRaw(IBufferWriter<byte> o, Http2FrameType type, Http2FrameFlags flags, int streamId, byte[] payload)
    {
        Span<byte> f = o.GetSpan(9 + payload.Length);
        f[0] = (byte)(payload.Length >> 16);
        f[1] = (byte)(payload.Length >> 8);
        f[2] = (byte)payload.Length;
        f[3] = (byte)type;
        f[4] = (byte)flags;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(f[5..], streamId);
        payload.CopyTo(f[9..]);
        o.Advance(9 + payload.Length);
    }

    // ---------------------------------------------------------------- header blocks

    [Fact]
    public async Task CONTINUATION_without_a_header_block_is_a_connection_error()
    {
        await StartAsync();
        await _client.SendAsync(o => Http2FrameWriter.WriteContinuation(o, 1, [], endHeaders: true));
        await ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task A_header_block_interrupted_by_another_frame_is_a_connection_error()
    {
        await StartAsync();
        byte[] block = _client.Encode((":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "a"));
        await _client.SendAsync(o =>
        {
            WriteRaw(o, Http2FrameType.Headers, Http2FrameFlags.EndStream, 1, block[..3]); // no END_HEADERS
            Http2FrameWriter.WritePing(o, ack: false, 1);
        });
        await ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
    }

    // ---------------------------------------------------------------- flow control at the edges (§6.9)

    [Fact]
    public async Task DATA_filling_the_stream_window_exactly_is_accepted_and_one_octet_more_is_FLOW_CONTROL_ERROR()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await NextRequestAsync();
        await SendDataAsync(1, 1000, endStream: false); // the whole window we granted (nothing consumed yet)
        Assert.Empty(await RoundTripAsync());
        await SendDataAsync(1, 1, endStream: false);
        await ExpectStreamErrorAsync(1, Http2ErrorCode.FlowControlError);
    }

    [Fact]
    public async Task DATA_beyond_the_connection_window_is_a_connection_error()
    {
        Limits = Limits with { InitialStreamWindow = 60_000, ConnectionWindow = 65_535 };
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await _client.SendRequestAsync(3, endStream: false);
        await SendDataAsync(1, 60_000, endStream: false);
        await SendDataAsync(3, 5_535, endStream: false); // exactly the 65,535 connection window
        Assert.DoesNotContain(await RoundTripAsync(), f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);
        await SendDataAsync(3, 1, endStream: false);
        await ExpectConnectionErrorAsync(Http2ErrorCode.FlowControlError);
    }

    [Fact]
    public async Task A_stream_window_may_reach_2_pow_31_minus_1_and_not_one_more()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await _client.SendRequestAsync(3, endStream: false);
        await _client.SendAsync(o => Http2FrameWriter.WriteWindowUpdate(o, 1, int.MaxValue - 65_535)); // 65,535 + this = 2^31-1
        Assert.Empty(await RoundTripAsync());
        await _client.SendAsync(o => Http2FrameWriter.WriteWindowUpdate(o, 1, 1));
        await ExpectStreamErrorAsync(1, Http2ErrorCode.FlowControlError);
    }

    [Fact]
    public async Task A_SETTINGS_initial_window_that_overflows_an_open_stream_window_is_a_connection_error()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await _client.SendAsync(o => Http2FrameWriter.WriteWindowUpdate(o, 1, int.MaxValue - 65_535));
        await _client.SendAsync(o => Http2FrameWriter.WriteSettings(o, [(Http2SettingId.InitialWindowSize, 65_536)]));
        await ExpectConnectionErrorAsync(Http2ErrorCode.FlowControlError);
    }

    [Fact]
    public async Task WINDOW_UPDATE_of_zero_on_a_stream_is_a_stream_error_and_on_an_idle_stream_a_connection_error()
    {
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await _client.SendAsync(o => WriteZeroWindowUpdate(o, 1));
        await ExpectStreamErrorAsync(1, Http2ErrorCode.ProtocolError);
        await _client.SendAsync(o => WriteZeroWindowUpdate(o, 7));
        await ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
    }

    private static void WriteZeroWindowUpdate(IBufferWriter<byte> o, int streamId) =>
        WriteRaw(o, Http2FrameType.WindowUpdate, Http2FrameFlags.None, streamId, [0, 0, 0, 0]);

    [Fact]
    public async Task A_caller_that_keeps_its_window_shut_past_the_zero_window_timeout_loses_the_connection()
    {
        var clock = new ManualClock();
        Guard = new Http2AbuseGuard(Limits with { ZeroWindowTimeout = TimeSpan.FromSeconds(30) }, clock);
        await StartAsync((Http2SettingId.InitialWindowSize, 0));
        await _client.SendRequestAsync(1, endStream: true);
        (Http2Stream stream, _) = await NextRequestAsync();
        using var response = new Http2HeaderList();
        response.Add(":status"u8, "200"u8);
        await _server.SendHeadersAsync(stream, response, endStream: false);
        Task send = _server.SendDataAsync(stream, new ReadOnlySequence<byte>(new byte[10]), endStream: true).AsTask();
        await clock.WhenArmedAsync().WaitAsync(TimeSpan.FromSeconds(5)); // the sender waits for a window, timed
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.False(send.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<Http2StreamResetException>(() => send.WaitAsync(TimeSpan.FromSeconds(5)));
        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)Http2ErrorCode.EnhanceYourCalm, FramePeer.UInt32(goAway.Payload, 4));
        Assert.Equal("zero_window_stall", _server.AbuseReason);
    }

    // ---------------------------------------------------------------- the reset budget ("MadeYouReset")

    public static TheoryData<string> ResetCauses() => ["window_update_zero", "window_overflow", "data_after_end_stream", "content_length_mismatch"];

    [Theory]
    [MemberData(nameof(ResetCauses))]
    public async Task Streams_the_peer_makes_us_reset_count_against_the_reset_budget(string cause)
    {
        Guard = new Http2AbuseGuard(Limits with { ResetBurst = 20, ResetsPerSecond = 1 }, new ManualClock());
        await StartAsync();
        int id = 1;
        FramePeer.Frame? goAway = null;
        for (int i = 0; i < 40 && goAway is null; i++, id += 2)
        {
            int stream = id;
            bool withLength = cause == "content_length_mismatch";
            await _client.SendRequestAsync(stream, endStream: cause == "data_after_end_stream", withLength ? [("content-length", "1")] : []);
            await _client.SendAsync(o =>
            {
                switch (cause)
                {
                    case "window_update_zero":
                        WriteZeroWindowUpdate(o, stream);
                        break;
                    case "window_overflow":
                        Http2FrameWriter.WriteWindowUpdate(o, stream, int.MaxValue);
                        break;
                    default:
                        Http2FrameWriter.WriteData(o, stream, new ReadOnlySequence<byte>(new byte[2]), endStream: true);
                        break;
                }
            });
            foreach (FramePeer.Frame f in await RoundTripOrCloseAsync())
            {
                goAway ??= f.Type == Http2FrameType.GoAway ? f : null;
            }
        }

        Assert.NotNull(goAway);
        Assert.Equal((uint)Http2ErrorCode.EnhanceYourCalm, FramePeer.UInt32(goAway.Payload, 4));
        Assert.Equal("rapid_reset", _server.AbuseReason);
        Assert.InRange(id, 21 * 2, 23 * 2); // the 21st reset is over the burst of 20
    }

    /// <summary>Like <see cref="RoundTripAsync"/>, but a connection that closes instead returns what came before the end.</summary>
    private async Task<List<FramePeer.Frame>> RoundTripOrCloseAsync()
    {
        ulong opaque = ++_pings;
        var before = new List<FramePeer.Frame>();
        try
        {
            await _client.SendAsync(o => Http2FrameWriter.WritePing(o, ack: false, opaque));
        }
        catch (InvalidOperationException)
        {
            return before;
        }

        while (await _client.ReadAsync() is { } frame)
        {
            if (frame.Type == Http2FrameType.Ping && frame.Has(Http2FrameFlags.Ack))
            {
                break;
            }

            before.Add(frame);
        }

        return before;
    }

    [Fact]
    public async Task A_reset_stream_keeps_its_concurrency_slot_until_its_exchange_ends()
    {
        Limits = Limits with { MaxConcurrentStreams = 2 };
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await _client.SendRequestAsync(3, endStream: false);
        (Http2Stream first, _) = await NextRequestAsync();
        (Http2Stream second, _) = await NextRequestAsync();

        // We reset both (their exchanges still run at the destination): the slots stay taken.
        await _client.SendAsync(o =>
        {
            WriteZeroWindowUpdate(o, 1);
            WriteZeroWindowUpdate(o, 3);
        });
        await _client.ReadUntilAsync(Http2FrameType.RstStream, f => f.StreamId == 3);
        await _client.SendRequestAsync(5, endStream: true);
        FramePeer.Frame refused = await _client.ReadUntilAsync(Http2FrameType.RstStream, f => f.StreamId == 5);
        Assert.Equal((uint)Http2ErrorCode.RefusedStream, FramePeer.UInt32(refused.Payload, 0));
        Assert.Equal(2, _server.ActiveStreams);

        first.EndExchange();
        Assert.Equal(1, _server.ActiveStreams);
        await _client.SendRequestAsync(7, endStream: true);
        Assert.Equal(7, (await NextRequestAsync()).Stream.Id);
        second.EndExchange();
    }

    // ---------------------------------------------------------------- timeouts (streamIdleTimeout, requestHeadTimeout)

    [Fact]
    public async Task A_stream_with_no_byte_moving_past_the_limit_is_reset_and_the_others_go_on()
    {
        var clock = new ManualClock();
        Guard = new Http2AbuseGuard(Limits, clock);
        await StartAsync();
        await _client.SendRequestAsync(1, endStream: false);
        await _client.SendRequestAsync(3, endStream: false);
        (Http2Stream quiet, _) = await NextRequestAsync();
        (Http2Stream busy, _) = await NextRequestAsync();

        clock.Advance(TimeSpan.FromMinutes(4));
        await SendDataAsync(3, 10, endStream: false); // stream 3 moves a byte, stream 1 does not
        await RoundTripAsync();
        clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));

        Assert.Equal(1, _server.EndIdleStreams(TimeSpan.FromMinutes(5)));
        await ExpectStreamErrorAsync(1, Http2ErrorCode.Cancel);
        Assert.NotNull(quiet.ResetError);
        Assert.Null(busy.ResetError);
        Assert.Equal(0, _server.EndIdleStreams(TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public async Task A_header_block_waiting_for_CONTINUATION_says_since_when()
    {
        var clock = new ManualClock();
        Guard = new Http2AbuseGuard(Limits, clock);
        await StartAsync();
        Assert.Equal(0, _server.HeaderBlockSince);
        byte[] block = _client.Encode((":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "a"));
        long before = clock.GetTimestamp();
        await _client.SendAsync(o => WriteRaw(o, Http2FrameType.Headers, Http2FrameFlags.EndStream, 1, block[..3])); // no END_HEADERS
        await _client.SendAsync(o => Http2FrameWriter.WriteSettings(o, [])); // not allowed inside a block: but first see the state
        FramePeer.Frame goAway = await _client.ReadUntilAsync(Http2FrameType.GoAway);
        Assert.Equal((uint)Http2ErrorCode.ProtocolError, FramePeer.UInt32(goAway.Payload, 4));
        Assert.Equal(before, _server.HeaderBlockSince); // set when the block started, never cleared since it never ended
    }
}
