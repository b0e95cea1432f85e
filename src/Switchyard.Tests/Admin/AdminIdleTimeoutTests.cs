using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Admin;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Tests.Reload;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Admin;

/// <summary>AdminServer.IdleTimeout at its edge, on a clock the test moves: restarted by every request, then a quiet close.</summary>
public sealed class AdminIdleTimeoutTests : IAsyncLifetime
{
    private readonly CapturingLoggerFactory _loggers = new();
    private readonly FakeTimeProvider _clock = new();
    private Agent _agent = null!;
    private AdminServer _admin = null!;

    public Task InitializeAsync()
    {
        _agent = new Agent(ConfigLoader.Parse(Encoding.UTF8.GetBytes(ReloadFiles.Config([("web", Loopback.ClosedPort())])), "config.json"), _loggers);
        _admin = new AdminServer(_agent, _loggers.CreateLogger("Switchyard.Admin"), _clock);
        _admin.Start(new IPEndPoint(IPAddress.Loopback, 0));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _agent.DisposeAsync();
    }

    private async Task<string> AskAsync(NetworkStream stream)
    {
        await stream.WriteAsync("GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n"u8.ToArray());
        var buffer = new byte[4096];
        var answer = new StringBuilder();
        while (!answer.ToString().EndsWith("ok\n", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(n > 0, $"closed before the answer ({answer}); log: {string.Join(" | ", _loggers.Logger.Lines.Select(l => $"{l.Level} {l.EventId} {l.Message}"))}");
            answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return answer.ToString();
    }

    [Fact]
    public async Task A_connection_quiet_for_the_idle_timeout_is_closed_with_a_debug_line_and_each_request_restarts_the_clock()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _admin.LocalEndPoint!.Port);
        NetworkStream stream = client.GetStream();
        Assert.StartsWith("HTTP/1.1 200 OK", await AskAsync(stream), StringComparison.Ordinal);

        // Just under the limit, twice: each request restarts it, so 2 x 29.9 s of wall time in total does not close.
        for (int i = 0; i < 2; i++)
        {
            _clock.Advance(AdminServer.IdleTimeout - TimeSpan.FromMilliseconds(100));
            Assert.StartsWith("HTTP/1.1 200 OK", await AskAsync(stream), StringComparison.Ordinal);
        }

        _clock.Advance(AdminServer.IdleTimeout);
        int read = await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, read); // closed by the agent
        Assert.True(await Eventually.TrueAsync(() => _loggers.Logger.Messages(5002).Any(), TimeSpan.FromSeconds(10)));
        var idle = _loggers.Logger.Lines.Single(l => l.EventId == 5002);
        Assert.Equal(LogLevel.Debug, idle.Level);
        Assert.Matches(@"^admin connection from 127\.0\.0\.1:\d+ closed: no request for 30 s$", idle.Message);
        Assert.True(!_loggers.Logger.Lines.Any(l => l.Level >= LogLevel.Warning), string.Join(" | ", _loggers.Logger.Lines.Select(l => $"{l.Level} {l.EventId} {l.Message}")));
    }
}
