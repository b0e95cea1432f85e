using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using Switchyard.Tests.TestSupport;
using Switchyard.Transport;

namespace Switchyard.Tests.Transport;

public sealed class OpenSslBuffersTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static async Task<(SslStream Client, SslStream Server)> HandshakeAsync()
    {
        (Socket client, Socket server) = await Loopback.ConnectedPairAsync();
        var ssl = new SslStream(new NetworkStream(client, ownsSocket: true));
        Task<SslStream> peer = TestTls.AcceptAsync(server, SslApplicationProtocol.Http11);
        await ssl.AuthenticateAsClientAsync(TestTls.ClientOptions(SslApplicationProtocol.Http11)).WaitAsync(Patience);
        return (ssl, await peer.WaitAsync(Patience));
    }

    [Fact]
    public async Task With_buffers_released_while_empty_bytes_of_every_size_still_flow_both_ways()
    {
        // The runtime loads libssl with its first TLS use (the agent's certificates do it before Enable).
        (SslStream first, SslStream firstPeer) = await HandshakeAsync();
        await first.DisposeAsync();
        await firstPeer.DisposeAsync();
        Assert.True(OpenSslBuffers.Enable(), OpenSslBuffers.Unavailable);
        Assert.True(OpenSslBuffers.Enable()); // once per process, the same answer after

        (SslStream client, SslStream server) = await HandshakeAsync();
        await using (client)
        await using (server)
        {
            // Small and large messages, one record and many, with the buffers freed and allocated again between them.
            foreach (int size in new[] { 1, 100, 16 * 1024, 16 * 1024 + 1, 70_000, 3 })
            {
                byte[] request = RandomNumberGenerator.GetBytes(size);
                byte[] response = RandomNumberGenerator.GetBytes(size + 7);
                Task<byte[]> received = ReadExactlyAsync(server, size);
                await client.WriteAsync(request).AsTask().WaitAsync(Patience);
                Assert.Equal(request, await received);
                Task<byte[]> answered = ReadExactlyAsync(client, size + 7);
                await server.WriteAsync(response).AsTask().WaitAsync(Patience);
                Assert.Equal(response, await answered);
            }

            // Idle (a zero-byte read waiting, as the agent's readers do), then bytes: the read buffer comes back for them.
            Task<int> waiting = server.ReadAsync(Memory<byte>.Empty).AsTask();
            await client.WriteAsync("after idle"u8.ToArray());
            Assert.Equal(0, await waiting.WaitAsync(Patience));
            Assert.Equal("after idle"u8.ToArray(), await ReadExactlyAsync(server, 10));

            // close_notify still goes out and is read as the end of the stream.
            await client.ShutdownAsync();
            Assert.Equal(0, await server.ReadAsync(new byte[1]).AsTask().WaitAsync(Patience));
        }
    }

    [Fact]
    public async Task Returning_the_handshake_buffer_of_a_waiting_stream_keeps_it_usable_both_ways()
    {
        (SslStream client, SslStream server) = await HandshakeAsync();
        await using (client)
        await using (server)
        {
            await SslStreamIdle.ReturnHandshakeBufferAsync(server).AsTask().WaitAsync(Patience); // nothing sent yet

            Task<int> waiting = server.ReadAsync(Memory<byte>.Empty).AsTask();
            await client.WriteAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray());
            Assert.Equal(0, await waiting.WaitAsync(Patience));
            Assert.Equal("GET / HTTP/1.1\r\n\r\n"u8.ToArray(), await ReadExactlyAsync(server, 18));
            await server.WriteAsync("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray());
            Assert.Equal("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray(), await ReadExactlyAsync(client, 19));
        }
    }

    [Fact]
    public async Task Bytes_that_arrived_before_the_handshake_buffer_is_returned_are_still_read()
    {
        (SslStream client, SslStream server) = await HandshakeAsync();
        await using (client)
        await using (server)
        {
            await client.WriteAsync("early"u8.ToArray());
            await SslStreamIdle.ReturnHandshakeBufferAsync(server).AsTask().WaitAsync(Patience);
            Assert.Equal("early"u8.ToArray(), await ReadExactlyAsync(server, 5));
        }
    }

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Patience);
        return buffer;
    }
}
