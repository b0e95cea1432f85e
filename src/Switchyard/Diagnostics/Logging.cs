using Microsoft.Extensions.Logging;
using ZLogger;

namespace Switchyard.Diagnostics;

internal static class Logging
{
    /// <summary>JSON lines on stdout (one object per line: timestamp, level, category, message, parameters).</summary>
    public static ILoggerFactory Create(LogLevel minimum = LogLevel.Information) =>
        LoggerFactory.Create(builder =>
        {
            builder.ClearProviders();
            builder.SetMinimumLevel(minimum);
            builder.AddZLoggerConsole(options =>
            {
                options.UseJsonFormatter(formatter => formatter.UseUtcTimestamp = true);
            });
        });

    public static LogLevel LevelFromEnvironment() =>
        Environment.GetEnvironmentVariable("SWITCHYARD_LOG_LEVEL")?.ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "warning" or "warn" => LogLevel.Warning,
            "error" => LogLevel.Error,
            _ => LogLevel.Information,
        };
}
