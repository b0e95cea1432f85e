using System.Text;
using Switchyard.BrokenConfigs;
using Switchyard.Config;
using Switchyard.Proxy;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Config;

/// <summary>
/// Every broken config of <see cref="BrokenConfigCatalog"/> fails with one line naming the file, the JSON path and a
/// reason in words (never a runtime resource key or type name). The native tests run the same cases through the
/// published binary. Cases that fail when the admin server binds run there only (the admin server starts in Program).
/// </summary>
public sealed class BrokenConfigTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (BrokenConfig c in BrokenConfigCatalog.All.Where(c => c.Stage != BrokenStage.Admin))
        {
            data.Add(c.Name);
        }

        return data;
    }

    [Fact]
    public void The_catalog_holds_at_least_29_kinds_of_broken_config()
    {
        Assert.True(BrokenConfigCatalog.All.Count >= 29, $"{BrokenConfigCatalog.All.Count} cases");
        Assert.Equal(BrokenConfigCatalog.All.Count, BrokenConfigCatalog.All.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_broken_config_fails_with_one_line_naming_the_file_the_path_and_the_reason_in_words(string name)
    {
        BrokenConfig c = BrokenConfigCatalog.All.Single(x => x.Name == name);
        using var dir = new CaseDirectory();
        BrokenSetup setup = c.Write(dir);
        using IDisposable? hold = setup.Hold;

        ConfigException e = await FailAsync(setup.ConfigPath);

        Assert.Equal(setup.ConfigPath, e.File);
        string? problem = BrokenConfigCatalog.Check(c, setup.ConfigPath, e.Message, dir);
        Assert.True(problem is null, $"{problem}: {e.Message}");
    }

    private static async Task<ConfigException> FailAsync(string path)
    {
        AgentSettings settings;
        try
        {
            settings = ConfigLoader.Load(path);
        }
        catch (ConfigException e)
        {
            return e;
        }

        using var loggers = new CapturingLoggerFactory();
        await using var agent = new Agent(settings, loggers);
        return Assert.Throws<ConfigException>(agent.Start);
    }

    [Fact]
    public async Task A_bare_port_number_in_use_is_shown_as_every_interface()
    {
        using var busy = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetworkV6, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { DualMode = true };
        busy.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Any, 0));
        busy.Listen();
        int port = ((System.Net.IPEndPoint)busy.LocalEndPoint!).Port;
        using var dir = new CaseDirectory();
        string path = BrokenConfigCatalog.WriteConfig(dir, j => j["ports"]![1]!["listen"] = port);

        ConfigException e = await FailAsync(path);

        Assert.Equal($"{path}: $.ports[1].listen: 0.0.0.0:{port} is already in use", e.Message);
    }

    [Fact]
    public void A_config_with_a_byte_order_mark_loads()
    {
        using var dir = new CaseDirectory();
        string text = BrokenConfigCatalog.Valid().ToJsonString();
        string path = dir.Write("config.json", [.. Encoding.UTF8.Preamble, .. Encoding.UTF8.GetBytes(text)]);

        AgentSettings settings = ConfigLoader.Load(path);

        Assert.Equal(["web", "api"], settings.Ports.Select(p => p.Name));
    }

    [Theory]
    [InlineData("web")]
    [InlineData("https")]
    [InlineData("h2c-9090")]
    [InlineData("a")]
    [InlineData("abcdefghijklmno")]
    public void Port_names_that_kubernetes_accepts_load(string portName)
    {
        using var dir = new CaseDirectory();
        string path = BrokenConfigCatalog.WriteConfig(dir, j => j["ports"]![0]!["name"] = portName);

        AgentSettings settings = ConfigLoader.Load(path);

        Assert.Equal(portName, settings.Ports[0].Name);
    }

    [Theory]
    [InlineData("lisen", " (did you mean 'listen'?)")]
    [InlineData("Listen", " (did you mean 'listen'?)")]
    [InlineData("apps", " (did you mean 'app'?)")]
    [InlineData("certificate", "")]
    public void An_unknown_field_suggests_the_closest_known_one(string field, string suggestion)
    {
        Assert.Equal(suggestion, ConfigJsonReader.Suggestion(field, ["listen", "app", "name", "protocol", "inspect"]));
    }

    [Theory]
    [InlineData("UnmappedJsonProperty, lisen, Switchyard.Config.PortConfig", true)]
    [InlineData("net_ssl_io_renego", true)]
    [InlineData("Cryptography_PrivateKey_DoesNotMatch Arg_ParamName_Name", true)]
    [InlineData("DeserializeUnableToConvertValue, System.Int32", true)]
    [InlineData("error:0A000086:SSL routines::certificate verify failed", false)]
    [InlineData("Received an unexpected EOF or 0 bytes from the transport stream.", false)]
    [InlineData("the peer closed the connection", false)]
    public void Resource_keys_are_told_from_sentences(string message, bool isKey)
    {
        Assert.Equal(isKey, Switchyard.Diagnostics.ErrorText.LooksLikeResourceKey(message));
    }

    [Fact]
    public void An_exception_with_a_resource_key_is_described_in_words()
    {
        var e = new System.Security.Authentication.AuthenticationException("net_auth_SSPI", new IOException("net_ssl_io_renego"));

        Assert.Equal("the TLS handshake failed: the peer asked for a TLS renegotiation, which is not supported", Switchyard.Diagnostics.ErrorText.Describe(e));
        Assert.Equal("address already in use", Switchyard.Diagnostics.ErrorText.Describe(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.AddressAlreadyInUse)));
    }
}
