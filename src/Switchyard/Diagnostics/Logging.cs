using Microsoft.Extensions.Logging;
using ZLogger;

namespace Switchyard.Diagnostics;

internal static class Logging
{
    /// <summary>
    /// JSON lines on stdout (one object per line: timestamp, level, category, message, parameters). Built by hand
    /// rather than with <c>LoggerFactory.Create</c>, whose service container resolved its open generics at start (a
    /// few ms of the agent's start time, perf/RESULTS.md issue 16). The factory owns the provider (AddProvider), so
    /// disposing it flushes the last lines.
    /// </summary>
    public static ILoggerFactory Create(LogLevel minimum = LogLevel.Information)
    {
        var options = new ZLogger.Providers.ZLoggerConsoleOptions();
        options.UseJsonFormatter(formatter => formatter.UseUtcTimestamp = true);
        System.Console.OutputEncoding = new System.Text.UTF8Encoding(false); // what AddZLoggerConsole does (OutputEncodingToUtf8)
        var factory = new LoggerFactory([], new LoggerFilterOptions { MinLevel = minimum });
        factory.AddProvider(new ZLogger.Providers.ZLoggerConsoleLoggerProvider(options));
        return factory;
    }

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
