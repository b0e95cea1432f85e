using System.Net;
using System.Net.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Switchyard.Config;
using Switchyard.Proxy;

namespace Switchyard.Tests.TestSupport;

/// <summary>Ports and connection contexts as the agent would build them, for tests of the proxy layer.</summary>
internal static class TestContexts
{
    public static PortSettings Port(int appPort, HttpMode http = HttpMode.Http1, UpstreamTlsSettings? upstreamTls = null) =>
        new(0, "web", "TCP", null, new IPEndPoint(IPAddress.Loopback, 0), "127.0.0.1", appPort,
            TlsMode.Auto, http, InspectMode.Auto, TimeSpan.FromSeconds(2), null, upstreamTls);

    /// <summary>A caller's connection on that port: plaintext, or decrypted here (TLS port) with SNI and ALPN.</summary>
    public static ConnectionContext Caller(PortSettings port, bool tls = false, string? sni = null, SslApplicationProtocol alpn = default)
    {
        var context = new ConnectionContext();
        context.Start(1, new PortRuntime(port, NullLogger.Instance));
        context.Terminated = true;
        context.DownstreamIsTls = tls;
        context.Sni = sni;
        context.Alpn = alpn;
        return context;
    }
}
