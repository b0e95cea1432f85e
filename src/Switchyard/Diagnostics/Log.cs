using Microsoft.Extensions.Logging;
using ZLogger;

namespace Switchyard.Diagnostics;

// Source-generated log methods, one block per area, fixed event ids (1xxx agent, 2xxx connections,
// 3xxx TLS, 4xxx detection, 5xxx admin, 6xxx demo). Parameters become JSON properties of each line.

internal static partial class Log
{
    // 1xxx: agent lifecycle
    [ZLoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "switchyard {version} starting with config {configPath} (fingerprint {fingerprint})")]
    public static partial void Starting(this ILogger logger, string version, string configPath, string fingerprint);

    [ZLoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "port {port} listening on {listen}, app {app}, inspect {inspect}")]
    public static partial void PortListening(this ILogger logger, string port, string listen, string app, string inspect);

    [ZLoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "admin listening on {listen}")]
    public static partial void AdminListening(this ILogger logger, string listen);

    [ZLoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "{signal} received: draining {active} open connections for up to {drainSeconds} s")]
    public static partial void Draining(this ILogger logger, string signal, long active, double drainSeconds);

    [ZLoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "drain timeout: aborting {active} open connections")]
    public static partial void DrainTimeout(this ILogger logger, long active);

    [ZLoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "stopped after {uptimeSeconds} s")]
    public static partial void Stopped(this ILogger logger, long uptimeSeconds);

    [ZLoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "port {port}: accept failing ({error}, {count} times since the last report); waiting {waitMs} ms before the next accept")]
    public static partial void AcceptFailing(this ILogger logger, string port, string error, long count, double waitMs);

    [ZLoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "memory limit {limitMiB} MiB (cgroup): at most {connections} open connections over all ports ({perConnectionKiB} KiB each above {baseMiB} MiB); more are closed at accept (memory_limit)")]
    public static partial void ConnectionBudgetSet(this ILogger logger, long limitMiB, int connections, long perConnectionKiB, long baseMiB);

    [ZLoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "idle TLS connections keep their OpenSSL record buffers (about 33 KiB each): {reason}")]
    public static partial void TlsBuffersKept(this ILogger logger, string reason);

    [ZLoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "connection {id} on {port}: {reason} after {elapsedMs} ms")]
    public static partial void ConnectionTimedOut(this ILogger logger, long id, string port, string reason, long elapsedMs);

    [ZLoggerMessage(EventId = 1008, Level = LogLevel.Critical, Message = "cannot listen on {listen} for port {port}: {reason}")]
    public static partial void ListenFailed(this ILogger logger, string port, string listen, string reason);

    // 2xxx: connections
    [ZLoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "connection {connection} from {remote} on port {port} ({path})")]
    public static partial void ConnectionOpened(this ILogger logger, long connection, string remote, string port, string path);

    [ZLoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "connection {connection} on port {port} ended: {reason} after {durationMs} ms, {bytesIn} bytes in, {bytesOut} bytes out{detail}")]
    public static partial void ConnectionEnded(this ILogger logger, long connection, string port, string reason, long durationMs, long bytesIn, long bytesOut, string detail);

    [ZLoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "connection {connection} on port {port}: app {app} unreachable: {reason}")]
    public static partial void AppUnreachable(this ILogger logger, long connection, string port, string app, string reason);

    [ZLoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "connection {connection} on port {port}: {reason}")]
    public static partial void ProtocolMismatch(this ILogger logger, long connection, string port, string reason);

    [ZLoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "port {port} is TLS and inspect is {inspect}, but no downstreamTls is configured: forwarding without decrypting")]
    public static partial void CannotTerminate(this ILogger logger, string port, string inspect);

    [ZLoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "connection {connection} on port {port} failed unexpectedly")]
    public static partial void ConnectionFailed(this ILogger logger, Exception exception, long connection, string port);

    [ZLoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "connection {connection} on port {port}: intercept {intercept} target {target} unavailable ({reason}); failing open to the app")]
    public static partial void InterceptFailedOpen(this ILogger logger, long connection, string port, string intercept, string target, string reason);

    [ZLoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "wiretap {tap} ({target}) failed: {reason}; copies are dropped and counted until it answers again")]
    public static partial void WiretapFailed(this ILogger logger, string tap, string target, string reason);

    [ZLoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "connection {connection} on port {port}: HTTP/2 connection error {code}: {reason}")]
    public static partial void Http2ConnectionError(this ILogger logger, long connection, string port, string code, string reason);

    [ZLoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "connection {connection} on port {port}: stream {stream} sent again on another connection: {reason}")]
    public static partial void Http2StreamRetried(this ILogger logger, long connection, string port, int stream, string reason);

    [ZLoggerMessage(EventId = 2011, Level = LogLevel.Debug, Message = "connection {connection} on port {port}: stream {stream} reset: {reason}")]
    public static partial void Http2StreamFailed(this ILogger logger, long connection, string port, int stream, string reason);

    [ZLoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "UDP port {port}: cannot open a session toward {destination}: {reason}; the datagram is dropped")]
    public static partial void UdpDestinationFailed(this ILogger logger, string port, string destination, string reason);

    [ZLoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "HTTP/2 connection to {destination} ended by the destination: {goAway}")]
    public static partial void Http2DestinationGoAway(this ILogger logger, string destination, string goAway);

    // 3xxx: TLS
    [ZLoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "connection {connection} on port {port}: downstream TLS handshake failed: {reason} ({detail})")]
    public static partial void DownstreamHandshakeFailed(this ILogger logger, long connection, string port, string reason, string detail);

    [ZLoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "connection {connection} on port {port}: upstream TLS handshake with {app} failed: {reason} ({detail})")]
    public static partial void UpstreamHandshakeFailed(this ILogger logger, long connection, string port, string app, string reason, string detail);

    [ZLoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "certificate {certPath} for port {port} expired at {notAfter}")]
    public static partial void CertificateExpired(this ILogger logger, string port, string certPath, string notAfter);

    [ZLoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "certificate {certPath} for port {port} expires in {days:0.0} days ({notAfter})")]
    public static partial void CertificateExpiresSoon(this ILogger logger, string port, string certPath, double days, string notAfter);

    [ZLoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "connection {connection} on port {port}: TLS {protocol} alpn {alpn} sni {sni}")]
    public static partial void DownstreamHandshakeDone(this ILogger logger, long connection, string port, string protocol, string alpn, string sni);

    // 4xxx: detection
    [ZLoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "port {port}: detected {tls}/{http} from {source}")]
    public static partial void Detected(this ILogger logger, string port, string tls, string http, string source);

    [ZLoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "port {port}: probe of {app} found {result} in {elapsedMs} ms")]
    public static partial void ProbeSucceeded(this ILogger logger, string port, string app, string result, long elapsedMs);

    [ZLoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "port {port}: probe of {app} failed (attempt {attempt}): {reason}; retrying on a later connection")]
    public static partial void ProbeFailed(this ILogger logger, string port, string app, int attempt, string reason);

    // 5xxx: admin
    [ZLoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "admin request from {remote} failed: {reason}")]
    public static partial void AdminRequestFailed(this ILogger logger, string remote, string reason);

    [ZLoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "admin connection from {remote} closed: no request for {idleSeconds} s")]
    public static partial void AdminConnectionIdle(this ILogger logger, string remote, long idleSeconds);

    // 6xxx: demo
    [ZLoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "demo app {name} listening on {listen}")]
    public static partial void DemoAppListening(this ILogger logger, string name, string listen);
}
