using System.Net.Sockets;
using Switchyard.BrokenConfigs;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Tls;

/// <summary>
/// A failed TLS handshake is logged in words: in the AOT build SslStream's exceptions carry resource keys
/// (net_frame_read_size, net_io_eof, net_ssl_io_renego) that must not reach the log line.
/// </summary>
public sealed class HandshakeFailureWordsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_client_hello_cut_short_is_logged_without_resource_keys()
    {
        await using var env = await ProxiedApp.StartAsync(output, new KestrelAppOptions { Certificate = TestPki.Shared.Server }, inspect: "always", (port, pem) =>
        {
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
            port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
        });

        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, env.ListenPort);
            // A handshake record announcing 80 bytes, of which 4 arrive before the caller goes away.
            await socket.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x50, 0x01, 0x00, 0x00, 0x4c });
            socket.Shutdown(SocketShutdown.Both);
        }

        AgentLogEntry failed = await env.Agent.WaitForLogAsync(
            l => l.Message.Contains("downstream TLS handshake failed", StringComparison.Ordinal), "the handshake failure");
        // "...: downstream TLS handshake failed: REASON (DETAIL)": REASON is a metric label (snake_case on purpose).
        int open = failed.Message.IndexOf(" (", failed.Message.IndexOf("handshake failed: ", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.True(open > 0, failed.Message);
        string detail = failed.Message[(open + 2)..].TrimEnd(')');
        Assert.True(BrokenConfigCatalog.ResourceKeyIn(detail) is null, failed.Message);
        Assert.DoesNotContain("System.", failed.Message, StringComparison.Ordinal);
    }
}
