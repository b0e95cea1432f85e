using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;

namespace Switchyard.Tests.Transport;

public sealed class TlsChannelTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    /// <summary>The agent's side as a TLS client over a loopback socket, the test's peer as the TLS server.</summary>
    private static async Task<(TlsChannel Channel, SslStream Peer)> ConnectAsync(SslApplicationProtocol[] offered, SslApplicationProtocol[] accepted)
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        SocketChannel tcp = SocketChannel.FromAccepted(client);
        var ssl = new SslStream(tcp.AsStream(), leaveInnerStreamOpen: true);
        Task<SslStream> peer = TestTls.AcceptAsync(server, accepted);
        await ssl.AuthenticateAsClientAsync(TestTls.ClientOptions(offered)).WaitAsync(Patience);
        return (new TlsChannel(ssl, tcp), await peer.WaitAsync(Patience));
    }

    public static TheoryData<string[], string[], AlpnProtocol> Negotiations => new()
    {
        { ["h2", "http/1.1"], ["h2", "http/1.1"], AlpnProtocol.Http2 },
        { ["h2", "http/1.1"], ["http/1.1"], AlpnProtocol.Http11 },
        { ["http/1.1"], ["h2", "http/1.1"], AlpnProtocol.Http11 },
        { [], ["h2"], AlpnProtocol.None },
        { ["h2"], [], AlpnProtocol.None },
    };

    [Theory]
    [MemberData(nameof(Negotiations))]
    public async Task A_tls_channel_is_secure_and_reports_what_alpn_agreed(string[] offered, string[] accepted, AlpnProtocol expected)
    {
        (TlsChannel channel, SslStream peer) = await ConnectAsync(
            [.. offered.Select(p => new SslApplicationProtocol(p))], [.. accepted.Select(p => new SslApplicationProtocol(p))]);
        await using (channel)
        await using (peer)
        {
            Assert.True(channel.IsSecure);
            Assert.Equal(expected, channel.NegotiatedProtocol);
            Assert.False(channel.Transport.IsSecure); // the TCP connection underneath
        }
    }

    [Fact]
    public async Task Closing_the_output_sends_close_notify_then_fin_and_the_peer_can_still_answer()
    {
        (TlsChannel channel, SslStream peer) = await ConnectAsync([SslApplicationProtocol.Http11], [SslApplicationProtocol.Http11]);
        await using (channel)
        await using (peer)
        {
            await channel.Output.WriteAsync("request"u8.ToArray());
            await channel.CloseOutputAsync();

            using var received = new MemoryStream();
            await peer.CopyToAsync(received).WaitAsync(Patience); // ends at close_notify
            Assert.Equal("request", Encoding.ASCII.GetString(received.ToArray()));

            await peer.WriteAsync("response"u8.ToArray());
            await peer.ShutdownAsync();
            Assert.Equal("response", await ReadToEndAsync(channel.Input));
        }
    }

    [Fact]
    public async Task Tls_runs_over_a_connection_whose_pipes_were_already_read()
    {
        // A tunnel data connection: its hello line is read through the socket pipes, then TLS starts on the same bytes.
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        SocketChannel agent = SocketChannel.FromAccepted(server);
        await using var developer = new NetworkStream(client, ownsSocket: true);
        await developer.WriteAsync("HELLO\n"u8.ToArray());
        ReadResult hello = await agent.Input.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal("HELLO\n", Encoding.ASCII.GetString(System.Buffers.BuffersExtensions.ToArray(hello.Buffer.Slice(0, 6))));
        agent.Input.AdvanceTo(hello.Buffer.GetPosition(6));

        await using var developerTls = new SslStream(developer);
        Task serve = developerTls.AuthenticateAsServerAsync(TestTls.ServerOptions(SslApplicationProtocol.Http2));
        var ssl = new SslStream(agent.AsStream(), leaveInnerStreamOpen: true);
        await ssl.AuthenticateAsClientAsync(TestTls.ClientOptions(SslApplicationProtocol.Http2)).WaitAsync(Patience);
        await serve.WaitAsync(Patience);
        await using var channel = new TlsChannel(ssl, agent);

        Assert.Equal(AlpnProtocol.Http2, channel.NegotiatedProtocol);
        await developerTls.WriteAsync("over tls"u8.ToArray());
        await developerTls.ShutdownAsync();
        Assert.Equal("over tls", await ReadToEndAsync(channel.Input));
    }

    [Fact]
    public void Alpn_values_map_to_the_protocols_the_proxy_knows()
    {
        Assert.Equal(AlpnProtocol.None, AlpnProtocols.From(default));
        Assert.Equal(AlpnProtocol.Http2, AlpnProtocols.From(SslApplicationProtocol.Http2));
        Assert.Equal(AlpnProtocol.Http11, AlpnProtocols.From(SslApplicationProtocol.Http11));
        Assert.Equal(AlpnProtocol.Other, AlpnProtocols.From(SslApplicationProtocol.Http3));
        Assert.Equal(AlpnProtocol.Other, AlpnProtocols.From(new SslApplicationProtocol("grpc-exp")));
    }

    private static async Task<string> ReadToEndAsync(PipeReader input)
    {
        var text = new StringBuilder();
        while (true)
        {
            ReadResult read = await input.ReadAsync().AsTask().WaitAsync(Patience);
            foreach (ReadOnlyMemory<byte> segment in read.Buffer)
            {
                text.Append(Encoding.ASCII.GetString(segment.Span));
            }

            input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                return text.ToString();
            }
        }
    }
}
