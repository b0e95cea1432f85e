using System.Globalization;
using System.Text;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Tests.TestSupport;
using Switchyard.Tls;

namespace Switchyard.Tests.Reload;

/// <summary>Certificate rotation through the running agent, across config reloads (the soak's "rotation lost after a reload").</summary>
public sealed class AgentCertificateRotationTests : IAsyncLifetime
{
    private readonly CapturingLoggerFactory _loggers = new();
    private readonly TempDirectory _dir = new();
    private readonly int _web = Loopback.ClosedPort();
    private readonly int _app = Loopback.ClosedPort();
    private readonly IssuedCertificate _first = TestPki.Shared.EcLeaf;
    private readonly IssuedCertificate _second = TestPki.Shared.OtherEcLeaf;
    private string _cert = null!;
    private string _key = null!;
    private Agent _agent = null!;

    public Task InitializeAsync()
    {
        _cert = ReloadFiles.KubeletLayout(_dir.Path, Pair(_first));
        _key = _dir.File("tls.key");
        _agent = new Agent(Parse(Config("a")), _loggers);
        _agent.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    private static Dictionary<string, string> Pair(IssuedCertificate c) =>
        new() { ["tls.crt"] = c.CertificatePem, ["tls.key"] = c.KeyPem(KeyFormat.Pkcs8) };

    private static AgentSettings Parse(string json) => ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "config.json");

    /// <summary>One TLS port presenting the pair, using it as the upstream client certificate too, and intercepts delivering with it.</summary>
    private string Config(params string[] intercepts)
    {
        string files = $"\"certPem\":\"{_cert}\",\"keyPem\":\"{_key}\"";
        string app = _app.ToString(CultureInfo.InvariantCulture);
        string list = string.Join(",", intercepts.Select(id => $$$"""
            {"id":"{{{id}}}","port":"web","mode":"intercept","match":{"all":[{"header":"x-dev","exact":"{{{id}}}"}]},"target":"127.0.0.1:{{{app}}}","delivery":{{{{files}}}}}
            """));
        return $$$"""
            {"version":1,"ports":[{"name":"web","listen":"127.0.0.1:{{{_web.ToString(CultureInfo.InvariantCulture)}}}","app":"127.0.0.1:{{{app}}}",
              "downstreamTls":{{{{files}}},"clientAuth":{"allowAnonymous":true}},"upstreamTls":{{{{files}}},"insecureSkipVerify":true}}],
             "intercepts":[{{{list}}}]}
            """;
    }

    /// <summary>The settings a connection accepted now gets (what its handshakes read).</summary>
    private PortSettings NewConnectionSettings()
    {
        var context = new ConnectionContext();
        context.Start(1, Assert.Single(_agent.Ports));
        return context.Settings;
    }

    [Fact]
    public void A_rotation_after_a_reload_that_keeps_the_port_is_presented_by_the_next_handshake()
    {
        (string? error, string changes) = _agent.Apply(Parse(Config("a", "b"))); // port unchanged, one intercept added
        Assert.Null(error);
        Assert.Equal("intercept b added", changes);

        ReloadFiles.KubeletSwap(_dir.Path, Pair(_second));
        _agent.Certificates.Check();

        PortSettings settings = NewConnectionSettings();
        var verdict = new HandshakeVerdict();
        Assert.Equal(_second.Certificate.Thumbprint, TlsOptions.Server(settings.DownstreamTls!, verdict).ServerCertificateContext!.TargetCertificate.Thumbprint);
        Assert.Equal(_second.Certificate.Thumbprint, settings.UpstreamTls!.ClientCertificate!.Current.Leaf.Thumbprint);
        Assert.Equal(1, settings.UpstreamTls.ClientCertificate.Generation); // pooled app connections with the old certificate are not reused
        Assert.All(_agent.Intercepts.Values, i => Assert.Equal(_second.Certificate.Thumbprint, i.Tls!.ClientCertificate!.Current.Leaf.Thumbprint));
        Assert.Equal(1, _agent.Certificates.Reloads.Get("ok")); // one file pair, one source: the rotation counts once
        Assert.Equal(1, _agent.Certificates.Count);
    }

    [Fact]
    public void An_intercept_added_through_the_admin_api_shares_the_source_in_force()
    {
        AgentSettings admin = Parse(Config("z"));
        Assert.True(_agent.TryAddIntercept(admin.Intercepts[0]));

        ReloadFiles.KubeletSwap(_dir.Path, Pair(_second));
        _agent.Certificates.Check();

        Assert.Equal(_second.Certificate.Thumbprint, _agent.Intercepts["z"].Tls!.ClientCertificate!.Current.Leaf.Thumbprint);
        Assert.Same(NewConnectionSettings().DownstreamTls!.Certificate, _agent.Intercepts["z"].Tls!.ClientCertificate);
        Assert.Equal(1, _agent.Certificates.Count);
    }

    [Fact]
    public void A_reload_that_reads_an_already_rotated_pair_uses_the_new_certificate()
    {
        ReloadFiles.KubeletSwap(_dir.Path, Pair(_second)); // the watcher has not checked yet

        (string? error, string changes) = _agent.Apply(Parse(Config("a", "b")));

        Assert.Null(error);
        Assert.Contains("port web changed", changes, StringComparison.Ordinal);
        Assert.Equal(_second.Certificate.Thumbprint, NewConnectionSettings().DownstreamTls!.Certificate.Current.Leaf.Thumbprint);
    }
}
