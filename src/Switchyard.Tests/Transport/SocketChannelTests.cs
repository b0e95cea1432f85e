using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;

namespace Switchyard.Tests.Transport;

public sealed class SocketChannelTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Reads the channel's input until the peer's end of stream; returns what arrived.</summary>
    /// <summary>The first byte that has arrived, left unread (-1 when the peer closed first).</summary>
    private static async Task<int> PeekFirstAsync(SocketChannel channel)
    {
        byte[] first = new byte[1];
        int peeked = await channel.PeekAsync(first, CancellationToken.None).AsTask().WaitAsync(Patience);
        return peeked > 0 ? first[0] : peeked;
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

    [Fact]
    public async Task A_tcp_channel_is_not_secure_and_negotiated_no_protocol()
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        using Socket peer = client;
        await using SocketChannel channel = SocketChannel.FromAccepted(server);

        Assert.False(channel.IsSecure);
        Assert.Equal(AlpnProtocol.None, channel.NegotiatedProtocol);
    }

    [Fact]
    public async Task Closing_the_output_through_the_pipes_sends_fin_and_the_other_direction_keeps_flowing()
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        using Socket peer = client;
        await using SocketChannel channel = SocketChannel.FromAccepted(server);

        await channel.Output.WriteAsync("hello"u8.ToArray());
        await channel.CloseOutputAsync();

        byte[] received = await Loopback.ReadToEndAsync(peer).WaitAsync(Patience); // returns at the FIN
        Assert.Equal("hello", Encoding.ASCII.GetString(received));

        await peer.SendAsync("still here"u8.ToArray(), SocketFlags.None);
        peer.Shutdown(SocketShutdown.Send);
        Assert.Equal("still here", await ReadToEndAsync(channel.Input));
    }

    [Fact]
    public async Task Closing_the_output_of_a_socket_read_as_a_stream_sends_fin_and_reading_goes_on()
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        using Socket peer = client;
        await using SocketChannel channel = SocketChannel.FromAccepted(server);
        Stream stream = channel.AsStream();

        await stream.WriteAsync("bye"u8.ToArray());
        await channel.CloseOutputAsync();

        Assert.Equal("bye", Encoding.ASCII.GetString(await Loopback.ReadToEndAsync(peer).WaitAsync(Patience)));
        await peer.SendAsync("answer"u8.ToArray(), SocketFlags.None);
        peer.Shutdown(SocketShutdown.Send);
        using var rest = new MemoryStream();
        await stream.CopyToAsync(rest).WaitAsync(Patience);
        Assert.Equal("answer", Encoding.ASCII.GetString(rest.ToArray()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_idle_connection_is_idle_and_open_until_the_peer_sends_a_byte(bool pipes)
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        using Socket peer = client;
        await using SocketChannel channel = SocketChannel.FromAccepted(server);
        if (pipes)
        {
            _ = channel.Input; // starts the socket pipes
        }

        Assert.True(channel.IsIdleAndOpen());

        await peer.SendAsync("x"u8.ToArray(), SocketFlags.None);
        Assert.Equal('x', await PeekFirstAsync(channel)); // arrived, not consumed

        Assert.False(channel.IsIdleAndOpen());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_the_peer_closed_is_not_idle_and_open(bool pipes)
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        await using SocketChannel channel = SocketChannel.FromAccepted(server);
        if (pipes)
        {
            _ = channel.Input;
        }

        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(-1, await PeekFirstAsync(channel));
        client.Dispose();

        Assert.False(channel.IsIdleAndOpen());
    }

    [Fact]
    public async Task Peeking_the_first_byte_leaves_it_for_the_pipes()
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        using Socket peer = client;
        await using SocketChannel channel = SocketChannel.FromAccepted(server);
        await peer.SendAsync("GET"u8.ToArray(), SocketFlags.None);
        peer.Shutdown(SocketShutdown.Send);

        Assert.Equal('G', await PeekFirstAsync(channel));
        Assert.Equal("GET", await ReadToEndAsync(channel.Input));
    }

    [Fact]
    public async Task Aborting_resets_the_connection_instead_of_a_clean_end()
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        using Socket peer = client;
        await using SocketChannel channel = SocketChannel.FromAccepted(server);

        channel.Abort();

        var e = await Assert.ThrowsAsync<SocketException>(() => peer.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(Patience));
        Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
    }

    [Fact]
    public async Task Dialing_a_closed_port_throws_a_socket_exception()
    {
        await Assert.ThrowsAsync<SocketException>(() =>
            SocketChannel.ConnectAsync(IPAddress.Loopback.ToString(), Loopback.ClosedPort(), Patience, CancellationToken.None));
    }

    [Fact]
    public async Task A_dialed_channel_reaches_its_listener()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        Task<Socket> accepted = listener.AcceptAsync();

        await using SocketChannel channel = await SocketChannel.ConnectAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, Patience, CancellationToken.None);
        using Socket peer = await accepted.WaitAsync(Patience);
        await channel.Output.WriteAsync("ping"u8.ToArray());
        await channel.CloseOutputAsync();

        Assert.Equal("ping", Encoding.ASCII.GetString(await Loopback.ReadToEndAsync(peer).WaitAsync(Patience)));
    }
}
