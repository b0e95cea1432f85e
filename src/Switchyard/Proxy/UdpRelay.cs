using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>
/// A UDP port: datagrams from each source address are relayed through a session of their own (a socket connected to
/// the app, or to the port's global intercept target) and the answers go back to that source. A session ends after
/// <see cref="Config.PortSettings.UdpIdleTimeout"/> without datagrams either way. The destination follows the live
/// intercepts: a session whose destination changed (global intercept added or removed) is replaced on its next datagram.
/// </summary>
internal sealed class UdpRelay : IDisposable
{
    private const int MaxDatagram = 65_535;

    private readonly PortRuntime _port;
    private readonly Routing.RouteTableHolder _routes;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly ConcurrentDictionary<EndPoint, Session> _sessions = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _clock;

    private UdpRelay(PortRuntime port, Routing.RouteTableHolder routes, ILogger logger, Socket socket, TimeProvider clock)
    {
        _port = port;
        _routes = routes;
        _logger = logger;
        _socket = socket;
        _clock = clock;
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public int SessionCount => _sessions.Count;

    /// <summary>Binds the port's listen address (throws <see cref="SocketException"/> when taken).</summary>
    /// <param name="clock">Measures how long a session has been idle (tests pass a fake clock).</param>
    public static UdpRelay Bind(PortRuntime port, Routing.RouteTableHolder routes, ILogger logger, TimeProvider? clock = null)
    {
        IPEndPoint listen = port.Settings.Listen;
        var socket = new Socket(listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (listen.AddressFamily == AddressFamily.InterNetworkV6 && listen.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(listen);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new UdpRelay(port, routes, logger, socket, clock ?? TimeProvider.System);
    }

    /// <summary>Receives until disposed; runs the idle sweep alongside.</summary>
    public async Task RunAsync()
    {
        Task sweep = SweepAsync();
        byte[] buffer = GC.AllocateUninitializedArray<byte>(MaxDatagram);
        EndPoint any = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue; // ICMP from an earlier send, or a truncated datagram: UDP loses it, the port goes on
            }

            _port.Metrics.UdpDatagrams.Increment("downstream_to_app");
            ReadOnlyMemory<byte> datagram = buffer.AsMemory(0, received.ReceivedBytes);
            for (int attempt = 0; attempt < 2; attempt++)
            {
                Session? session = SessionFor(received.RemoteEndPoint);
                if (session is null)
                {
                    break;
                }

                try
                {
                    await session.Upstream.SendAsync(datagram, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                    break;
                }
                catch (ObjectDisposedException) when (!_stop.IsCancellationRequested)
                {
                    // The idle sweep ended this session between the lookup and the send: the datagram is ours to
                    // deliver, so it goes through a new session rather than being lost.
                }
                catch (Exception e) when (ConnectionErrors.IsExpected(e))
                {
                    break; // the destination refused (ICMP): the datagram is lost, as UDP allows
                }
            }
        }

        await sweep.ConfigureAwait(false);
    }

    private Session? SessionFor(EndPoint source)
    {
        Routing.RouteTable table = _routes.Snapshot;
        Routing.InterceptRule? global = table.ForPort(_port.Settings.Name).GlobalIntercept;
        string route = global?.Id ?? "app";
        if (_sessions.TryGetValue(source, out Session? session))
        {
            if (session.Route == route)
            {
                session.Touch(); // a datagram arrived: the session is active from now, before the send completes
                return session;
            }

            // The intercepts changed since this source's session began: the next datagram goes to the new destination.
            if (_sessions.TryRemove(new KeyValuePair<EndPoint, Session>(source, session)))
            {
                session.Dispose();
            }
        }

        (string host, int port) = global?.Target is { } target && Config.Endpoints.TryParseHostPort(target, out string h, out int p)
            ? (h, p)
            : (_port.Settings.AppHost, _port.Settings.AppPort);
        Socket upstream;
        try
        {
            IPAddress address = IPAddress.TryParse(host, out IPAddress? parsed) ? parsed : Dns.GetHostAddresses(host)[0];
            upstream = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            upstream.Connect(new IPEndPoint(address, port));
        }
        catch (SocketException e)
        {
            _logger.UdpDestinationFailed(_port.Settings.Name, $"{host}:{port}", ErrorText.Describe(e));
            return null;
        }

        session = new Session(source, route, upstream, _clock);
        _sessions[source] = session;
        _port.Metrics.UdpSessions.Increment(route);
        _ = AnswerAsync(session);
        return session;
    }

    /// <summary>The destination's datagrams go back to the session's source.</summary>
    private async Task AnswerAsync(Session session)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(MaxDatagram);
        while (true)
        {
            int n;
            try
            {
                n = await session.Upstream.ReceiveAsync(buffer, SocketFlags.None, session.Closed).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue; // ICMP port unreachable from the destination: nothing to answer yet
            }
            catch (Exception e) when (ConnectionErrors.IsExpected(e))
            {
                return;
            }

            session.Touch();
            _port.Metrics.UdpDatagrams.Increment("app_to_downstream");
            try
            {
                await _socket.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, session.Source).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (e is ObjectDisposedException)
                {
                    return;
                }
            }
        }
    }

    private async Task SweepAsync()
    {
        TimeSpan idle = _port.Settings.UdpIdleTimeout;
        using var timer = new PeriodicTimer(idle / 4 < TimeSpan.FromSeconds(1) ? idle / 4 : TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                SweepIdle();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Ends every session idle longer than <see cref="Config.PortSettings.UdpIdleTimeout"/> on the relay's clock.</summary>
    internal void SweepIdle()
    {
        TimeSpan idle = _port.Settings.UdpIdleTimeout;
        foreach ((EndPoint source, Session session) in _sessions)
        {
            if (session.IdleFor > idle && _sessions.TryRemove(new KeyValuePair<EndPoint, Session>(source, session)))
            {
                session.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        foreach (Session session in _sessions.Values)
        {
            session.Dispose();
        }

        _sessions.Clear();
    }

    private sealed class Session(EndPoint source, string route, Socket upstream, TimeProvider clock) : IDisposable
    {
        private readonly CancellationTokenSource _closed = new();
        private long _lastActive = clock.GetTimestamp();

        public EndPoint Source { get; } = source;

        /// <summary>"app" or the global intercept's id.</summary>
        public string Route { get; } = route;

        public Socket Upstream { get; } = upstream;

        public CancellationToken Closed => _closed.Token;

        public TimeSpan IdleFor => clock.GetElapsedTime(Volatile.Read(ref _lastActive));

        public void Touch() => Volatile.Write(ref _lastActive, clock.GetTimestamp());

        public void Dispose()
        {
            _closed.Cancel();
            Upstream.Dispose();
            _closed.Dispose();
        }
    }
}
