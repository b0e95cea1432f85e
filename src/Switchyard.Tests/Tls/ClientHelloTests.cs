using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Switchyard.Tests.TestSupport;
using Switchyard.Tls;

namespace Switchyard.Tests.Tls;

/// <summary>
/// <see cref="ClientHello.OffersTls13"/> on the first record real clients (.NET's SslStream over OpenSSL) send, and on
/// what must not count as an offer: a cut record, a hello split over two records, other bytes.
/// </summary>
public sealed class ClientHelloTests
{
    [Theory]
    [InlineData(SslProtocols.Tls12 | SslProtocols.Tls13, true)]
    [InlineData(SslProtocols.Tls13, true)]
    [InlineData(SslProtocols.Tls12, false)]
    public async Task A_real_ClientHello_offers_TLS_1_3_exactly_when_the_client_enables_it(SslProtocols enabled, bool expected)
    {
        byte[] hello = await CaptureClientHelloAsync(enabled);

        Assert.Equal(0x16, hello[0]);
        Assert.Equal(expected, ClientHello.OffersTls13(hello));
    }

    [Fact]
    public async Task A_ClientHello_that_has_not_fully_arrived_is_not_an_offer()
    {
        byte[] hello = await CaptureClientHelloAsync(SslProtocols.Tls12 | SslProtocols.Tls13);
        Assert.True(ClientHello.OffersTls13(hello));

        for (int cut = 0; cut < hello.Length; cut += 7)
        {
            Assert.False(ClientHello.OffersTls13(hello.AsSpan(0, cut)));
        }
    }

    [Fact]
    public async Task A_ClientHello_split_over_two_records_is_not_an_offer()
    {
        byte[] hello = await CaptureClientHelloAsync(SslProtocols.Tls12 | SslProtocols.Tls13);
        int length = (hello[3] << 8) | hello[4];

        // The same handshake message, its first 40 bytes in one record and the rest in a second one.
        byte[] split = new byte[hello.Length + 5];
        hello.AsSpan(0, 5 + 40).CopyTo(split);
        split[3] = 0;
        split[4] = 40;
        hello.AsSpan(0, 3).CopyTo(split.AsSpan(45));
        split[48] = (byte)((length - 40) >> 8);
        split[49] = (byte)(length - 40);
        hello.AsSpan(45).CopyTo(split.AsSpan(50));

        Assert.False(ClientHello.OffersTls13(split));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x16, 0x03, 0x01 })]
    [InlineData(new byte[] { 0x47, 0x45, 0x54, 0x20, 0x2f, 0x20 })] // "GET / "
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00 })] // a ServerHello type
    [InlineData(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x03, 0x03 })] // a hello with no random
    public void Other_bytes_are_not_an_offer(byte[] bytes) => Assert.False(ClientHello.OffersTls13(bytes));

    /// <summary>The first bytes an SslStream client sends with <paramref name="enabled"/>; the handshake is then abandoned.</summary>
    private static async Task<byte[]> CaptureClientHelloAsync(SslProtocols enabled)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using Socket server = await listener.AcceptSocketAsync();

        var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: true);
        Task handshake = ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = enabled,
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        });

        // Read until the whole first record is here (its length is in the header).
        var received = new List<byte>();
        byte[] buffer = new byte[ClientHello.MaxPeek];
        while (received.Count < 5 || received.Count < 5 + ((received[3] << 8) | received[4]))
        {
            int n = await server.ReceiveAsync(buffer);
            Assert.True(n > 0, "the client closed before its ClientHello arrived");
            received.AddRange(buffer.AsSpan(0, n));
        }

        server.Close(); // the handshake fails; only the hello mattered
        await Assert.ThrowsAnyAsync<Exception>(() => handshake);
        ssl.Dispose();
        return [.. received];
    }
}
