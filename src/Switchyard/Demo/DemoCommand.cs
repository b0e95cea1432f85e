using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Switchyard.Config;
using Switchyard.Diagnostics;
using Switchyard.Tls;

namespace Switchyard.Demo;

/// <summary>
/// `switchyard demo`: a temp dir with a CA, server and client certificates; an mTLS demo app; the agent in front
/// of it on an embedded config with inspect "always" (decrypt, then re-encrypt with the client certificate).
/// </summary>
internal static class DemoCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        int listenPort = 9443;
        int adminPort = 9901;
        for (int i = 0; i < args.Length; i += 2)
        {
            if (args[i] is not ("--listen" or "--admin"))
            {
                throw new UsageException($"demo: unknown option '{args[i]}'");
            }

            if (i + 1 >= args.Length || !Endpoints.TryParsePort(args[i + 1], out int port))
            {
                throw new UsageException($"{args[i]} needs a port number (1-65535)");
            }

            if (args[i] == "--listen")
            {
                listenPort = port;
            }
            else
            {
                adminPort = port;
            }
        }

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
            File.WriteAllText(configPath, EmbeddedConfig(pki, app.LocalEndPoint.Port, developer.LocalEndPoint.Port, listenPort, adminPort));
            AgentSettings settings = ConfigLoader.Load(configPath);

            // Human-readable output first: the demo logs warnings and errors only unless SWITCHYARD_LOG_LEVEL says otherwise.
            LogLevel level = Environment.GetEnvironmentVariable("SWITCHYARD_LOG_LEVEL") is null ? LogLevel.Warning : Logging.LevelFromEnvironment();
            using ILoggerFactory loggers = Logging.Create(level);
            return await Program.RunAgentAsync(settings, loggers, TimeSpan.FromSeconds(5), (_, _) =>
                Console.Out.Write(Banner(pki, directory, app.LocalEndPoint, developer.LocalEndPoint, listenPort, adminPort))).ConfigureAwait(false);
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

    internal static string EmbeddedConfig(DemoCertificates pki, int appPort, int developerPort, int listenPort, int adminPort) => $$"""
        {
          "version": 1,
          "workload": { "kind": "Deployment", "name": "demo", "namespace": "default", "labels": { "app": "demo" } },
          "admin": { "listen": "127.0.0.1:{{adminPort}}" },
          "ports": [
            {
              "name": "https",
              "protocol": "TCP",
              "appProtocol": "https",
              "listen": "127.0.0.1:{{listenPort}}",
              "app": "127.0.0.1:{{appPort}}",
              "inspect": "always",
              "downstreamTls": { "certPem": "{{pki.ServerCertPath}}", "keyPem": "{{pki.ServerKeyPath}}", "alpn": ["h2", "http/1.1"] },
              "upstreamTls": { "certPem": "{{pki.ClientCertPath}}", "keyPem": "{{pki.ClientKeyPath}}", "trustRoots": ["{{pki.CaPath}}"] }
            }
          ],
          "intercepts": [
            {
              "id": "alice",
              "port": "https",
              "mode": "intercept",
              "match": { "header": "x-dev", "exact": "alice" },
              "target": "127.0.0.1:{{developerPort}}",
              "failOpen": true
            }
          ]
        }
        """;

    private static string Banner(DemoCertificates pki, string directory, IPEndPoint app, IPEndPoint developer, int listenPort, int adminPort)
    {
        var sb = new StringBuilder();
        sb.Append("Switchyard demo is running (Ctrl-C to stop).\n\n");
        sb.Append($"  demo app (TLS, requires a client certificate)  {app}\n");
        sb.Append($"  developer app (intercept alice: x-dev: alice)  {developer}\n");
        sb.Append($"  agent (inspect: always)                         127.0.0.1:{listenPort} -> decrypts, routes each request, re-encrypts\n");
        sb.Append($"  admin                                           127.0.0.1:{adminPort}\n");
        sb.Append($"  certificates and config                         {directory}\n\n");
        sb.Append("Try:\n");
        sb.Append("# reaches the app (demo-app):\n");
        sb.Append($"curl --cacert {pki.CaPath} https://localhost:{listenPort}/hello\n");
        sb.Append("# matches intercept alice and reaches the developer (alice-laptop):\n");
        sb.Append($"curl --cacert {pki.CaPath} -H 'x-dev: alice' https://localhost:{listenPort}/api/orders\n");
        sb.Append($"curl http://127.0.0.1:{adminPort}/v1/status\n");
        sb.Append($"curl http://127.0.0.1:{adminPort}/metrics\n\n");
        return sb.ToString();
    }
}
