using System.Net;
using System.Text;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// A caller cancelling one stream (RST_STREAM CANCEL from HttpClient) cancels that request at its destination (the
/// upstream sees RequestAborted within seconds), while the same caller connection goes on serving other streams.
/// </summary>
public sealed class StreamCancellationTests(ITestOutputHelper output)
{
    /// <summary>How long the upstream may take to see the abort after the caller cancelled.</summary>
    private static readonly TimeSpan AbortPropagation = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData("the-app", false)]
    [InlineData("the-app", true)]
    [InlineData("alice-laptop", false)]
    [InlineData("alice-laptop", true)]
    public async Task ACancelledStreamIsAbortedAtItsDestinationWhileTheConnectionServesOthers(string server, bool responseStarted)
    {
        var hold = new HoldEndpoint();
        await using var rig = await Http2Rig.StartAsync(output, FrontTransport.Tls,
            app: o => o with { Pipeline = hold.Pipeline("the-app") },
            developer: o => o with { Pipeline = hold.Pipeline("alice-laptop") });
        using var caller = rig.Front.NewCaller();
        string? dev = server == "alice-laptop" ? "alice" : null;

        Assert.Equal("the-app", (await caller.GetAsync("/before")).Echo("app"));
        await CancelAHeldStreamAsync(caller, hold, server, dev, responseStarted, duringHold: async () =>
        {
            // While the held stream is open, other streams on the connection are answered by both destinations.
            Assert.Equal("alice-laptop", (await caller.GetAsync("/during", "alice")).Echo("app"));
            Assert.Equal("the-app", (await caller.GetAsync("/during")).Echo("app"));
        });

        Assert.Equal("alice-laptop", (await caller.GetAsync("/after", "alice")).Echo("app"));
        Assert.Equal("the-app", (await caller.GetAsync("/after")).Echo("app"));
        Assert.Equal(1, caller.Connections);
        Assert.Equal(1, hold.Arrivals);
    }

    /// <summary>
    /// Sends GET /hold (x-dev: DEV when set) and waits until <paramref name="server"/> has it; with
    /// <paramref name="responseStarted"/> also reads the first response chunk. Runs <paramref name="duringHold"/>,
    /// then cancels the request and asserts the server sees RequestAborted within <see cref="AbortPropagation"/>.
    /// </summary>
    internal static async Task CancelAHeldStreamAsync(
        Http2Caller caller, HoldEndpoint hold, string server, string? dev, bool responseStarted, Func<Task>? duringHold = null)
    {
        string id = Guid.NewGuid().ToString("N");
        using var cancel = new CancellationTokenSource();
        using var request = caller.NewRequest(HttpMethod.Get, $"/hold?id={id}{(responseStarted ? "&first=1" : "")}", dev);
        var sending = caller.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        var arrived = hold.ArrivedAsync(server, id, Timeouts.Short);
        if (await Task.WhenAny(arrived, sending) == sending && sending.IsFaulted)
        {
            await sending; // the request failed before reaching the server: show why
        }

        await arrived;

        if (responseStarted)
        {
            using var response = await sending.WaitAsync(Timeouts.Short);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync(cancel.Token);
            var buffer = new byte[256];
            int read = await body.ReadAsync(buffer, cancel.Token).AsTask().WaitAsync(Timeouts.Short);
            Assert.StartsWith($"first chunk from {server}", Encoding.UTF8.GetString(buffer, 0, read), StringComparison.Ordinal);
            if (duringHold is not null)
            {
                await duringHold();
            }

            var pendingRead = body.ReadAsync(buffer, cancel.Token).AsTask();
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pendingRead.WaitAsync(Timeouts.Short));
        }
        else
        {
            if (duringHold is not null)
            {
                await duringHold();
            }

            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending.WaitAsync(Timeouts.Short));
        }

        await hold.AbortedAsync(server, id, AbortPropagation);
    }
}
