using Microsoft.Extensions.Logging;
using Switchyard.Diagnostics;

namespace Switchyard.Upstream.Tunnel;

/// <summary>Builds the tunnel server from the settings (null when tunnel.listen is not set).</summary>
internal static class TunnelFactory
{
    /// <summary>Overrides for tests and slow networks: SWITCHYARD_TUNNEL_GRACE (e.g. 3s) and SWITCHYARD_TUNNEL_WAIT (e.g. 2s).</summary>
    public static TunnelServer? Create(Config.AgentSettings settings, Func<string?> token, Func<string, bool> isTunnelIntercept, Action<string> expire, ILoggerFactory loggers)
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
        if (!System.Net.IPAddress.IsLoopback(settings.TunnelListen.Address) && settings.AdminToken is null)
        {
            logger.TunnelOpenWithoutToken(Config.Endpoints.Format(settings.TunnelListen));
        }

        return new TunnelServer(settings.TunnelListen, token, registry, logger);
    }

    private static TimeSpan Duration(string variable, TimeSpan fallback) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text && Config.Duration.TryParse(text, out TimeSpan value) ? value : fallback;
}
