using System.Net;
using System.Net.Sockets;
using System.Text;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Reload;

public sealed class AgentApplyTests : IAsyncLifetime
{
    private readonly CapturingLoggerFactory _loggers = new();
    private readonly int _web = Loopback.ClosedPort();
    private readonly int _api = Loopback.ClosedPort();
    private Agent _agent = null!;

    public Task InitializeAsync()
    {
        _agent = new Agent(Parse(ReloadFiles.Config([("web", _web)], "a@web", "c@web")), _loggers);
        _agent.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _agent.DisposeAsync();

    private static AgentSettings Parse(string json) => ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "config.json");

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_new_port_is_bound_and_a_removed_one_stops_listening()
    {
        AgentSettings both = Parse(ReloadFiles.Config([("web", _web), ("api", _api)]));
        (string? error, string changes) = _agent.Apply(both);

        Assert.Null(error);
        Assert.Contains("port api added", changes, StringComparison.Ordinal);
        Assert.Equal(["web", "api"], _agent.Ports.Select(p => p.Settings.Name));
        Assert.True(await AcceptsAsync(_api));
        Assert.Same(both, _agent.Settings);

        (error, changes) = _agent.Apply(Parse(ReloadFiles.Config([("api", _api)])));

        Assert.Null(error);
        Assert.Contains("port web", changes, StringComparison.Ordinal);
        Assert.Contains("removed", changes, StringComparison.Ordinal);
        Assert.Equal("api", Assert.Single(_agent.Ports).Settings.Name);
        Assert.False(await AcceptsAsync(_web));
        Assert.True(await AcceptsAsync(_api));
    }

    [Fact]
    public void A_kept_port_keeps_its_runtime_and_resets_detection_only_when_a_detection_field_changed()
    {
        PortRuntime web = Assert.Single(_agent.Ports);
        Switchyard.Transport.Listener listener = web.Listener!;
        Switchyard.Detection.PortDetector detector = web.Detector;
        string json = ReloadFiles.Config([("web", _web)], "a@web", "c@web");

        // inspect is not a detection input: the detector (and what it learned) stays.
        _agent.Apply(Parse(json.Replace("\"http\":\"http1\"", "\"http\":\"http1\",\"inspect\":\"always\"", StringComparison.Ordinal)));
        Assert.Same(web, Assert.Single(_agent.Ports));
        Assert.Same(listener, web.Listener);
        Assert.Same(detector, web.Detector);
        Assert.Equal(InspectMode.Always, web.Settings.Inspect);

        // a different app address is probed afresh.
        _agent.Apply(Parse(ReloadFiles.Config(Loopback.ClosedPort(), [("web", _web)], "a@web", "c@web")));
        Assert.Same(web, Assert.Single(_agent.Ports));
        Assert.NotSame(detector, web.Detector);
    }

    [Fact]
    public void An_open_connection_keeps_the_settings_it_was_accepted_with()
    {
        PortRuntime web = Assert.Single(_agent.Ports);
        var context = new ConnectionContext();
        context.Start(1, web);
        PortSettings before = web.Settings;

        _agent.Apply(Parse(ReloadFiles.Config([("web", _web)]).Replace("\"http\":\"http1\"", "\"http\":\"http1\",\"inspect\":\"never\"", StringComparison.Ordinal)));

        Assert.Equal(InspectMode.Never, web.Settings.Inspect);
        Assert.NotSame(before, web.Settings);
        Assert.Same(before, context.Settings);
        var next = new ConnectionContext();
        next.Start(2, web);
        Assert.Same(web.Settings, next.Settings);
    }

    [Fact]
    public void Config_intercepts_are_replaced_while_admin_ones_stay_unless_the_config_takes_their_id()
    {
        AgentSettings admin = Parse(ReloadFiles.Config([("web", _web)], "b@web", "d@web"));
        Assert.True(_agent.TryAddIntercept(admin.Intercepts[0]));
        Assert.True(_agent.TryAddIntercept(admin.Intercepts[1]));
        Assert.Equal(["a", "b", "c", "d"], _agent.Routes.Snapshot.Rules.Select(r => r.Id).Order(StringComparer.Ordinal));

        AgentSettings next = Parse(ReloadFiles.Config([("web", _web)], "a@web", "d@web"));
        (string? error, string changes) = _agent.Apply(next);

        Assert.Null(error);
        Assert.Equal(["a", "b", "d"], _agent.Routes.Snapshot.Rules.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal(["a", "b", "d"], _agent.Intercepts.Keys.Order(StringComparer.Ordinal));
        Assert.Same(next.Intercepts[0], _agent.Intercepts["a"]); // a new target for "a"
        Assert.Same(next.Intercepts[1], _agent.Intercepts["d"]); // the config's "d" replaced the admin one
        Assert.Same(admin.Intercepts[0], _agent.Intercepts["b"]);
        Assert.Equal(next.Intercepts[1].Rule.Target, _agent.Routes.Snapshot.Find("d")!.Target);
        Assert.Contains("intercept c removed", changes, StringComparison.Ordinal);
        Assert.Contains(_loggers.Logger.Messages(7004), m => m.Contains('d', StringComparison.Ordinal));

        // "d" now belongs to the config: the next config without it removes it, and the admin "b" still stays.
        _agent.Apply(Parse(ReloadFiles.Config([("web", _web)])));
        Assert.Equal(["b"], _agent.Routes.Snapshot.Rules.Select(r => r.Id));
    }

    [Fact]
    public async Task A_new_port_that_cannot_be_bound_rejects_the_whole_reload()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int busy = ((IPEndPoint)taken.LocalEndPoint!).Port;
        AgentSettings before = _agent.Settings;

        (string? error, _) = _agent.Apply(Parse(ReloadFiles.Config([("web", _web), ("api", _api), ("busy", busy)], "z@web")));

        Assert.NotNull(error);
        Assert.Equal($"config.json: $.ports[2].listen: 127.0.0.1:{busy} is already in use", error);
        Assert.Same(before, _agent.Settings);
        Assert.Equal("web", Assert.Single(_agent.Ports).Settings.Name);
        Assert.False(_agent.Routes.Snapshot.Contains("z"));
        Assert.False(await AcceptsAsync(_api)); // bound for the check, released again
        Assert.True(await AcceptsAsync(_web));
    }
}
