using Switchyard.Kubernetes;
using static Switchyard.Tests.Kubernetes.GenerateFixtures;

namespace Switchyard.Tests.Kubernetes;

public sealed class ConfigGeneratorMirrordTests
{
    private static string Steal(string kind, string name, string spec, string ns = "default") => $"""
        ---
        apiVersion: mirrord.metalbear.co/v1alpha
        kind: {kind}
        metadata:
          name: {name}
          namespace: {ns}
        spec:
        {string.Join('\n', spec.Split('\n').Select(l => "  " + l))}
        """;

    private static string Server(int port, string dir) => $$"""
        - port: {{port}}
          agentAsServer:
            authentication: {certPem: {{dir}}/tls.crt, keyPem: {{dir}}/tls.key}
        """;

    [Fact]
    public void Agent_as_server_and_client_map_onto_downstream_and_upstream_tls()
    {
        string yaml = Api(extraDocuments: Steal("MirrordTlsStealConfig", "api-tls", """
            targetPath: deploy/api
            ports:
            - port: 8443
              agentAsServer:
                authentication: {certPem: /certs/server.pem, keyPem: /certs/server-key.pem}
                alpnProtocols: [h2, http/1.1]
                verification:
                  trustRoots: [/ca/, /ca2/root.pem]
                  allowAnonymous: true
              agentAsClient:
                authentication: {certPem: /certs/client.pem, keyPem: /certs/client-key.pem}
                verification:
                  acceptAnyCert: false
                  trustRoots: [/ca/app-root.pem]
            """));

        Generation generation = Generate(yaml);

        Assert.Equal(
            """{"certPem":"/certs/server.pem","keyPem":"/certs/server-key.pem","alpn":["h2","http/1.1"],"clientAuth":{"trustRoots":["/ca/","/ca2/root.pem"],"allowAnonymous":true,"acceptAnyCert":false}}""",
            Port(generation, "https")["downstreamTls"]!.ToJsonString());
        Assert.Equal(
            """{"certPem":"/certs/client.pem","keyPem":"/certs/client-key.pem","trustRoots":["/ca/app-root.pem"],"insecureSkipVerify":false}""",
            Port(generation, "https")["upstreamTls"]!.ToJsonString());
        Assert.Empty(generation.Warnings);
        Assert.Empty(generation.SecretNames);
    }

    [Fact]
    public void Server_name_of_the_client_side_becomes_upstream_tls_server_name()
    {
        string yaml = Api(extraDocuments: Steal("MirrordTlsStealConfig", "api-tls", """
            targetPath: deploy/api
            ports:
            - port: 8443
              agentAsServer:
                authentication: {certPem: /certs/tls.crt, keyPem: /certs/tls.key}
                verification: {allowAnonymous: true}
              agentAsClient:
                verification:
                  trustRoots: [/ca/app-root.pem]
                  serverName: api.payments.svc.cluster.local
            """));

        Generation generation = Generate(yaml);

        Assert.Equal(
            """{"trustRoots":["/ca/app-root.pem"],"serverName":"api.payments.svc.cluster.local"}""",
            Port(generation, "https")["upstreamTls"]!.ToJsonString());
    }

    [Fact]
    public void The_files_a_mirrord_config_names_are_paths_inject_must_mount_unless_an_annotation_replaced_them()
    {
        string yaml = Api(
            annotations: "telepresence.io/upstream-tls-secret.8443: api-client",
            extraDocuments: Steal("MirrordTlsStealConfig", "api-tls", """
                ports:
                - port: 8443
                  agentAsServer:
                    authentication: {certPem: /certs/server/tls.crt, keyPem: /certs/server/tls.key}
                    verification: {trustRoots: [/ca/callers/]}
                  agentAsClient:
                    authentication: {certPem: /certs/client/tls.crt, keyPem: /certs/client/tls.key}
                    verification: {trustRoots: [/ca/app/root.pem]}
                """));

        Generation generation = Generate(yaml);

        Assert.Equal(
            [
                ("/certs/server", "spec.ports[0].agentAsServer.authentication.certPem", "/certs/server/tls.crt,/certs/server/tls.key"),
                ("/ca/callers", "spec.ports[0].agentAsServer.verification.trustRoots[0]", ""),
                ("/ca/app", "spec.ports[0].agentAsClient.verification.trustRoots[0]", "/ca/app/root.pem"),
            ],
            generation.TlsPaths.Select(p => (p.Path, p.Field, string.Join(',', p.Files))));
        Assert.All(generation.TlsPaths, p => Assert.Equal("api-tls", p.Source.Name));
    }

    [Fact]
    public void Accept_any_cert_of_the_client_side_is_insecure_skip_verify_and_an_empty_alpn_list_is_kept()
    {
        string yaml = Api(extraDocuments: Steal("MirrordClusterTlsStealConfig", "all", """
            ports:
            - port: 8443
              agentAsServer:
                authentication: {certPem: /c/tls.crt, keyPem: /c/tls.key}
                alpnProtocols: []
              agentAsClient:
                verification: {acceptAnyCert: true}
            """));

        Generation generation = Generate(yaml);

        Assert.Equal("""{"certPem":"/c/tls.crt","keyPem":"/c/tls.key","alpn":[]}""", Port(generation, "https")["downstreamTls"]!.ToJsonString());
        Assert.Equal("""{"insecureSkipVerify":true}""", Port(generation, "https")["upstreamTls"]!.ToJsonString());
    }

    public static TheoryData<string, bool> TargetPaths() => new()
    {
        { "targetPath: deploy/api", true },
        { "targetPath: deployment/api", true },
        { "targetPath: deployments/api", true },
        { "targetPath: deploy/a?i", true },
        { "targetPath: deploy/*", true },
        { "targetPath: '*'", true },
        { "targetPath: deploy/api/container/api", true },
        { "targetPath: deploy/api/container/a*", true },
        { "targetPath: deploy/api/container/sidecar", false },
        { "targetPath: sts/api", false },
        { "targetPath: pod/api", false },
        { "targetPath: deploy/apix", false },
        { "selector: {matchLabels: {team: pay}}", true },
        { "selector: {matchLabels: {team: ops}}", false },
        { "selector: {matchExpressions: [{key: team, operator: In, values: [pay, ops]}]}", true },
        { "selector: {matchExpressions: [{key: team, operator: DoesNotExist}]}", false },
        { "targetPath: deploy/api\nselector: {matchLabels: {app: api}}", true },
        { "targetPath: deploy/api\nselector: {matchLabels: {app: other}}", false },
        { "targetPath: deploy/other\nselector: {matchLabels: {app: api}}", false },
    };

    [Theory]
    [MemberData(nameof(TargetPaths))]
    public void Target_path_globs_and_selectors_decide_whether_a_config_applies(string match, bool applies)
    {
        string yaml = Api(extraDocuments: Steal("MirrordTlsStealConfig", "t", match + "\nports:\n" + Server(8443, "/m")));

        Generation generation = Generate(yaml);

        Assert.Equal(applies, Port(generation, "https")["downstreamTls"] is not null);
    }

    [Fact]
    public void A_namespaced_config_applies_in_its_namespace_only_and_a_cluster_config_everywhere()
    {
        string other = Steal("MirrordTlsStealConfig", "elsewhere", "ports:\n" + Server(8443, "/elsewhere"), ns: "prod");
        string cluster = Steal("MirrordClusterTlsStealConfig", "cluster", "ports:\n" + Server(8443, "/cluster"), ns: "prod");

        Assert.Null(Port(Generate(Api(extraDocuments: other)), "https")["downstreamTls"]);
        Assert.Equal("/cluster/tls.crt", Port(Generate(Api(extraDocuments: cluster)), "https")["downstreamTls"]!["certPem"]!.GetValue<string>());
    }

    [Fact]
    public void Another_api_version_is_not_a_mirrord_config()
    {
        string yaml = Api(extraDocuments: Steal("MirrordTlsStealConfig", "old", "ports:\n" + Server(8443, "/m")).Replace("v1alpha", "v0", StringComparison.Ordinal));

        Assert.Null(Port(Generate(yaml), "https")["downstreamTls"]);
    }

    [Fact]
    public void Ports_lists_merge_namespaced_before_cluster_then_by_name_and_the_first_entry_for_a_port_wins()
    {
        string yaml = Api(extraDocuments:
            Steal("MirrordClusterTlsStealConfig", "a-cluster", "ports:\n" + Server(8443, "/cluster") + "\n" + Server(8080, "/cluster")) + "\n" +
            Steal("MirrordTlsStealConfig", "z-ns", "ports:\n" + Server(8443, "/z")) + "\n" +
            Steal("MirrordTlsStealConfig", "b-ns", "ports:\n" + Server(8443, "/b")));

        Generation generation = Generate(yaml);

        Assert.Equal("/b/tls.crt", Port(generation, "https")["downstreamTls"]!["certPem"]!.GetValue<string>());
        Assert.Equal("/cluster/tls.crt", Port(generation, "http")["downstreamTls"]!["certPem"]!.GetValue<string>());
        Assert.Equal(
        [
            "MirrordTlsStealConfig z-ns (app.yaml: document 3): spec.ports[0]: port 8443 of deploy/api is already configured by MirrordTlsStealConfig b-ns (app.yaml: document 4) spec.ports[0]; this entry is ignored",
            "MirrordClusterTlsStealConfig a-cluster (app.yaml: document 2): spec.ports[0]: port 8443 of deploy/api is already configured by MirrordTlsStealConfig b-ns (app.yaml: document 4) spec.ports[0]; this entry is ignored",
        ], generation.Warnings);
    }

    [Fact]
    public void A_port_listed_twice_in_one_config_keeps_the_first_entry()
    {
        string yaml = Api(extraDocuments: Steal("MirrordTlsStealConfig", "twice", "ports:\n" + Server(8443, "/one") + "\n" + Server(8443, "/two")));

        Generation generation = Generate(yaml);

        Assert.Equal("/one/tls.crt", Port(generation, "https")["downstreamTls"]!["certPem"]!.GetValue<string>());
        Assert.Equal(["MirrordTlsStealConfig twice (app.yaml: document 2): spec.ports[1]: port 8443 of deploy/api is already configured by MirrordTlsStealConfig twice (app.yaml: document 2) spec.ports[0]; this entry is ignored"], generation.Warnings);
    }

    [Fact]
    public void Annotations_win_over_a_mirrord_config_field_by_field_and_say_so()
    {
        string yaml = Api(
            """
            telepresence.io/downstream-tls-secret.8443: api-tls
            telepresence.io/upstream-insecure-skip-verify.8443: enabled
            """,
            Steal("MirrordTlsStealConfig", "api-tls", """
                ports:
                - port: 8443
                  agentAsServer:
                    authentication: {certPem: /m/tls.crt, keyPem: /m/tls.key}
                    alpnProtocols: [http/1.1]
                  agentAsClient:
                    authentication: {certPem: /m/client.crt, keyPem: /m/client.key}
                    verification: {trustRoots: [/m/ca.pem]}
                """));

        Generation generation = Generate(yaml);

        Assert.Equal(
            """{"certPem":"/var/run/switchyard/secrets/api-tls/tls.crt","keyPem":"/var/run/switchyard/secrets/api-tls/tls.key","alpn":["http/1.1"],"clientAuth":{"trustRoots":["/var/run/switchyard/secrets/api-tls/ca.crt"],"allowAnonymous":false,"acceptAnyCert":false}}""",
            Port(generation, "https")["downstreamTls"]!.ToJsonString());
        Assert.Equal(
            """{"certPem":"/m/client.crt","keyPem":"/m/client.key","trustRoots":["/m/ca.pem"],"insecureSkipVerify":true}""",
            Port(generation, "https")["upstreamTls"]!.ToJsonString());
        Assert.Equal(["app.yaml: document 0: telepresence.io/downstream-tls-secret.8443: overrides agentAsServer.authentication of MirrordTlsStealConfig api-tls (app.yaml: document 2) for port 8443"], generation.Warnings);
        Assert.Equal(["api-tls"], generation.SecretNames);
    }

    [Fact]
    public void A_mirrord_entry_for_a_container_port_no_service_reaches_is_a_warning_and_other_ports_are_silent()
    {
        string yaml = Api(extraDocuments: Steal("MirrordClusterTlsStealConfig", "wide", "targetPath: deploy/*\nports:\n" + Server(15000, "/e") + "\n" + Server(9999, "/none")));

        Generation generation = Generate(yaml);

        Assert.Equal(["MirrordClusterTlsStealConfig wide (app.yaml: document 2): spec.ports[0]: no Service reaches container port 15000 of deploy/api, so the agent does not front it; ignored"], generation.Warnings);
    }
}
