using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Switchyard.Http2;
using Switchyard.Tests.Http2.Connection;

namespace Switchyard.Tests.Proxy;

/// <summary>
/// An HTTP/2 destination scripted frame by frame (<see cref="FramePeer"/>) behind the agent's client-role
/// <see cref="Http2Connection"/>, over in-memory pipes: the translation classes talk to <see cref="App"/>.
/// </summary>
internal sealed class Http2PeerHarness : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly PipeChannel _serverSide;
    private readonly Task _run;

    private Http2PeerHarness(Http2Connection app, FramePeer server, PipeChannel serverSide, Task run)
    {
        App = app;
        Server = server;
        _serverSide = serverSide;
        _run = run;
    }

    public Http2Connection App { get; }

    public FramePeer Server { get; }

    /// <summary>Starts the agent's side and reads its connection preface; the destination has sent its SETTINGS.</summary>
    public static async Task<Http2PeerHarness> StartAsync()
    {
        (PipeChannel clientSide, PipeChannel serverSide) = PipeChannel.CreatePair();
        var app = new Http2Connection(clientSide, isServer: false);
        Task run = app.RunAsync();
        var server = new FramePeer(serverSide);
        await server.SendAsync(o => Http2FrameWriter.WriteSettings(o, []));
        var harness = new Http2PeerHarness(app, server, serverSide, run);
        await harness.SkipPrefaceAsync();
        return harness;
    }

    private async Task SkipPrefaceAsync()
    {
        int skipped = 0;
        while (skipped < Http2FrameWriter.ClientPreface.Length)
        {
            ReadResult read = await _serverSide.Input.ReadAsync().AsTask().WaitAsync(Patience);
            int n = (int)Math.Min(Http2FrameWriter.ClientPreface.Length - skipped, read.Buffer.Length);
            skipped += n;
            _serverSide.Input.AdvanceTo(read.Buffer.GetPosition(n));
        }
    }

    /// <summary>The header block of the next HEADERS frame on a stream, decoded, and whether it ended the stream.</summary>
    public async Task<(List<(string Name, string Value)> Fields, bool EndStream)> ReadHeadersAsync(int streamId)
    {
        FramePeer.Frame frame = await Server.ReadUntilAsync(Http2FrameType.Headers, f => f.StreamId == streamId).WaitAsync(Patience);
        return (Server.Decode(frame.Payload), frame.Has(Http2FrameFlags.EndStream));
    }

    /// <summary>The DATA of a stream until END_STREAM on DATA; stops early (returning what came) at a HEADERS frame (trailers).</summary>
    public async Task<(string Body, List<(string Name, string Value)>? Trailers)> ReadBodyAsync(int streamId)
    {
        var body = new StringBuilder();
        while (true)
        {
            FramePeer.Frame frame = await Server.ReadAsync(Patience) ?? throw new IOException("the agent closed the connection");
            if (frame.StreamId != streamId)
            {
                continue;
            }

            if (frame.Type == Http2FrameType.Headers)
            {
                return (body.ToString(), Server.Decode(frame.Payload));
            }

            if (frame.Type == Http2FrameType.Data)
            {
                body.Append(Encoding.ASCII.GetString(frame.Payload));
                if (frame.Has(Http2FrameFlags.EndStream))
                {
                    return (body.ToString(), null);
                }
            }
        }
    }

    public Task SendHeadersAsync(int streamId, bool endStream, params (string Name, string Value)[] fields)
    {
        byte[] block = Server.Encode(fields);
        return Server.SendAsync(o => Http2FrameWriter.WriteHeaders(o, streamId, block, endStream, 16_384));
    }

    public Task SendDataAsync(int streamId, string data, bool endStream) =>
        Server.SendAsync(o => Http2FrameWriter.WriteData(o, streamId, Encoding.ASCII.GetBytes(data), endStream));

    public async ValueTask DisposeAsync()
    {
        await _serverSide.DisposeAsync();
        await _run.WaitAsync(Patience);
        await App.DisposeAsync();
    }
}
