using Microsoft.Extensions.Logging;

namespace Switchyard.Upstream.Tunnel;

/// <summary>Builds the tunnel server from the settings (null when tunnel.listen is not set).</summary>
internal static class TunnelFactory
{
    /// <summary>Overrides for tests and slow networks: SWITCHYARD_TUNNEL_GRACE (e.g. 3s) and SWITCHYARD_TUNNEL_WAIT (e.g. 2s).</summary>
    public static TunnelServer? Create(Config.AgentSettings settings, Func<string, bool> isTunnelIntercept, Action<string> expire, ILoggerFactory loggers)
    {
        if (settings.TunnelListen is null)
        {
            return null;
        }

        ILogger logger = loggers.CreateLogger("Switchyard.Tunnel");
        var registry = new TunnelRegistry(isTunnelIntercept, expire, logger)
        {
            Grace = Duration("SWITCHYARD_TUNNEL_GRACE", TimeSpan.FromSeconds(3)),
            WaitForConnection = Duration("SWITCHYARD_TUNNEL_WAIT", TimeSpan.FromSeconds(2)),
        };
        return new TunnelServer(settings.TunnelListen, settings.AdminToken, registry, logger);
    }

    private static TimeSpan Duration(string variable, TimeSpan fallback) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text && Config.Duration.TryParse(text, out TimeSpan value) ? value : fallback;
}
