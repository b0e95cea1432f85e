using Microsoft.Extensions.Logging;
using ZLogger;

namespace Switchyard.Diagnostics;

// 8xxx: the developer tunnel (agent side: tunnel.listen) and `switchyard intercept` (CLI side).
internal static partial class Log
{
    [ZLoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "tunnel listening on {listen}")]
    public static partial void TunnelListening(this ILogger logger, string listen);

    [ZLoggerMessage(EventId = 8002, Level = LogLevel.Warning, Message = "tunnel connection from {remote} refused: {reason}")]
    public static partial void TunnelRefused(this ILogger logger, string remote, string reason);

    [ZLoggerMessage(EventId = 8003, Level = LogLevel.Information, Message = "developer {intercept} connected through the tunnel from {remote}")]
    public static partial void TunnelControlConnected(this ILogger logger, string intercept, string remote);

    [ZLoggerMessage(EventId = 8004, Level = LogLevel.Warning, Message = "developer {intercept}: tunnel control connection lost ({reason}); the intercept is removed unless it reconnects within {graceMs} ms")]
    public static partial void TunnelControlLost(this ILogger logger, string intercept, string reason, long graceMs);

    [ZLoggerMessage(EventId = 8005, Level = LogLevel.Warning, Message = "intercept {intercept} removed: its developer did not reconnect through the tunnel; its requests go to the app")]
    public static partial void TunnelInterceptExpired(this ILogger logger, string intercept);

    [ZLoggerMessage(EventId = 8006, Level = LogLevel.Debug, Message = "developer {intercept}: data connection from {remote} idle in the pool ({idle} idle)")]
    public static partial void TunnelDataConnected(this ILogger logger, string intercept, string remote, int idle);

    [ZLoggerMessage(EventId = 8007, Level = LogLevel.Information, Message = "developer {intercept} left (BYE on the tunnel control connection); the intercept is removed and its requests go to the app")]
    public static partial void TunnelDeveloperLeft(this ILogger logger, string intercept);

    [ZLoggerMessage(EventId = 8008, Level = LogLevel.Warning, Message = "tunnel.listen {listen} is not a loopback address and admin.tokenFile is not set: anyone who reaches it can attach as a developer's data connection and receive that developer's requests; set admin.tokenFile (kubectl port-forward reaches 127.0.0.1)")]
    public static partial void TunnelOpenWithoutToken(this ILogger logger, string listen);
}
