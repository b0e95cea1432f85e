using Microsoft.Extensions.Logging;
using ZLogger;

namespace Switchyard.Diagnostics;

// 7xxx: live config reload and certificate rotation.

internal static partial class Log
{
    [ZLoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "config {configPath} reloaded (fingerprint {oldFingerprint} -> {fingerprint}): {changes}")]
    public static partial void ConfigReloaded(this ILogger logger, string configPath, string oldFingerprint, string fingerprint, string changes);

    [ZLoggerMessage(EventId = 7002, Level = LogLevel.Error, Message = "config reload rejected, fingerprint {fingerprint} stays in force: {error}")]
    public static partial void ConfigReloadFailed(this ILogger logger, string fingerprint, string error);

    [ZLoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "config reload: admin.listen changed to {listen}; the admin server keeps {current} until the agent restarts")]
    public static partial void AdminListenNotApplied(this ILogger logger, string listen, string current);

    [ZLoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "config reload: intercept {intercept} added through the admin API is replaced by the config's intercept with the same id")]
    public static partial void AdminInterceptReplaced(this ILogger logger, string intercept);

    [ZLoggerMessage(EventId = 7005, Level = LogLevel.Information, Message = "certificate {certPath} rotated: serial {serial}, subject {subject}, not after {notAfter}; used from the next handshake")]
    public static partial void CertificateRotated(this ILogger logger, string certPath, string serial, string subject, string notAfter);

    [ZLoggerMessage(EventId = 7006, Level = LogLevel.Warning, Message = "certificate {certPath} (key {keyPath}) not reloaded, serial {serial} stays in use: {reason}")]
    public static partial void CertificateReloadFailed(this ILogger logger, string certPath, string keyPath, string serial, string reason);

    [ZLoggerMessage(EventId = 7007, Level = LogLevel.Information, Message = "watching config {configPath} and {certificates} certificate pairs for changes (checked on file events and every {pollMs} ms)")]
    public static partial void WatchingFiles(this ILogger logger, string configPath, int certificates, long pollMs);
}
