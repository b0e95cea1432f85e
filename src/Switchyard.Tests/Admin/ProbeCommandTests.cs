using System.Net;
using System.Net.Sockets;
using System.Text;
using Switchyard.Admin;

namespace Switchyard.Tests.Admin;

public sealed class ProbeCommandTests
{
    [Theory]
    [InlineData("ready", "/readyz")]
    [InlineData("live", "/healthz")]
    public async Task AnswerOf200ExitsZeroAndAsksForTheRightPath(string what, string path)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task<string> served = AnswerOnceAsync(listener, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        var stderr = new StringWriter();

        int code = await ProbeCommand.RunAsync([what, "--admin", $"127.0.0.1:{Port(listener)}"], stderr);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr.ToString());
        Assert.StartsWith($"GET {path} HTTP/1.1\r\n", await served, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Answer503ExitsOneWithTheStatusOnOneLine()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _ = AnswerOnceAsync(listener, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\n\r\nnot ready\n");
        var stderr = new StringWriter();

        int code = await ProbeCommand.RunAsync(["ready", "--admin", $"127.0.0.1:{Port(listener)}"], stderr);

        Assert.Equal(1, code);
        Assert.Equal($"switchyard: probe ready: 127.0.0.1:{Port(listener)}/readyz: status 503 Service Unavailable\n", stderr.ToString());
    }

    [Fact]
    public async Task NothingListeningExitsOne()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = Port(probe);
        }

        var stderr = new StringWriter();
        int code = await ProbeCommand.RunAsync(["live", "--admin", $"127.0.0.1:{port}"], stderr);

        Assert.Equal(1, code);
        Assert.StartsWith($"switchyard: probe live: 127.0.0.1:{port}/healthz: ", stderr.ToString(), StringComparison.Ordinal);
        Assert.Single(stderr.ToString().TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task SilentPeerTimesOutWithinTheBudget()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var stderr = new StringWriter();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        int code = await ProbeCommand.RunAsync(["ready", "--admin", $"127.0.0.1:{Port(listener)}"], stderr);

        Assert.Equal(1, code);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(30)); // waited for its 2 s budget; a loaded machine may take longer to notice
        Assert.Contains("no answer within 2 s", stderr.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("healthy")]
    [InlineData("ready --admin 9901")]
    [InlineData("ready --admin")]
    [InlineData("ready live")]
    public async Task CommandLineMistakesAreUsageErrors(string commandLine)
    {
        string[] args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        await Assert.ThrowsAsync<UsageException>(() => ProbeCommand.RunAsync(args, new StringWriter()));
    }

    private static int Port(TcpListener listener) => ((IPEndPoint)listener.LocalEndpoint).Port;

    private static async Task<string> AnswerOnceAsync(TcpListener listener, string response)
    {
        using Socket socket = await listener.AcceptSocketAsync();
        byte[] buffer = new byte[4096];
        int filled = 0;
        while (!Encoding.ASCII.GetString(buffer, 0, filled).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            filled += await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
        }

        await socket.SendAsync(Encoding.ASCII.GetBytes(response), SocketFlags.None);
        socket.Shutdown(SocketShutdown.Both);
        return Encoding.ASCII.GetString(buffer, 0, filled);
    }
}
