using System.Net.Sockets;
using System.Security.Authentication;
using Switchyard.Transport;

namespace Switchyard.Tests.Transport;

public sealed class ConnectionErrorsTests
{
    public static TheoryData<Exception> Expected => new()
    {
        new IOException("reset"),
        new SocketException((int)SocketError.ConnectionReset),
        new ObjectDisposedException("socket"),
        new InvalidOperationException("the pipe writer was completed"),
        new OperationCanceledException(),
        new TaskCanceledException(),
        new EndOfStreamException(),
    };

    public static TheoryData<Exception> NotExpected => new()
    {
        new AuthenticationException("handshake"),
        new ArgumentException("bug"),
        new NullReferenceException(),
        new FormatException(),
        new TimeoutException(),
    };

    [Theory]
    [MemberData(nameof(Expected))]
    public void The_ways_a_connection_breaks_are_expected(Exception e) => Assert.True(ConnectionErrors.IsExpected(e));

    [Theory]
    [MemberData(nameof(NotExpected))]
    public void Bugs_handshake_failures_and_timeouts_are_not_connection_errors(Exception e) => Assert.False(ConnectionErrors.IsExpected(e));

    [Theory]
    [MemberData(nameof(HandshakeFailures))]
    public void A_refused_broken_or_timed_out_handshake_is_a_handshake_failure(Exception e) => Assert.True(ConnectionErrors.IsHandshakeFailure(e));

    [Fact]
    public void A_socket_error_or_a_bug_during_a_handshake_is_not_a_handshake_failure()
    {
        Assert.False(ConnectionErrors.IsHandshakeFailure(new SocketException((int)SocketError.ConnectionRefused)));
        Assert.False(ConnectionErrors.IsHandshakeFailure(new InvalidOperationException()));
        Assert.False(ConnectionErrors.IsHandshakeFailure(new ObjectDisposedException("ssl")));
    }

    public static TheoryData<Exception> HandshakeFailures => new()
    {
        new AuthenticationException("remote certificate invalid"),
        new IOException("received an unexpected EOF"),
        new OperationCanceledException(),
    };
}
