using Microsoft.Extensions.Logging;
using ZLogger;

namespace Switchyard.Diagnostics;

// 9xxx: the intercept lifecycle (SPEC "Admin API": added, removed, expired or refused, with id, port, filter and who).
// Expiry through the tunnel is 8005 (Log.Tunnel.cs), followed by 9002 with "by" naming the tunnel.
internal static partial class Log
{
    [ZLoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "{mode} {intercept} added on port {port} by {source}: match {match}, to {target}")]
    public static partial void InterceptAdded(this ILogger logger, string mode, string intercept, string port, string source, string match, string target);

    [ZLoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "{mode} {intercept} on port {port} removed by {source}; its requests go to the app")]
    public static partial void InterceptRemoved(this ILogger logger, string mode, string intercept, string port, string source);

    [ZLoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "intercept {intercept} from {source} refused ({status}): {reason}")]
    public static partial void InterceptRefused(this ILogger logger, string intercept, string source, int status, string reason);

    [ZLoggerMessage(EventId = 9004, Level = LogLevel.Information, Message = "{mode} {intercept} on port {port} {change} by the config file: match {match}, to {target}")]
    public static partial void InterceptFromConfig(this ILogger logger, string mode, string intercept, string port, string change, string match, string target);
}
