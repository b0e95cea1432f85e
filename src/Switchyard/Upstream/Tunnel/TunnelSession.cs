using Switchyard.Transport;

namespace Switchyard.Upstream.Tunnel;

/// <summary>
/// One developer connected through the tunnel under an intercept id: its idle data connections, its current control
/// connection (replaced when the CLI reconnects; <see cref="Generation"/> tells a stale one from the current one)
/// and the queue of request events the control connection carries to the CLI.
/// </summary>
internal sealed class TunnelSession(string id)
{
    public const int MaxQueuedEvents = 1024;

    public string Id { get; } = id;

    public TunnelPool Pool { get; } = new();

    public Lock Gate { get; } = new();

    /// <summary>The current control connection; null while the developer is away (guarded by <see cref="Gate"/>).</summary>
    public Channel? Control { get; set; }

    /// <summary>Bumped for every control connection (guarded by <see cref="Gate"/>).</summary>
    public int Generation { get; set; }

    /// <summary>Request event lines for the current control connection; null while none is attached.</summary>
    public System.Threading.Channels.Channel<string>? Events { get; set; }

    public bool Forgotten { get; set; }
}
