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
        Assert.Equal(["/first", "/second"], received.Order(StringComparer.Ordinal)); // the second may go on a second sender
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

    [Fact]
    public async Task A_copy_that_streams_as_long_as_its_caller_does_not_hold_up_the_taps_next_copy()
    {
        var answered = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var tap = new LoopbackServer(async socket =>
        {
            // Answers each request once it is whole: a bodiless GET at its blank line, a chunked one at its last chunk.
            var seen = new StringBuilder();
            var buffer = new byte[4096];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
                string text = seen.ToString();
                bool whole = text.StartsWith("GET ", StringComparison.Ordinal) ? text.EndsWith("\r\n\r\n", StringComparison.Ordinal) : text.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
                if (whole)
                {
                    answered.Enqueue(text.Split(' ')[1]);
                    seen.Clear();
                    await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), SocketFlags.None);
                }
            }
        });
        var rule = new InterceptRule("tap", "web", InterceptMode.Wiretap, filter: null, target: $"127.0.0.1:{tap.Port}");
        var taps = new Wiretaps(_ => null, NullLogger.Instance);
        var stream = new WiretapBody(contentLength: -1, taps.BufferFor("tap"), dropped: null);
        taps.Offer(rule, new WiretapCopy("POST", Encoding.ASCII.GetBytes("POST /stream HTTP/1.1\r\nHost: tap\r\nTransfer-Encoding: chunked\r\n\r\n"), stream, Tls: false, Sni: null));
        stream.Write(new System.Buffers.ReadOnlySequence<byte>("hello"u8.ToArray()));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (tap.ConnectionCount == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10); // the stream's copy is under way on the tap's first sender
        }

        taps.Offer(rule, Copy("/next"));
        while (taps.Delivered.Get("tap") != 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(["/next"], answered.ToArray()); // delivered while the stream's copy is still open
        stream.End();
        while (taps.Delivered.Get("tap") != 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(["/next", "/stream"], answered.ToArray());
        Assert.Equal(2, tap.ConnectionCount);
        Assert.Null(taps.Drops.GetValueOrDefault("tap"));
    }
}
