using System.Globalization;
using System.Text.RegularExpressions;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Every caller connection ends, however briefly the caller stayed: short HTTP/2 exchanges of the kind a
/// conformance run makes (the preface, a few frames, some of them protocol errors, then the caller closes without
/// reading, with FIN, close_notify or RST) each leave one "ended" log line, and the active-connection gauge goes
/// back to 0. Over TLS such connections used to stay open for good (CLOSE-WAIT, no "ended" line, the next SIGTERM
/// waiting out its drain timeout): the agent's first write after the caller left failed, the TLS output kept the
/// failed bytes, and closing the connection wrote them again, threw, and skipped both the socket's close and the
/// record of the end (issue 11, defect 4).
/// </summary>
public sealed partial class Http2ConnectionEndTests(ITestOutputHelper output)
{
    private const int Rounds = 4;

    /// <summary>What the caller sends after the preface and its SETTINGS, before it closes.</summary>
    private static readonly (string Name, Func<Http2FrameClient, byte[]> Frames)[] Exchanges =
    [
        ("DATA on stream 0", _ => Http2FrameClient.Data(0, "x"u8, endStream: false)),
        ("WINDOW_UPDATE of 0 on the connection", _ => Http2FrameClient.WindowUpdate(0, 0)),
        ("WINDOW_UPDATE overflowing the connection window", _ => Http2FrameClient.WindowUpdate(0, 0x7FFFFFFF)),
        ("DATA on an idle stream", _ => Http2FrameClient.Data(5, "abc"u8, endStream: true)),
        ("HEADERS on an even stream id", c => c.Request(2, "GET", "/even")),
        ("PING of 7 bytes", _ => Http2FrameClient.Frame(FrameType.Ping, FrameFlags.None, 0, new byte[7])),
        ("a GET, then close", c => c.Request(1, "GET", "/short")),
        ("a POST whose body never comes, then close", c => c.Request(1, "POST", "/short", endStream: false)),
        ("two GETs, then close", c => [.. c.Request(1, "GET", "/one"), .. c.Request(3, "GET", "/two")]),
        ("HEADERS then RST_STREAM CANCEL", c => [.. c.Request(1, "POST", "/cancelled", endStream: false), .. Http2FrameClient.RstStream(1, H2Error.Cancel)]),
        ("ten GETs, then DATA on stream 0", c => [.. Enumerable.Range(0, 10).SelectMany(i => c.Request(1 + (2 * i), "GET", $"/many/{i}")), .. Http2FrameClient.Data(0, "x"u8, endStream: false)]),
        ("ten POSTs with bodies, then WINDOW_UPDATE of 0 on the connection", c =>
            [.. Enumerable.Range(0, 10).SelectMany(i => (byte[])[.. c.Request(1 + (2 * i), "POST", $"/upload/{i}", endStream: false), .. Http2FrameClient.Data(1 + (2 * i), new byte[1000], endStream: i % 2 == 0)]),
             .. Http2FrameClient.WindowUpdate(0, 0)]),
        ("nothing more", _ => []),
    ];

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task EveryShortExchangeEndsItsConnection(FrontTransport transport)
    {
        await using var rig = await Http2Rig.StartAsync(output, transport);
        int connections = 0;
        for (int round = 0; round < Rounds; round++)
        {
            foreach (var (_, frames) in Exchanges)
            {
                foreach (ClientClose close in Enum.GetValues<ClientClose>())
                {
                    // Even rounds send everything at once and close without waiting for the agent; odd rounds wait
                    // for its SETTINGS first, so that its next write (GOAWAY, an answer) is the one that meets the close.
                    await ShortExchangeAsync(rig.Front.Listen, transport == FrontTransport.Tls, frames, close, waitForSettings: round % 2 == 1);
                    connections++;
                }
            }
        }

        // Every connection ends: once the agent has accepted them all, the gauge comes back to 0 and each has its one
        // "ended" line (each waited for within the bound, no fixed sleep: the line may follow the gauge by a moment).
        try
        {
            await rig.Front.WaitForCountAsync("switchyard_connections_total", connections);
            await rig.Front.WaitForCountAsync("switchyard_connections_active", 0);
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"{Summary(rig, connections)}\n{e.Message}");
        }

        var deadline = DateTime.UtcNow + Timeouts.Short;
        while (EndedIds(rig).Count < connections && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(EndedIds(rig).Count == connections, Summary(rig, connections));
        var errors = rig.Agent.Logs.Where(l => l.LogLevel is "Error" or "Critical").Select(l => l.Raw).ToList();
        Assert.True(errors.Count == 0, $"{errors.Count} error lines:\n{string.Join("\n", errors.Take(5))}");
    }

    /// <summary>Connects (TLS with ALPN h2, or h2c), sends the preface, SETTINGS and the exchange's frames, and closes as told.</summary>
    private static async Task ShortExchangeAsync(int port, bool tls, Func<Http2FrameClient, byte[]> frames, ClientClose close, bool waitForSettings)
    {
        using var cts = new CancellationTokenSource(Timeouts.Short);
        var client = await Http2FrameClient.ConnectAsync(port, tls, cts.Token);
        try
        {
            byte[] script = frames(client);
            if (waitForSettings)
            {
                await client.HandshakeAsync(cts.Token);
                if (script.Length > 0)
                {
                    await client.WriteAsync(script, cts.Token);
                }
            }
            else
            {
                await client.WriteAsync((byte[])[.. Http2FrameClient.Preface, .. Http2FrameClient.Settings(), .. script], cts.Token);
            }
        }
        catch (IOException)
        {
            // The agent may close first (after its GOAWAY): the exchange is over either way; what counts is that it ends.
        }
        finally
        {
            await client.CloseAsync(close);
        }
    }

    private static HashSet<long> EndedIds(Http2Rig rig) =>
        [.. rig.Agent.Logs.Select(l => EndedLine().Match(l.Message)).Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    /// <summary>Which exchanges left their connection open (connection ids count up in the order the exchanges ran).</summary>
    private static string Summary(Http2Rig rig, int connections)
    {
        var ended = EndedIds(rig);
        var closes = Enum.GetValues<ClientClose>();
        var open = Enumerable.Range(0, connections).Where(i => !ended.Contains(i + 1)).Select(i =>
            $"#{i + 1} {Exchanges[i / closes.Length % Exchanges.Length].Name} / {closes[i % closes.Length]}"
            + (i / (closes.Length * Exchanges.Length) % 2 == 1 ? " / after the agent's SETTINGS" : ""));
        return $"{connections - ended.Count} of {connections} short exchanges left their connection open (no 'ended' line): {string.Join("; ", open)}";
    }

    [GeneratedRegex(@"^connection (\d+) on port " + AgentFront.PortName + " ended: ")]
    private static partial Regex EndedLine();
}
