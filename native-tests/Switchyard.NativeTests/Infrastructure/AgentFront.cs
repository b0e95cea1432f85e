using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>How callers reach an <see cref="AgentFront"/> port and how its app is reached.</summary>
public enum FrontTransport
{
    /// <summary>TLS port (downstreamTls, ALPN h2 + http/1.1) in front of a TLS app (upstreamTls trusting the test CA).</summary>
    Tls,

    /// <summary>
    /// Plaintext port declared <c>appProtocol: h2c</c> in front of a plaintext HTTP/2-only app; callers use h2c prior
    /// knowledge (a declared HTTP/2 port takes nothing else: tests of HTTP/1.1 callers make the port <c>http: auto</c>).
    /// </summary>
    H2c,
}

/// <summary>
/// One intercept or wiretap of an <see cref="AgentFront"/> port, delivered to 127.0.0.1:<see cref="TargetPort"/>.
/// Matches <c>x-dev: ID</c> unless <see cref="Match"/> says otherwise.
/// </summary>
public sealed record RouteSpec(string Id, int TargetPort, bool PlaintextDelivery)
{
    public string Mode { get; init; } = "intercept";

    public JsonObject? Match { get; init; }

    /// <summary>delivery.http ("auto", "http1", "http2"); null leaves the default.</summary>
    public string? DeliveryHttp { get; init; }

    public bool FailOpen { get; init; } = true;

    /// <summary>An intercept of <c>x-dev: ID</c> to a developer server that speaks TLS on a TLS port and plaintext on an h2c port.</summary>
    public static RouteSpec Intercept(string id, int targetPort, FrontTransport transport) =>
        new(id, targetPort, PlaintextDelivery: transport != FrontTransport.Tls);

    public JsonObject ToJson(string portName)
    {
        var delivery = new JsonObject { ["plaintext"] = PlaintextDelivery };
        if (DeliveryHttp is not null)
        {
            delivery["http"] = DeliveryHttp;
        }

        return new JsonObject
        {
            ["id"] = Id,
            ["port"] = portName,
            ["mode"] = Mode,
            ["match"] = Match?.DeepClone() ?? new JsonObject { ["header"] = "x-dev", ["exact"] = Id },
            ["target"] = Ports.Loopback(TargetPort),
            ["failOpen"] = FailOpen,
            ["delivery"] = delivery,
        };
    }
}

/// <summary>
/// The agent with one port named <see cref="PortName"/> in front of an app the test started, plus intercepts and
/// wiretaps (their presence makes the agent parse the port's HTTP). The test owns its upstreams; this owns the
/// agent and its temp dir (certificates, config).
/// </summary>
public sealed class AgentFront : IAsyncDisposable
{
    public const string PortName = "web";

    private static readonly HttpClient Admin = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    private AgentFront(TempDir dir, PemSet pem, AgentProcess agent, int listen, FrontTransport transport)
    {
        Dir = dir;
        Pem = pem;
        Agent = agent;
        Listen = listen;
        Transport = transport;
    }

    public TempDir Dir { get; }

    public PemSet Pem { get; }

    public AgentProcess Agent { get; }

    /// <summary>The agent's listening port for callers.</summary>
    public int Listen { get; }

    public FrontTransport Transport { get; }

    public bool IsTls => Transport == FrontTransport.Tls;

    /// <summary>Kestrel options of an app for <paramref name="transport"/>: TLS (h1+h2) with the trusted server certificate, or h2c only.</summary>
    public static KestrelAppOptions AppOptions(FrontTransport transport, string name = "the-app") => transport == FrontTransport.Tls
        ? new KestrelAppOptions { Name = name, Certificate = TestPki.Shared.Server, Protocols = HttpProtocols.Http1AndHttp2 }
        : new KestrelAppOptions { Name = name, Protocols = HttpProtocols.Http2 };

    /// <summary>
    /// Kestrel options of a developer server: on a TLS port TLS with a certificate from an unrelated CA (delivery does
    /// not verify), on an h2c port plaintext; <paramref name="protocols"/> defaults to h1+h2 (TLS) or h2 only (h2c).
    /// </summary>
    public static KestrelAppOptions DeveloperOptions(FrontTransport transport, string name = "alice-laptop", HttpProtocols? protocols = null) =>
        transport == FrontTransport.Tls
            ? new KestrelAppOptions { Name = name, Certificate = TestPki.Shared.ServerFromOtherCa, Protocols = protocols ?? HttpProtocols.Http1AndHttp2 }
            : new KestrelAppOptions { Name = name, Protocols = protocols ?? HttpProtocols.Http2 };

    /// <summary>Writes the config and starts the agent; <paramref name="configurePort"/> may change the port object last.</summary>
    public static async Task<AgentFront> StartAsync(
        ITestOutputHelper output,
        FrontTransport transport,
        int appPort,
        IEnumerable<RouteSpec> routes,
        Action<JsonObject, PemSet>? configurePort = null)
    {
        var dir = new TempDir();
        try
        {
            var pem = PemSet.Write(dir.Path);
            var listen = Ports.GetFreeTcpPort();
            var port = AgentConfig.Port(PortName, listen, appPort, "auto");
            if (transport == FrontTransport.Tls)
            {
                port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["h2", "http/1.1"]);
                port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            }
            else
            {
                port["appProtocol"] = "h2c";
            }

            configurePort?.Invoke(port, pem);
            var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
            config["intercepts"] = new JsonArray([.. routes.Select(r => (JsonNode)r.ToJson(PortName))]);
            var agent = await AgentProcess.StartAsync(output, dir, config);
            return new AgentFront(dir, pem, agent, listen, transport);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>An HTTP/2-only HttpClient for this port (see <see cref="Http2Caller"/>).</summary>
    public Http2Caller NewCaller(Action<SocketsHttpHandler>? configure = null, TimeSpan? timeout = null) =>
        Http2Caller.Create(Listen, IsTls, configure, timeout);

    /// <summary>curl with HTTP/2 (ALPN h2 over TLS trusting the test CA, or h2c prior knowledge) to PATH on this port.</summary>
    public Task<CurlResult> CurlH2Async(string path, params string[] extra) => IsTls
        ? Curl.HttpsAsync(Listen, path, ["--cacert", Pem.CaCert, "--http2", .. extra])
        : Curl.HttpAsync(Listen, path, ["--http2-prior-knowledge", .. extra]);

    /// <summary>curl with HTTP/1.1 to PATH on this port.</summary>
    public Task<CurlResult> CurlH1Async(string path, params string[] extra) => IsTls
        ? Curl.HttpsAsync(Listen, path, ["--cacert", Pem.CaCert, "--http1.1", .. extra])
        : Curl.HttpAsync(Listen, path, ["--http1.1", .. extra]);

    /// <summary>POST /v1/intercepts with <paramref name="route"/>; asserts 201 Created.</summary>
    public async Task AddRouteAsync(RouteSpec route)
    {
        using var response = await Admin.PostAsync(
            Agent.AdminUri("/v1/intercepts"),
            new StringContent(route.ToJson(PortName).ToJsonString(), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /v1/intercepts answered {(int)response.StatusCode}: {body}");
    }

    /// <summary>DELETE /v1/intercepts/ID; asserts 200.</summary>
    public async Task RemoveRouteAsync(string id)
    {
        using var response = await Admin.DeleteAsync(Agent.AdminUri("/v1/intercepts/" + id));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"DELETE /v1/intercepts/{id} answered {(int)response.StatusCode}: {body}");
    }

    /// <summary>Waits until the port's metric sample (labels port=web plus <paramref name="labels"/>) equals <paramref name="expected"/>.</summary>
    public Task<double> WaitForCountAsync(string metric, double expected, params (string Key, string Value)[] labels) =>
        Agent.WaitForMetricAsync(metric, [("port", PortName), .. labels], v => v == expected, $"== {expected}");

    /// <summary>Waits until the port's metric sample is at least <paramref name="minimum"/>.</summary>
    public Task<double> WaitForAtLeastAsync(string metric, double minimum, params (string Key, string Value)[] labels) =>
        Agent.WaitForMetricAsync(metric, [("port", PortName), .. labels], v => v >= minimum, $">= {minimum}");

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        Dir.Dispose();
    }
}
