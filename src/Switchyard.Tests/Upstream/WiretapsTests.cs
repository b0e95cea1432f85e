using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Routing;
using Switchyard.Tests.TestSupport;
using Switchyard.Upstream;

namespace Switchyard.Tests.Upstream;

public sealed class WiretapsTests
{
    private static WiretapCopy Copy(string path) =>
        WiretapCopy.Whole("GET", Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: tap\r\n\r\n"), [], tls: false, sni: null);

    [Fact]
    public async Task ATapThatDoesNotAnswerInTimeIsDroppedAndTheNextCopyGoesOutOnANewConnection()
    {
        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var tap = new LoopbackServer(async socket =>
        {
            // Reads one request head and never answers.
            var buffer = new byte[1024];
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
            received.Enqueue(Encoding.ASCII.GetString(buffer, 0, n).Split(' ')[1]);
            await socket.ReceiveAsync(buffer, SocketFlags.None); // returns when the agent gives up and closes
        });
        var rule = new InterceptRule("tap", "web", InterceptMode.Wiretap, filter: null, target: $"127.0.0.1:{tap.Port}");
        var taps = new Wiretaps(_ => null, NullLogger.Instance) { AnswerTimeout = TimeSpan.FromMilliseconds(200) };

        taps.Offer(rule, Copy("/first"));
        taps.Offer(rule, Copy("/second"));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (taps.Drops.GetValueOrDefault("tap")?.Get("tap_timeout") != 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(2, taps.Drops["tap"].Get("tap_timeout"));
        Assert.Equal(["/first", "/second"], received.ToArray());
        Assert.Equal(2, tap.ConnectionCount);
    }

    [Fact]
    public async Task A_kept_alive_tap_connection_that_the_tap_closes_is_closed_by_the_next_idle_check()
    {
        var clock = new ManualClock();
        var closedByAgent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var tap = new LoopbackServer(async socket =>
        {
            var buffer = new byte[1024];
            await socket.ReceiveAsync(buffer, SocketFlags.None);
            await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), SocketFlags.None);
            socket.Shutdown(SocketShutdown.Send); // the tap's keep-alive timeout: FIN, its reading side still open
            finSent.SetResult();
            Assert.Empty(await Loopback.ReadToEndAsync(socket));
            closedByAgent.SetResult();
        });
        var rule = new InterceptRule("tap", "web", InterceptMode.Wiretap, filter: null, target: $"127.0.0.1:{tap.Port}");
        var taps = new Wiretaps(_ => null, NullLogger.Instance) { Time = clock };

        taps.Offer(rule, Copy("/one"));
        await finSent.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the checks below run after the tap's FIN, not before it

        // Each idle check is a timer on the manual clock: run them (fewer than the idle timeout's worth) until the
        // agent closes the connection because the tap closed its side.
        int checks = 0;
        while (!closedByAgent.Task.IsCompleted && checks < (int)(ConnectionPool.IdleTimeout / ConnectionPool.SweepInterval) - 1)
        {
            await clock.WhenArmedAsync().WaitAsync(TimeSpan.FromSeconds(10));
            clock.Advance(ConnectionPool.SweepInterval);
            checks++;
            await Task.WhenAny(closedByAgent.Task, clock.WhenArmedAsync()).WaitAsync(TimeSpan.FromSeconds(10));
        }

        await closedByAgent.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, taps.Delivered.Get("tap"));
        Assert.Equal(1, taps.IdleClosed.Get("tap"));
        Assert.Null(taps.Drops.GetValueOrDefault("tap"));
    }
}
