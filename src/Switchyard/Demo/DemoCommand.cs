using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Diagnostics;
using Switchyard.Proxy;
using Switchyard.Tls;

namespace Switchyard.Demo;

/// <summary>
/// `switchyard demo`: a temp dir with a CA, server and client certificates; an mTLS demo app; the agent in front
/// of it on an embedded config with inspect "always" (decrypt, then re-encrypt with the client certificate) and a
/// developer tunnel; and `switchyard intercept` as a child process that sends x-dev: alice to "alice-laptop".
/// </summary>
internal static class DemoCommand
{
    /// <summary>The intercept id (and x-dev value) the demo's CLI registers.</summary>
    internal const string DeveloperId = "alice";

    /// <summary>How long the demo waits for the intercept CLI's tunnel before it prints the banner anyway.</summary>
    private static readonly TimeSpan TunnelWait = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(System.CommandLine.ParseResult args)
    {
        (int listenPort, int adminPort, int tunnelPort) = Ports(args);
        string directory = Directory.CreateTempSubdirectory("switchyard-demo-").FullName;
        try
        {
            DemoCertificates pki = DemoCertificates.Create(directory);
            using var app = new DemoApp("demo-app", PemLoader.LoadCertificate(pki.ServerCertPath, pki.ServerKeyPath), PemLoader.LoadTrustRoots([pki.CaPath]));
            app.Start(new IPEndPoint(IPAddress.Loopback, 0));

            // The developer's laptop in this demo: a TLS server without client authentication (intercept delivery
            // is anonymous TLS that does not verify the target, as a developer's local server would expect).
            using var developer = new DemoApp("alice-laptop", PemLoader.LoadCertificate(pki.ServerCertPath, pki.ServerKeyPath), clientRoots: null);
            developer.Start(new IPEndPoint(IPAddress.Loopback, 0));

            string configPath = Path.Combine(directory, "config.json");
            File.WriteAllText(configPath, EmbeddedConfig(pki, app.LocalEndPoint.Port, listenPort, adminPort, tunnelPort));
            AgentSettings settings = ConfigLoader.Load(configPath);

            // Human-readable output first: the demo logs warnings and errors only unless SWITCHYARD_LOG_LEVEL says otherwise.
            LogLevel level = Environment.GetEnvironmentVariable("SWITCHYARD_LOG_LEVEL") is null ? LogLevel.Warning : Logging.LevelFromEnvironment();
            using ILoggerFactory loggers = Logging.Create(level);
            using var announce = new CancellationTokenSource();
            InterceptCliProcess? cli = null;
            try
            {
                return await Program.RunAgentAsync(settings, loggers, TimeSpan.FromSeconds(5),
                    ready: (agent, admin) =>
                    {
                        // The developer's side, as a user runs it: the intercept CLI registers alice and opens the tunnel.
                        cli = StartCli(Endpoints.Format(admin.LocalEndPoint!), developer.LocalEndPoint);
                        _ = AnnounceAsync(agent, cli, () => Banner(pki, directory, app.LocalEndPoint, developer.LocalEndPoint, listenPort, adminPort, tunnelPort, cli),
                            announce.Token);
                    },
                    stopping: async () =>
                    {
                        await announce.CancelAsync().ConfigureAwait(false);
                        if (cli is not null)
                        {
                            await cli.StopAsync().ConfigureAwait(false);
                        }
                    }).ConfigureAwait(false);
            }
            finally
            {
                cli?.Dispose();
            }
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // best effort: the temp dir holds only demo certificates
            }
        }
    }

    /// <summary>`--listen`, `--admin` and `--tunnel` (ports on 127.0.0.1; defaults 9443, 9901, 9902), from the arguments after `demo`.</summary>
    internal static (int Listen, int Admin, int Tunnel) ParsePorts(IReadOnlyList<string> args) => Ports(Cli.CommandLine.ParseCommand("demo", args));

    private static (int Listen, int Admin, int Tunnel) Ports(System.CommandLine.ParseResult args) =>
        (Port(args, Cli.CommandLine.DemoListen, 9443), Port(args, Cli.CommandLine.DemoAdmin, 9901), Port(args, Cli.CommandLine.DemoTunnel, 9902));

    private static int Port(System.CommandLine.ParseResult args, System.CommandLine.Option<string> option, int fallback) =>
        Cli.CommandLine.Value(args, option) switch
        {
            null => fallback,
            string text when Endpoints.TryParsePort(text, out int port) => port,
            _ => throw new UsageException($"{option.Name} needs a port number (1-65535)"),
        };

    /// <summary>The CLI arguments after `intercept`: alice's requests (x-dev: alice) go to the developer's server.</summary>
    internal static string[] CliArguments(string agentAdmin, IPEndPoint developer) =>
        ["--agent", agentAdmin, "--to", Endpoints.Format(developer), "--header", "x-dev=alice", "--id", DeveloperId];

    /// <summary>
    /// The agent's config: one TLS port with inspect "always" and a developer tunnel. No intercept: the CLI registers
    /// alice through the admin API, like a developer would. The app requires mTLS, so the agent verifies callers'
    /// certificates against the demo CA (SPEC "Client certificates": no one gets in who the app would refuse).
    /// </summary>
    internal static string EmbeddedConfig(DemoCertificates pki, int appPort, int listenPort, int adminPort, int tunnelPort) => $$"""
        {
          "version": 1,
          "workload": { "kind": "Deployment", "name": "demo", "namespace": "default", "labels": { "app": "demo" } },
          "admin": { "listen": "127.0.0.1:{{adminPort}}" },
          "tunnel": { "listen": "127.0.0.1:{{tunnelPort}}" },
          "ports": [
            {
              "name": "https",
              "protocol": "TCP",
              "appProtocol": "https",
              "listen": "127.0.0.1:{{listenPort}}",
              "app": "127.0.0.1:{{appPort}}",
              "inspect": "always",
              "downstreamTls": { "certPem": "{{pki.ServerCertPath}}", "keyPem": "{{pki.ServerKeyPath}}", "alpn": ["h2", "http/1.1"],
                "clientAuth": { "trustRoots": ["{{pki.CaPath}}"] } },
              "upstreamTls": { "certPem": "{{pki.ClientCertPath}}", "keyPem": "{{pki.ClientKeyPath}}", "trustRoots": ["{{pki.CaPath}}"] }
            }
          ]
        }
        """;

    private static InterceptCliProcess? StartCli(string agentAdmin, IPEndPoint developer)
    {
        if (Environment.ProcessPath is not { } self)
        {
            Console.Error.WriteLine("switchyard demo: cannot find this executable's path to start `switchyard intercept`; requests with x-dev: alice go to the demo app");
            return null;
        }

        try
        {
            return InterceptCliProcess.Start(self, CliArguments(agentAdmin, developer));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"switchyard demo: cannot start `switchyard intercept`: {e.Message}; requests with x-dev: alice go to the demo app");
            return null;
        }
    }

    /// <summary>Waits (at most 10 s) until the CLI's tunnel is connected, then prints the banner.</summary>
    private static async Task AnnounceAsync(Agent agent, InterceptCliProcess? cli, Func<string> banner, CancellationToken stop)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (cli is { HasExited: false } && agent.Tunnel?.Registry.IsConnected(DeveloperId) != true && waited.Elapsed < TunnelWait)
            {
                await Task.Delay(50, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (cli is { HasExited: false } && agent.Tunnel?.Registry.IsConnected(DeveloperId) != true)
        {
            Console.Error.WriteLine($"switchyard demo: the intercept CLI has not connected its tunnel within {TunnelWait.TotalSeconds:0} s; " +
                "requests with x-dev: alice go to the demo app until it does");
        }

        Console.Out.Write(banner());
    }

    private static string Banner(DemoCertificates pki, string directory, IPEndPoint app, IPEndPoint developer, int listenPort, int adminPort, int tunnelPort,
        InterceptCliProcess? cli)
    {
        var sb = new StringBuilder();
        sb.Append("\nSwitchyard demo is running (Ctrl-C to stop).\n\n");
        sb.Append($"  demo app (TLS, requires a client certificate)  {app}\n");
        sb.Append($"  developer app (alice-laptop, TLS)              {developer}\n");
        sb.Append($"  agent (inspect: always)                         127.0.0.1:{listenPort} -> decrypts, routes each request, re-encrypts\n");
        sb.Append($"  admin                                           127.0.0.1:{adminPort}\n");
        sb.Append($"  developer tunnel                                127.0.0.1:{tunnelPort}\n");
        sb.Append($"  certificates and config                         {directory}\n\n");
        if (cli is not null)
        {
            sb.Append("The developer side, started by the demo (its request lines show below; Ctrl-C removes the intercept):\n");
            sb.Append(cli.CommandLine).Append("\n\n");
        }

        string tls = $"--cacert {pki.CaPath} --cert {pki.CallerCertPath} --key {pki.CallerKeyPath}";
        sb.Append("Try (the app requires a client certificate, so the agent does too):\n");
        sb.Append("# reaches the app (demo-app):\n");
        sb.Append($"curl {tls} https://localhost:{listenPort}/hello\n");
        sb.Append("# matches intercept alice (x-dev: alice) and goes through the developer tunnel to alice-laptop:\n");
        sb.Append($"curl {tls} -H 'x-dev: alice' https://localhost:{listenPort}/api/orders\n");
        sb.Append("# refused at the TLS handshake: no client certificate, as the app would refuse it:\n");
        sb.Append($"curl --cacert {pki.CaPath} https://localhost:{listenPort}/hello\n");
        sb.Append($"curl http://127.0.0.1:{adminPort}/v1/status\n");
        sb.Append($"curl http://127.0.0.1:{adminPort}/metrics\n\n");
        return sb.ToString();
    }
}
