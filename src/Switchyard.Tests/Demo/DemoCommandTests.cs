using System.Net;
using Switchyard.Cli;
using Switchyard.Config;
using Switchyard.Demo;
using Switchyard.Routing;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Demo;

public sealed class DemoCommandTests
{
    [Fact]
    public void The_ports_default_to_9443_9901_and_9902()
    {
        Assert.Equal((9443, 9901, 9902), DemoCommand.ParsePorts([]));
        Assert.Equal((10443, 10901, 10902), DemoCommand.ParsePorts(["--tunnel", "10902", "--listen", "10443", "--admin", "10901"]));
    }

    [Theory]
    [InlineData("--tunnel needs a port number (1-65535)", "--tunnel")]
    [InlineData("--tunnel needs a port number (1-65535)", "--tunnel", "0")]
    [InlineData("--tunnel needs a port number (1-65535)", "--tunnel", "127.0.0.1:9902")]
    [InlineData("--admin needs a port number (1-65535)", "--admin", "65536")]
    [InlineData("demo: unknown option '--intercept'", "--intercept", "alice")]
    public void A_mistake_names_the_flag(string message, params string[] args)
    {
        var e = Assert.Throws<UsageException>(() => DemoCommand.ParsePorts(args));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void The_embedded_config_has_a_tunnel_and_leaves_the_intercept_to_the_cli()
    {
        using var dir = new TempDirectory();
        DemoCertificates pki = DemoCertificates.Create(dir.Path);
        string path = dir.Write("config.json", DemoCommand.EmbeddedConfig(pki, appPort: 40001, listenPort: 40443, adminPort: 40901, tunnelPort: 40902));

        AgentSettings settings = ConfigLoader.Load(path);

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 40902), settings.TunnelListen);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 40901), settings.AdminListen);
        Assert.Empty(settings.Intercepts);
        PortSettings port = Assert.Single(settings.Ports);
        Assert.Equal("https", port.Name);

        // The app requires mTLS and the agent presents a client certificate to it: callers are verified against the demo CA.
        Assert.NotNull(port.UpstreamTls!.ClientCertificate);
        ClientAuthSettings auth = Assert.IsType<ClientAuthSettings>(port.DownstreamTls!.ClientAuth);
        Assert.False(auth.AllowAnonymous);
        Assert.False(auth.AcceptAnyCert);
        Assert.Equal("CN=Switchyard Demo CA", Assert.Single(auth.TrustRoots).Subject);
        Assert.NotEqual(pki.ClientCertPath, pki.CallerCertPath); // callers do not get the agent's own certificate
    }

    [Fact]
    public void The_cli_arguments_register_alice_by_header_toward_the_developer_server()
    {
        string[] args = DemoCommand.CliArguments("127.0.0.1:9901", new IPEndPoint(IPAddress.Loopback, 41234));

        InterceptOptions options = InterceptOptions.Parse(args, user: "someone-else");

        Assert.Equal("127.0.0.1:9901", options.Agent);
        Assert.Equal("127.0.0.1:41234", options.To);
        Assert.Equal("alice", options.Id);
        Assert.Equal(FilterParser.Parse("""{"header":"x-dev","exact":"alice"}"""), options.Filter);
        Assert.Null(options.Port);
        Assert.Null(options.Tunnel);
        Assert.False(options.Wiretap);
        Assert.False(options.Plaintext);
    }
}
