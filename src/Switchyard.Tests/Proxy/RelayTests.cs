using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Bogus;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;

namespace Switchyard.Tests.Proxy;

public sealed class RelayTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(0, 0, true, 1)]
    [InlineData(1, 1, true, 2)]
    [InlineData(65_536, 17, true, 3)]
    [InlineData(3 * 1024 * 1024 + 11, 2 * 1024 * 1024 + 3, true, 4)] // past the 1 MiB pipe pause threshold: backpressure
    [InlineData(17, 65_536, false, 5)]
    [InlineData(2 * 1024 * 1024 + 1, 3 * 1024 * 1024 + 7, false, 6)]
    public async Task Bytes_cross_byte_exact_both_ways_and_a_half_close_lets_the_other_direction_finish(int callerBytes, int appBytes, bool callerClosesFirst, int seed)
    {
        var random = new Randomizer(seed);
        byte[] fromCaller = random.Bytes(callerBytes);
        byte[] fromApp = random.Bytes(appBytes);
        await using Rig rig = await Rig.StartAsync();

        // The side that closes first sends everything and ends its direction; the other reads to the end of it and
        // only then answers over its still-open direction.
        Task<byte[]> callerSide = callerClosesFirst
            ? SendThenReceiveAsync(rig.Caller, fromCaller)
            : ReceiveThenSendAsync(rig.Caller, fromCaller);
        Task<byte[]> appSide = callerClosesFirst
            ? ReceiveThenSendAsync(rig.App, fromApp)
            : SendThenReceiveAsync(rig.App, fromApp);
        byte[] callerReceived = await callerSide.WaitAsync(Patience);
        byte[] appReceived = await appSide.WaitAsync(Patience);
        ConnectionEndReason reason = await rig.Relay.WaitAsync(Patience);

        AssertSameBytes(fromCaller, appReceived);
        AssertSameBytes(fromApp, callerReceived);
        Assert.Equal(ConnectionEndReason.Completed, reason);
        Assert.Equal(callerBytes, rig.BytesIn);
        Assert.Equal(appBytes, rig.BytesOut);
        Assert.Equal((callerBytes, appBytes), rig.PortBytes);
    }

    [Fact]
    public async Task Many_small_writes_arrive_in_order()
    {
        var faker = new Faker { Random = new Randomizer(42) };
        string[] lines = [.. Enumerable.Range(0, 500).Select(i => $"{i}:{faker.Lorem.Sentence()}\n")];
        await using Rig rig = await Rig.StartAsync();

        Task<byte[]> appReceives = Loopback.ReadToEndAsync(rig.App);
        await using (var stream = new NetworkStream(rig.Caller, ownsSocket: false))
        {
            foreach (string line in lines)
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(line));
            }
        }

        rig.Caller.Shutdown(SocketShutdown.Send);
        byte[] received = await appReceives.WaitAsync(Patience);
        rig.App.Shutdown(SocketShutdown.Send);

        Assert.Equal(string.Concat(lines), Encoding.UTF8.GetString(received));
        Assert.Equal(ConnectionEndReason.Completed, await rig.Relay.WaitAsync(Patience));
        Assert.Empty(await Loopback.ReadToEndAsync(rig.Caller).WaitAsync(Patience));
    }

    [Fact]
    public async Task A_caller_reset_ends_the_relay_as_a_downstream_reset_and_resets_the_app()
    {
        await using Rig rig = await Rig.StartAsync();
        await ExchangeHelloAsync(rig);

        Loopback.Reset(rig.Caller);
        ConnectionEndReason reason = await rig.Relay.WaitAsync(Patience);

        Assert.Equal(ConnectionEndReason.DownstreamReset, reason);
        Assert.Equal(SocketError.ConnectionReset, await ReadErrorAsync(rig.App));
    }

    [Fact]
    public async Task An_app_reset_ends_the_relay_as_an_upstream_reset_and_resets_the_caller()
    {
        await using Rig rig = await Rig.StartAsync();
        await ExchangeHelloAsync(rig);

        Loopback.Reset(rig.App);
        ConnectionEndReason reason = await rig.Relay.WaitAsync(Patience);

        Assert.Equal(ConnectionEndReason.UpstreamReset, reason);
        Assert.Equal(SocketError.ConnectionReset, await ReadErrorAsync(rig.Caller));
    }

    [Fact]
    public async Task A_reset_after_a_half_close_is_still_reported_as_a_reset()
    {
        await using Rig rig = await Rig.StartAsync();
        await ExchangeHelloAsync(rig);
        rig.Caller.Shutdown(SocketShutdown.Send);
        Assert.Empty(await Loopback.ReadToEndAsync(rig.App).WaitAsync(Patience)); // the caller's FIN reached the app

        Loopback.Reset(rig.App);
        ConnectionEndReason reason = await rig.Relay.WaitAsync(Patience);

        Assert.Equal(ConnectionEndReason.UpstreamReset, reason);
    }

    private static async Task ExchangeHelloAsync(Rig rig)
    {
        await rig.Caller.SendAsync("hello"u8.ToArray());
        byte[] buffer = new byte[5];
        int read = 0;
        while (read < buffer.Length)
        {
            read += await rig.App.ReceiveAsync(buffer.AsMemory(read)).AsTask().WaitAsync(Patience);
        }

        Assert.Equal("hello"u8.ToArray(), buffer);
    }

    /// <summary>How a read on a socket ended: Success for a clean end of stream, else the socket error.</summary>
    private static async Task<SocketError> ReadErrorAsync(Socket socket)
    {
        byte[] buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Patience) > 0)
            {
            }

            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }

    private static async Task<byte[]> SendThenReceiveAsync(Socket socket, byte[] payload)
    {
        await SendAllAndShutdownAsync(socket, payload);
        return await Loopback.ReadToEndAsync(socket);
    }

    private static async Task<byte[]> ReceiveThenSendAsync(Socket socket, byte[] payload)
    {
        byte[] received = await Loopback.ReadToEndAsync(socket);
        await SendAllAndShutdownAsync(socket, payload);
        return received;
    }

    private static async Task SendAllAndShutdownAsync(Socket socket, byte[] payload)
    {
        await using (var stream = new NetworkStream(socket, ownsSocket: false))
        {
            await stream.WriteAsync(payload);
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(Convert.ToHexString(XxHash128.Hash(expected)), Convert.ToHexString(XxHash128.Hash(actual)));
    }

    /// <summary>caller socket -> [downstream SocketChannel | Relay | upstream SocketChannel] -> app socket, all on loopback.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly SocketChannel _downstream;
        private readonly SocketChannel _upstream;
        private readonly ConnectionContext _context;

        private Rig(Socket caller, Socket app, SocketChannel downstream, SocketChannel upstream, ConnectionContext context)
        {
            Caller = caller;
            App = app;
            _downstream = downstream;
            _upstream = upstream;
            _context = context;
            Relay = Switchyard.Proxy.Relay.RunAsync(context, downstream, upstream);
        }

        public Socket Caller { get; }

        public Socket App { get; }

        public Task<ConnectionEndReason> Relay { get; }

        public long BytesIn => _context.BytesIn;

        public long BytesOut => _context.BytesOut;

        public (long In, long Out) PortBytes => (_context.Port.Metrics.BytesDownstreamToApp, _context.Port.Metrics.BytesAppToDownstream);

        public static async Task<Rig> StartAsync()
        {
            (Socket caller, Socket accepted) = await Loopback.ConnectedPairAsync();
            using var appListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            appListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            appListener.Listen(1);
            int appPort = ((IPEndPoint)appListener.LocalEndPoint!).Port;
            Task<Socket> appAccept = appListener.AcceptAsync();
            SocketChannel upstream = await SocketChannel.ConnectAsync("127.0.0.1", appPort, TimeSpan.FromSeconds(5), CancellationToken.None);
            Socket app = await appAccept.WaitAsync(TimeSpan.FromSeconds(5));

            string json = $$"""{ "version": 1, "ports": [ { "name": "web", "listen": 9900, "app": "127.0.0.1:{{appPort}}", "tls": "off", "http": "none" } ] }""";
            PortSettings settings = ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "relay.json").Ports[0];
            var port = new PortRuntime(settings, NullLogger.Instance);
            var context = new ConnectionContext();
            context.Start(1, port);
            SocketChannel downstream = SocketChannel.FromAccepted(accepted);
            context.Downstream = downstream;
            context.Upstream = upstream;
            return new Rig(caller, app, downstream, upstream, context);
        }

        public async ValueTask DisposeAsync()
        {
            Caller.Dispose();
            App.Dispose();
            await Relay.WaitAsync(Patience).ContinueWith(static _ => { }, TaskScheduler.Default);
            await _downstream.DisposeAsync();
            await _upstream.DisposeAsync();
        }
    }
}
