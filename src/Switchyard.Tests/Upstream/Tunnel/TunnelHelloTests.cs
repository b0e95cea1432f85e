using System.Buffers;
using System.Text;
using Switchyard.Upstream.Tunnel;

namespace Switchyard.Tests.Upstream.Tunnel;

public sealed class TunnelHelloTests
{
    [Theory]
    [InlineData("SWITCHYARD-TUNNEL/1 control alice s3cret\n", "control", "alice", "s3cret")]
    [InlineData("SWITCHYARD-TUNNEL/1 data bob -\n", "data", "bob", null)]
    [InlineData("SWITCHYARD-TUNNEL/1 data bob tok\r\n", "data", "bob", "tok")]
    public void A_complete_hello_line_is_read_and_the_buffer_left_after_it(string line, string role, string id, string? token)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(line + "GET"));

        Assert.True(TunnelHello.TryRead(ref buffer, out TunnelHello? hello, out string? error));

        Assert.Null(error);
        Assert.Equal(new TunnelHello(role == "control" ? TunnelRole.Control : TunnelRole.Data, id, token), hello);
        Assert.Equal("GET", Encoding.ASCII.GetString(buffer));
    }

    [Fact]
    public void Every_prefix_of_a_hello_is_incomplete_and_consumes_nothing()
    {
        byte[] line = Encoding.ASCII.GetBytes("SWITCHYARD-TUNNEL/1 control alice -\n");
        for (int i = 0; i < line.Length; i++)
        {
            var buffer = new ReadOnlySequence<byte>(line, 0, i);

            Assert.False(TunnelHello.TryRead(ref buffer, out _, out _));
            Assert.Equal(i, buffer.Length);
        }
    }

    [Theory]
    [InlineData("HELLO control alice -", "bad hello")]
    [InlineData("SWITCHYARD-TUNNEL/2 control alice -", "bad hello")]
    [InlineData("SWITCHYARD-TUNNEL/1 admin alice -", "unknown role")]
    [InlineData("SWITCHYARD-TUNNEL/1 control alice", "bad hello")]
    [InlineData("SWITCHYARD-TUNNEL/1 control  -", "empty intercept id")]
    [InlineData("SWITCHYARD-TUNNEL/1 control alice - extra", "bad hello")]
    public void A_malformed_hello_is_refused_with_a_reason(string line, string reason)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(line + "\n"));

        Assert.True(TunnelHello.TryRead(ref buffer, out TunnelHello? hello, out string? error));

        Assert.Null(hello);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hello_longer_than_the_limit_is_refused_before_its_line_ends()
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(new string('x', TunnelHello.MaxLength + 1)));

        Assert.True(TunnelHello.TryRead(ref buffer, out TunnelHello? hello, out string? error));

        Assert.Null(hello);
        Assert.Equal("hello line too long", error);
    }

    [Fact]
    public void Format_writes_what_TryRead_reads()
    {
        var hello = new TunnelHello(TunnelRole.Data, "dev-1a2b3c", null);
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(hello.Format()));

        Assert.True(TunnelHello.TryRead(ref buffer, out TunnelHello? read, out _));
        Assert.Equal(hello, read);
    }

    [Theory]
    [InlineData(null, null, true)]
    [InlineData(null, "anything", true)]
    [InlineData("s3cret", "s3cret", true)]
    [InlineData("s3cret", "s3cret2", false)]
    [InlineData("s3cret", "S3cret", false)]
    [InlineData("s3cret", null, false)]
    public void The_token_must_match_only_when_one_is_configured(string? expected, string? presented, bool matches) =>
        Assert.Equal(matches, TunnelHello.TokenMatches(expected, presented));

    [Fact]
    public void A_refusal_is_one_line()
    {
        Assert.Equal("ERR no such  thing \n", Encoding.ASCII.GetString(TunnelHello.Error("no such\r thing\n")));
    }
}
