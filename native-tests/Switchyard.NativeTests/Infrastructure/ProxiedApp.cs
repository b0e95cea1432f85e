using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>
/// The common arrangement: a temp dir with the test PKI's PEM files, a Kestrel app, and an agent with one
/// port (named <c>web</c> unless told otherwise) in front of it. Disposes agent, app and dir in that order.
/// </summary>
public sealed class ProxiedApp : IAsyncDisposable
{
    private ProxiedApp(TempDir dir, KestrelApp app, AgentProcess agent, int listenPort, PemSet pem)
    {
        Dir = dir;
        App = app;
        Agent = agent;
        ListenPort = listenPort;
        Pem = pem;
    }

    public TempDir Dir { get; }

    public KestrelApp App { get; }

    public AgentProcess Agent { get; }

    /// <summary>The agent's listening port for the app.</summary>
    public int ListenPort { get; }

    public PemSet Pem { get; }

    /// <summary>
    /// Starts the app, then an agent whose single port forwards to it; <paramref name="configurePort"/>
    /// adds TLS settings etc. to the port object.
    /// </summary>
    public static async Task<ProxiedApp> StartAsync(
        ITestOutputHelper output,
        KestrelAppOptions appOptions,
        string inspect,
        Action<JsonObject, PemSet>? configurePort = null,
        string portName = "web",
        IEnumerable<string>? agentArguments = null)
    {
        var dir = new TempDir();
        KestrelApp? app = null;
        try
        {
            var pem = PemSet.Write(dir.Path);
            app = await KestrelApp.StartAsync(appOptions);
            var listen = Ports.GetFreeTcpPort();
            var port = AgentConfig.Port(portName, listen, app.Port, inspect);
            configurePort?.Invoke(port, pem);
            var agent = await AgentProcess.StartAsync(output, dir, AgentConfig.Create(Ports.GetFreeTcpPort(), port), agentArguments);
            return new ProxiedApp(dir, app, agent, listen, pem);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            dir.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        await App.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>The shared test PKI written as PEM files into one directory.</summary>
public sealed record PemSet(
    string CaCert,
    string OtherCaCert,
    CertFiles Server,
    CertFiles ServerFromOtherCa,
    CertFiles Client,
    CertFiles AgentClient,
    CertFiles SelfSignedClient,
    CertFiles UntrustedClient)
{
    public static PemSet Write(string dir)
    {
        var pki = TestPki.Shared;
        return new PemSet(
            TestPki.WriteCertPem(pki.Ca, dir, "ca"),
            TestPki.WriteCertPem(pki.OtherCa, dir, "other-ca"),
            TestPki.WritePem(pki.Server, dir, "server"),
            TestPki.WritePem(pki.ServerFromOtherCa, dir, "server-other-ca"),
            TestPki.WritePem(pki.Client, dir, "client"),
            TestPki.WritePem(pki.AgentClient, dir, "agent-client"),
            TestPki.WritePem(pki.SelfSignedClient, dir, "self-signed-client"),
            TestPki.WritePem(pki.UntrustedClient, dir, "untrusted-client"));
    }
}
