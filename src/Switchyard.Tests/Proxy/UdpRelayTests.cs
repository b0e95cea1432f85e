using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Routing;
using Switchyard.Tests.Http2.Frames;

namespace Switchyard.Tests.Proxy;

/// <summary>The UDP port relay against real loopback sockets: echo servers as app and developer, clients as callers.</summary>
public sealed class UdpRelayTests : IDisposable
{
    private readonly UdpEcho _app = new("app");
    private readonly UdpEcho _developer = new("dev");

    public void Dispose()
    {
        _app.Dispose();
        _developer.Dispose();
    }

    private readonly FakeTimeProvider _clock = new();

    private UdpRelay Start(RouteTableHolder routes, TimeSpan? idle = null)
    {
        var settings = new PortSettings(0, "dns", "UDP", null, new IPEndPoint(IPAddress.Loopback, 0), "127.0.0.1", _app.Port,
            TlsMode.Off, HttpMode.None, InspectMode.Never, TimeSpan.FromSeconds(2), null, null)
        {
            UdpIdleTimeout = idle ?? TimeSpan.FromSeconds(60),
        };
        var relay = UdpRelay.Bind(new PortRuntime(settings, NullLogger.Instance), routes, NullLogger.Instance, _clock);
        _ = relay.RunAsync();
        return relay;
    }

    private static async Task<string> AskAsync(UdpClient client, IPEndPoint relay, string text)
    {
        await client.SendAsync(Encoding.UTF8.GetBytes(text), relay);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        UdpReceiveResult answer = await client.ReceiveAsync(timeout.Token);
        return Encoding.UTF8.GetString(answer.Buffer);
    }

    [Fact]
    public async Task Each_source_gets_the_apps_answers_to_its_own_datagrams()
    {
        using UdpRelay relay = Start(new RouteTableHolder());
        using var one = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var two = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));

        Assert.Equal("app:one-1", await AskAsync(one, relay.LocalEndPoint, "one-1"));
        Assert.Equal("app:two-1", await AskAsync(two, relay.LocalEndPoint, "two-1"));
        Assert.Equal("app:one-2", await AskAsync(one, relay.LocalEndPoint, "one-2"));
        Assert.Equal(2, relay.SessionCount);
    }

    [Fact]
    public async Task A_global_intercept_takes_the_next_datagram_of_a_running_session_and_its_removal_gives_it_back()
    {
        var routes = new RouteTableHolder();
        using UdpRelay relay = Start(routes);
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));

        Assert.Equal("app:before", await AskAsync(client, relay.LocalEndPoint, "before"));
        routes.Add(new InterceptRule("dev", "dns", InterceptMode.Intercept, null, $"127.0.0.1:{_developer.Port}"));
        Assert.Equal("dev:during", await AskAsync(client, relay.LocalEndPoint, "during"));
        routes.Remove("dev");
        Assert.Equal("app:after", await AskAsync(client, relay.LocalEndPoint, "after"));
    }

    [Fact]
    public async Task Idle_sessions_expire()
    {
        using UdpRelay relay = Start(new RouteTableHolder(), idle: TimeSpan.FromMilliseconds(200));
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal("app:ping", await AskAsync(client, relay.LocalEndPoint, "ping"));
        Assert.Equal(1, relay.SessionCount);

        _clock.Advance(TimeSpan.FromMilliseconds(200));
        relay.SweepIdle();
        Assert.Equal(1, relay.SessionCount); // idle for exactly the timeout: not yet past it

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        relay.SweepIdle();
        Assert.Equal(0, relay.SessionCount);

        Assert.Equal("app:again", await AskAsync(client, relay.LocalEndPoint, "again"));
        Assert.Equal(1, relay.SessionCount);
    }

    [Fact]
    public async Task A_datagram_keeps_its_session_alive()
    {
        using UdpRelay relay = Start(new RouteTableHolder(), idle: TimeSpan.FromMilliseconds(200));
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal("app:one", await AskAsync(client, relay.LocalEndPoint, "one"));

        _clock.Advance(TimeSpan.FromMilliseconds(150));
        Assert.Equal("app:two", await AskAsync(client, relay.LocalEndPoint, "two"));
        _clock.Advance(TimeSpan.FromMilliseconds(150));
        relay.SweepIdle();

        Assert.Equal(1, relay.SessionCount); // 300 ms since it began, but only 150 ms since its last datagram
    }

    /// <summary>Answers every datagram with "NAME:" + its payload.</summary>
    private sealed class UdpEcho : IDisposable
    {
        private readonly UdpClient _socket = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _stop = new();

        public UdpEcho(string name)
        {
            Port = ((IPEndPoint)_socket.Client.LocalEndPoint!).Port;
            _ = Task.Run(async () =>
            {
                byte[] prefix = Encoding.UTF8.GetBytes(name + ":");
                while (!_stop.IsCancellationRequested)
                {
                    UdpReceiveResult received;
                    try
                    {
                        received = await _socket.ReceiveAsync(_stop.Token);
                    }
                    catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                    {
                        return;
                    }

                    byte[] answer = [.. prefix, .. received.Buffer];
                    await _socket.SendAsync(answer, answer.Length, received.RemoteEndPoint);
                }
            });
        }

        public int Port { get; }

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
        }
    }
}
