using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Config;
using Switchyard.Http2;
using Switchyard.Proxy;
using Switchyard.Routing;
using Switchyard.Tests.Http2.Connection;
using Switchyard.Tests.TestSupport;
using Switchyard.Upstream;

namespace Switchyard.Tests.Proxy;

/// <summary>
/// An HTTP/2 caller (scripted frames) served by <see cref="Http2Processor"/>: how each stream's destination is chosen
/// and opened (app, intercept target, fail open, 502/503 with the stream's own reason), with HTTP/1.1 destinations.
/// </summary>
public sealed class Http2ProcessorTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly List<LoopbackServer> _servers = [];
    private readonly ConnectionPool _http1Pool = new();
    private readonly Http2ClientPool _http2Pool = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (LoopbackServer server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>An HTTP/1.1 destination that answers every request on a connection with <paramref name="body"/>.</summary>
    private LoopbackServer Http1Server(string body)
    {
        var server = new LoopbackServer(async socket =>
        {
            var buffer = new byte[16 * 1024];
            var pending = new StringBuilder();
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    return;
                }

                pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
                while (pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal) is int end and >= 0)
                {
                    pending.Remove(0, end + 4);
                    await socket.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}"), SocketFlags.None);
                }
            }
        });
        _servers.Add(server);
        return server;
    }

    private static InterceptRule Intercept(string target, bool failOpen) =>
        new("dev", "web", InterceptMode.Intercept, FilterParser.Parse("""{"header":"x-dev","exact":"alice"}"""), target, failOpen);

    /// <summary>The caller's connection: the processor runs on the agent's side of an in-memory pipe pair.</summary>
    private sealed class Caller(FramePeer peer, PipeChannel side, Task<ConnectionEndReason> run)
    {
        public FramePeer Peer => peer;

        /// <summary>Reads until every stream has ended: its status and body.</summary>
        public async Task<Dictionary<int, (string Status, string Body)>> AnswersAsync(params int[] streams)
        {
            var status = new Dictionary<int, string>();
            var bodies = streams.ToDictionary(s => s, _ => new StringBuilder());
            var ended = new HashSet<int>();
            while (ended.Count < streams.Length)
            {
                FramePeer.Frame frame = await peer.ReadAsync(Patience) ?? throw new IOException("the agent closed the connection");
                if (frame.Type == Http2FrameType.Headers)
                {
                    List<(string Name, string Value)> fields = peer.Decode(frame.Payload); // decoded in order: one HPACK context
                    status.TryAdd(frame.StreamId, fields.First(f => f.Name == ":status").Value);
                }
                else if (frame.Type == Http2FrameType.Data)
                {
                    bodies[frame.StreamId].Append(Encoding.UTF8.GetString(frame.Payload));
                }
                else if (frame.Type == Http2FrameType.RstStream)
                {
                    throw new IOException($"stream {frame.StreamId} was reset");
                }

                if (frame.Type is Http2FrameType.Headers or Http2FrameType.Data && frame.Has(Http2FrameFlags.EndStream))
                {
                    ended.Add(frame.StreamId);
                }
            }

            return streams.ToDictionary(s => s, s => (status[s], bodies[s].ToString()));
        }

        public async Task<ConnectionEndReason> CloseAsync()
        {
            await side.DisposeAsync();
            return await run.WaitAsync(Patience);
        }
    }

    private async Task<(Caller Caller, ConnectionContext Context)> ConnectAsync(int appPort, params InterceptRule[] rules)
    {
        ConnectionContext context = TestContexts.Caller(TestContexts.Port(appPort, HttpMode.Http1));
        var upstreams = new UpstreamConnector(_ => null, NullLogger.Instance);
        var opener = new DestinationOpener(upstreams, _http1Pool, _http2Pool, new Http2Translation(_ => null), NullLogger.Instance);
        var processor = new Http2Processor(new RouteTableHolder(RouteTable.Create(rules)), new Wiretaps(_ => null, NullLogger.Instance), opener, NullLogger.Instance);
        (PipeChannel callerSide, PipeChannel agentSide) = PipeChannel.CreatePair();
        Task<ConnectionEndReason> run = processor.ProcessAsync(context, agentSide, upstreams);
        var peer = new FramePeer(callerSide);
        await peer.SendPrefaceAndSettingsAsync();
        await peer.SendAsync(Http2FrameWriter.WriteSettingsAck);
        return (new Caller(peer, callerSide, run), context);
    }

    [Fact]
    public async Task Streams_of_one_connection_each_answer_their_own_failure_502_for_the_app_503_for_the_target()
    {
        int app = Loopback.ClosedPort();
        int target = Loopback.ClosedPort();
        (Caller caller, ConnectionContext context) = await ConnectAsync(app, Intercept($"127.0.0.1:{target}", failOpen: false));

        await caller.Peer.SendRequestAsync(1, endStream: true, ("x-dev", "alice"));
        await caller.Peer.SendRequestAsync(3, endStream: true);
        Dictionary<int, (string Status, string Body)> answers = await caller.AnswersAsync(1, 3);

        Assert.Equal("503", answers[1].Status);
        Assert.StartsWith($"intercept dev: target 127.0.0.1:{target} unavailable: connection refused", answers[1].Body);
        Assert.Equal("502", answers[3].Status);
        Assert.StartsWith($"app 127.0.0.1:{app} unavailable: connection refused", answers[3].Body);
        Assert.Equal(ConnectionEndReason.Completed, await caller.CloseAsync());
        Assert.Equal(0, context.Port.Metrics.FailOpen.Get("dev"));
    }

    [Fact]
    public async Task A_stream_for_an_unreachable_target_fails_open_to_the_http1_app()
    {
        LoopbackServer app = Http1Server("from the app");
        (Caller caller, ConnectionContext context) = await ConnectAsync(app.Port, Intercept($"127.0.0.1:{Loopback.ClosedPort()}", failOpen: true));

        await caller.Peer.SendRequestAsync(1, endStream: true, ("x-dev", "alice"));
        Dictionary<int, (string Status, string Body)> answers = await caller.AnswersAsync(1);

        Assert.Equal(("200", "from the app"), answers[1]);
        Assert.Equal(1, context.Port.Metrics.FailOpen.Get("dev"));
        Assert.Equal(1, context.Port.Metrics.Requests.Get("app"));
        Assert.Equal(ConnectionEndReason.Completed, await caller.CloseAsync());
    }

    [Fact]
    public async Task Matching_streams_go_to_the_target_and_the_others_to_the_http1_app()
    {
        LoopbackServer app = Http1Server("app");
        LoopbackServer target = Http1Server("developer");
        (Caller caller, ConnectionContext context) = await ConnectAsync(app.Port, Intercept($"127.0.0.1:{target.Port}", failOpen: false));

        await caller.Peer.SendRequestAsync(1, endStream: true, ("x-dev", "alice"));
        await caller.Peer.SendRequestAsync(3, endStream: true, ("x-dev", "bob"));
        Dictionary<int, (string Status, string Body)> first = await caller.AnswersAsync(1, 3);
        await caller.Peer.SendRequestAsync(5, endStream: true);
        Dictionary<int, (string Status, string Body)> second = await caller.AnswersAsync(5);

        Assert.Equal(("200", "developer"), first[1]);
        Assert.Equal(("200", "app"), first[3]);
        Assert.Equal(("200", "app"), second[5]);
        Assert.Equal(1, context.Port.Metrics.Requests.Get("dev"));
        Assert.Equal(2, context.Port.Metrics.Requests.Get("app"));
        Assert.Equal(ConnectionEndReason.Completed, await caller.CloseAsync());
    }

    [Fact]
    public async Task A_bodiless_post_translated_to_http1_is_not_replayed_when_the_pooled_connection_closes_without_answering()
    {
        int posts = 0;
        var server = new LoopbackServer(async socket =>
        {
            var buffer = new byte[16 * 1024];
            var pending = new StringBuilder();
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0)
                {
                    return;
                }

                pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
                while (pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal) is int end and >= 0)
                {
                    string head = pending.ToString(0, end);
                    pending.Remove(0, end + 4);
                    if (head.StartsWith("POST ", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref posts);
                        return; // closes the connection without answering
                    }

                    await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), SocketFlags.None);
                }
            }
        });
        _servers.Add(server);
        (Caller caller, _) = await ConnectAsync(server.Port);

        await caller.Peer.SendRequestAsync(1, endStream: true); // a GET: the HTTP/1.1 connection goes to the pool
        Assert.Equal(("200", "ok"), (await caller.AnswersAsync(1))[1]);
        byte[] post = caller.Peer.Encode((":method", "POST"), (":scheme", "https"), (":path", "/pay"), (":authority", "example"));
        await caller.Peer.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 3, post, true, 16_384));

        await Assert.ThrowsAsync<IOException>(() => caller.AnswersAsync(3)); // reset, not answered by a second try
        Assert.Equal(1, Volatile.Read(ref posts));
        await caller.CloseAsync();
    }

    [Fact]
    public async Task A_connect_stream_is_answered_405_and_never_reaches_the_app()
    {
        int requests = 0;
        var server = new LoopbackServer(async socket =>
        {
            Interlocked.Increment(ref requests);
            await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), SocketFlags.None);
        });
        _servers.Add(server);
        (Caller caller, _) = await ConnectAsync(server.Port);

        byte[] connect = caller.Peer.Encode((":method", "CONNECT"), (":authority", "other.example:443"));
        await caller.Peer.SendAsync(o => Http2FrameWriter.WriteHeaders(o, 1, connect, true, 16_384));
        Dictionary<int, (string Status, string Body)> answers = await caller.AnswersAsync(1);

        Assert.Equal("405", answers[1].Status);
        Assert.StartsWith("CONNECT is not supported", answers[1].Body, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref requests));
        Assert.Equal(ConnectionEndReason.Completed, await caller.CloseAsync());
    }
}
