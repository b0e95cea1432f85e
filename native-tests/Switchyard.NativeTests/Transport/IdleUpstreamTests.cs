using System.Globalization;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Transport;

/// <summary>
/// The soak's leak: an idle pooled connection to the app that the app closed (its keep-alive timeout) must be
/// closed by the agent too, not left in CLOSE_WAIT until a later request happens to look at it.
/// </summary>
public sealed class IdleUpstreamTests(ITestOutputHelper output)
{
    /// <summary>Longer than the app's keep-alive timeout plus the pool's sweep interval (5 s), with room for a busy machine.</summary>
    private static readonly TimeSpan Release = TimeSpan.FromSeconds(30);

    /// <summary>The agent's socket descriptors (/proc/PID/fd entries linking to socket:[inode]).</summary>
    private static int Sockets(int pid) =>
        Directory.GetFiles($"/proc/{pid}/fd").Count(fd =>
        {
            try
            {
                return new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true;
            }
            catch (IOException)
            {
                return false; // closed while listing
            }
        });

    /// <summary>/proc/net/tcp rows in CLOSE_WAIT (state 08) whose remote end is 127.0.0.1:<paramref name="port"/>.</summary>
    private static int CloseWaitTo(int port)
    {
        string remote = "0100007F:" + port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => f.Length > 3 && f[2] == remote && f[3] == "08");
    }

    [Fact]
    public async Task A_pooled_app_connection_closed_by_the_app_is_released()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions
        {
            Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
            ConfigureServer = kestrel => kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(1),
        });
        int web = Ports.GetFreeTcpPort();
        await using var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), AgentConfig.Port("web", web, app.Port, "always")));
        int baseline = Sockets(agent.Pid);

        CurlResult result = await Curl.HttpAsync(web, "/once");
        Assert.True(result.Succeeded, result.ToString());

        // The app closes the idle connection after its keep-alive timeout; the agent must close its end as well.
        var deadline = DateTime.UtcNow + Release;
        int sockets = Sockets(agent.Pid);
        int closeWait = CloseWaitTo(app.Port);
        while ((sockets > baseline || closeWait > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100); // polling the kernel's tables: there is no event to wait for
            sockets = Sockets(agent.Pid);
            closeWait = CloseWaitTo(app.Port);
        }

        Assert.True(closeWait == 0, $"{closeWait} agent socket(s) to the app still in CLOSE_WAIT after {Release.TotalSeconds} s");
        Assert.True(sockets <= baseline, $"the agent holds {sockets} sockets, {baseline} before the request");
    }
}
