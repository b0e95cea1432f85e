using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// The usual HTTP/2 arrangement: the app ("the-app"), alice's developer server ("alice-laptop") and an agent port
/// with the intercept <c>alice</c> (<c>x-dev: alice</c>) in front of them, over TLS (ALPN h2) or h2c. Options of
/// either server, alice's route and the agent's port object can be adjusted (extra endpoints, protocols, windows,
/// delivery, the port's http/tls modes); more routes can be added. Disposes agent, developer, app.
/// </summary>
public sealed class Http2Rig : IAsyncDisposable
{
    private Http2Rig(KestrelApp app, KestrelApp developer, AgentFront front)
    {
        App = app;
        Developer = developer;
        Front = front;
    }

    public KestrelApp App { get; }

    public KestrelApp Developer { get; }

    public AgentFront Front { get; }

    public AgentProcess Agent => Front.Agent;

    public static async Task<Http2Rig> StartAsync(
        ITestOutputHelper output,
        FrontTransport transport,
        Func<KestrelAppOptions, KestrelAppOptions>? app = null,
        Func<KestrelAppOptions, KestrelAppOptions>? developer = null,
        Func<RouteSpec, RouteSpec>? alice = null,
        IEnumerable<RouteSpec>? moreRoutes = null,
        Action<System.Text.Json.Nodes.JsonObject, PemSet>? configurePort = null)
    {
        KestrelApp? appServer = null;
        KestrelApp? developerServer = null;
        try
        {
            appServer = await KestrelApp.StartAsync((app ?? (o => o))(AgentFront.AppOptions(transport)));
            developerServer = await KestrelApp.StartAsync((developer ?? (o => o))(AgentFront.DeveloperOptions(transport)));
            var aliceRoute = RouteSpec.Intercept("alice", developerServer.Port, transport);
            aliceRoute = alice?.Invoke(aliceRoute) ?? aliceRoute;
            var front = await AgentFront.StartAsync(output, transport, appServer.Port, [aliceRoute, .. moreRoutes ?? []], configurePort);
            return new Http2Rig(appServer, developerServer, front);
        }
        catch
        {
            if (developerServer is not null)
            {
                await developerServer.DisposeAsync();
            }

            if (appServer is not null)
            {
                await appServer.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Front.DisposeAsync();
        await Developer.DisposeAsync();
        await App.DisposeAsync();
    }
}
