using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http1;

/// <summary>
/// Issue 12 item 4: a TLS HTTP/1.1 caller that stops reading a large response (the agent blocks sending to it) and
/// then resets must not leave its connection active or its file descriptors open.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class SlowReadResetTests(ITestOutputHelper output)
{
    private static int OpenFds(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    [Fact]
    public async Task ACallerThatStopsReadingAndResetsLeavesNoActiveConnectionAndNoFds()
    {
        byte[] block = new byte[64 * 1024];
        Array.Fill(block, (byte)'x');
        await using var proxied = await ProxiedApp.StartAsync(output,
            new KestrelAppOptions
            {
                Certificate = TestPki.Shared.Server,
                Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
                Pipeline = a => a.Map("/big", b => b.Run(async context =>
                {
                    context.Response.ContentLength = 256L * block.Length; // 16 MiB
                    for (int i = 0; i < 256; i++)
                    {
                        await context.Response.Body.WriteAsync(block, context.RequestAborted);
                    }
                })),
            },
            "always",
            (port, pem) =>
            {
                port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
                port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            });
        AgentProcess agent = proxied.Agent;
        int baseline = OpenFds(agent.Pid);

        for (int round = 0; round < 3; round++)
        {
            using var cts = new CancellationTokenSource(Timeouts.Short);
            var socket = await TlsClient.ConnectAsync(proxied.ListenPort, cts.Token);
            socket.ReceiveBufferSize = 16 * 1024;
            var tls = await TlsClient.AuthenticateAsync(socket, TestPki.Shared.Ca, ["http/1.1"], cts.Token);
            await tls.WriteAsync(Encoding.ASCII.GetBytes("GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n"), cts.Token);
            await tls.FlushAsync(cts.Token);
            byte[] buffer = new byte[16 * 1024];
            int read = 0;
            while (read < 64 * 1024)
            {
                int n = await tls.ReadAsync(buffer, cts.Token);
                Assert.True(n > 0, "the response ended early");
                read += n;
            }

            // Stop reading: the agent fills the socket buffers and blocks sending; the count of bytes it sent stops
            // far below 16 MiB. Then reset (linger 0).
            await agent.WaitForMetricAsync("switchyard_connections_active", [("port", "web")], v => v >= 1, ">= 1");
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
            await tls.DisposeAsync();
        }

        await agent.WaitForMetricAsync("switchyard_connections_active", [("port", "web")], v => v == 0, "== 0 after the resets");
        var deadline = DateTime.UtcNow + Timeouts.Short;
        int fds;
        while ((fds = OpenFds(agent.Pid)) > baseline && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(fds <= baseline, $"the agent holds {fds} fds, {baseline} before the slow readers\n{agent.Dump()}");
    }
}
