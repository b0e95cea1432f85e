using System.Net;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Bodies through HTTP/2 streams, byte-exact (XxHash128 at both ends), to the app and to alice's server: 1 MiB each
/// way (beyond the agent's own stream window, so it must re-open it), and 64 MiB each way with the smallest windows
/// both peers allow (65,535 bytes: the caller's stream window, the upstream's stream and connection windows), so the
/// agent must honour flow control in both directions and on both of its sides.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class LargeBodyTests(ITestOutputHelper output)
{
    /// <summary>The smallest HTTP/2 stream receive window HttpClient allows.</summary>
    internal static void SmallClientWindow(SocketsHttpHandler handler) => handler.InitialHttp2StreamWindowSize = 65535;

    [Theory]
    [InlineData("the-app")]
    [InlineData("alice-laptop")]
    public async Task SixtyFourMiBEachWayThroughOneStreamWithSmallWindowsArriveByteExact(string server)
    {
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls,
            app: o => o with { Pipeline = BulkEndpoint.Pipeline("the-app", Payload.SixtyFourMiB, responseSeed: 2), ConfigureServer = BulkEndpoint.SmallWindows },
            developer: o => o with { Pipeline = BulkEndpoint.Pipeline("alice-laptop", Payload.SixtyFourMiB, responseSeed: 3), ConfigureServer = BulkEndpoint.SmallWindows });
        using var caller = rig.Front.NewCaller(SmallClientWindow, Timeouts.Long);

        await ExchangeAsync(
            caller,
            dev: server == "alice-laptop" ? "alice" : null,
            requestLength: Payload.SixtyFourMiB,
            requestSeed: 1,
            responseLength: Payload.SixtyFourMiB,
            responseSeed: server == "alice-laptop" ? 3 : 2,
            expectedServer: server);
        Assert.Equal(1, caller.Connections);
    }

    [Theory]
    [InlineData("the-app")]
    [InlineData("alice-laptop")]
    public async Task BodiesLargerThanTheAgentsWindowsFlowBothWays(string server)
    {
        // 1 MiB: four times the agent's 256 KiB stream window, as large as its connection window; default peer windows.
        const long Length = 1024 * 1024;
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls,
            app: o => o with { Pipeline = BulkEndpoint.Pipeline("the-app", Length, responseSeed: 2) },
            developer: o => o with { Pipeline = BulkEndpoint.Pipeline("alice-laptop", Length, responseSeed: 3) });
        using var caller = rig.Front.NewCaller();

        string? dev = server == "alice-laptop" ? "alice" : null;
        int responseSeed = server == "alice-laptop" ? 3 : 2;

        // Down only (an empty request body), then both ways, three times on the same connection.
        await ExchangeAsync(caller, dev, requestLength: 0, requestSeed: 9, Length, responseSeed, server, Timeouts.Short);
        for (int i = 0; i < 3; i++)
        {
            await ExchangeAsync(caller, dev, requestLength: Length, requestSeed: 10 + i, Length, responseSeed, server, Timeouts.Short);
        }

        Assert.Equal(1, caller.Connections);
    }

    /// <summary>
    /// POST /bulk with <paramref name="requestLength"/> seeded bytes; asserts what the server received and that its
    /// <paramref name="responseLength"/> bytes came back, bit for bit. When time runs out, says how far each direction got.
    /// </summary>
    internal static async Task ExchangeAsync(
        Http2Caller caller,
        string? dev,
        long requestLength,
        int requestSeed,
        long responseLength,
        int responseSeed,
        string expectedServer,
        TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeouts.Long;
        using var cts = new CancellationTokenSource(limit);
        var content = new StreamingContent(requestLength, requestSeed);
        using var request = caller.NewRequest(HttpMethod.Post, "/bulk", dev, content);
        HttpResponseMessage? response = null;
        CountingStream? body = null;
        try
        {
            response = await caller.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            body = new CountingStream(await response.Content.ReadAsStreamAsync(cts.Token));
            Digest down = await Payload.ReadToEndAsync(body, cts.Token);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.Equal(expectedServer, response.Headers.GetValues("x-served-by").Single());
            Assert.Equal("HTTP/2", response.Headers.GetValues("x-protocol").Single());
            Assert.Equal(Payload.Expected(requestLength, requestSeed).ToString(), response.Headers.GetValues("x-received").Single());
            Assert.Equal(Payload.Expected(responseLength, responseSeed), down);
        }
        catch (OperationCanceledException e)
        {
            throw new TimeoutException(
                $"POST /bulk of {requestLength} bytes to {expectedServer} did not finish within {limit.TotalSeconds}s: request body handed to " +
                $"HttpClient {content.Body?.Count ?? 0} bytes (it runs at most a window ahead of what the agent accepted), response " +
                $"{(response is null ? "headers not received" : $"{(int)response.StatusCode}, {body?.Count ?? 0} of {responseLength} body bytes read")}", e);
        }
        finally
        {
            if (body is not null)
            {
                await body.DisposeAsync();
            }

            response?.Dispose();
        }
    }

    /// <summary>A request body of seeded bytes with a Content-Length, written as the connection's windows allow.</summary>
    private sealed class StreamingContent(long length, int seed) : HttpContent
    {
        public CountingStream? Body { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            Body = new CountingStream(stream);
            return Payload.WriteAsync(Body, length, seed, CancellationToken.None);
        }

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            return true;
        }
    }

    /// <summary>Passes reads and writes through to <paramref name="inner"/>, counting the bytes.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await inner.ReadAsync(buffer, cancellationToken);
            Interlocked.Add(ref _count, read);
            return read;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            Interlocked.Add(ref _count, buffer.Length);
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
