using Switchyard.Kubernetes;
using static Switchyard.Tests.Kubernetes.GenerateFixtures;

namespace Switchyard.Tests.Kubernetes;

/// <summary>Every bad input of generate: one line naming the file, the document index and the field.</summary>
public sealed class GenerateErrorTests
{
    private const string Annotations = "app.yaml: document 0: spec.template.metadata.annotations";

    public static TheoryData<string, string> BadAnnotations() => new()
    {
        { "telepresence.io/downstream-tls-path.9443: /etc/certs", $"{Annotations}[\"telepresence.io/downstream-tls-path.9443\"]: no container port 9443 in deploy/api (ports: 8443, 8080, 15000)" },
        { "telepresence.getambassador.io/upstream-tls-secret.1: s", $"{Annotations}[\"telepresence.getambassador.io/upstream-tls-secret.1\"]: no container port 1 in deploy/api (ports: 8443, 8080, 15000)" },
        { "telepresence.io/downstream-tls-path: /etc/certs", $"{Annotations}[\"telepresence.io/downstream-tls-path\"]: needs the container port: telepresence.io/downstream-tls-path.PORT (e.g. telepresence.io/downstream-tls-path.8443)" },
        { "telepresence.io/upstream-probe-timeout.https: 5s", $"{Annotations}[\"telepresence.io/upstream-probe-timeout.https\"]: expected a container port number after \"upstream-probe-timeout.\", found \"https\"" },
        { "telepresence.io/upstream-probe-timeout.70000: 5s", $"{Annotations}[\"telepresence.io/upstream-probe-timeout.70000\"]: expected a container port number after \"upstream-probe-timeout.\", found \"70000\"" },
        { "telepresence.io/upstream-probe-timeout.8443: 10", $"{Annotations}[\"telepresence.io/upstream-probe-timeout.8443\"]: expected a duration such as 10s, 1m30s or 500ms, found \"10\"" },
        { "telepresence.io/upstream-probe-timeout.8443: 1d", $"{Annotations}[\"telepresence.io/upstream-probe-timeout.8443\"]: expected a duration such as 10s, 1m30s or 500ms, found \"1d\"" },
        { "telepresence.io/upstream-probe-timeout.8443: -5s", $"{Annotations}[\"telepresence.io/upstream-probe-timeout.8443\"]: expected a duration such as 10s, 1m30s or 500ms, found \"-5s\"" },
        { "telepresence.io/downstream-tls-path.8443: /etc/../certs", $"{Annotations}[\"telepresence.io/downstream-tls-path.8443\"]: a \"..\" segment is not allowed: \"/etc/../certs\"" },
        { "telepresence.io/upstream-tls-path.8443: /etc/certs/..", $"{Annotations}[\"telepresence.io/upstream-tls-path.8443\"]: a \"..\" segment is not allowed: \"/etc/certs/..\"" },
        { "telepresence.io/downstream-tls-path.8443: certs", $"{Annotations}[\"telepresence.io/downstream-tls-path.8443\"]: expected an absolute path, found \"certs\"" },
        { "telepresence.io/downstream-tls-secret.8443: Bad_Name", $"{Annotations}[\"telepresence.io/downstream-tls-secret.8443\"]: expected a Secret name (lower-case letters, digits, '-' and '.'), found \"Bad_Name\"" },
        { "telepresence.io/upstream-insecure-skip-verify.8443: yes", $"{Annotations}[\"telepresence.io/upstream-insecure-skip-verify.8443\"]: expected enabled, disabled, true or false, found \"yes\"" },
        {
            "telepresence.io/downstream-tls-path.8443: /a\ntelepresence.io/downstream-tls-secret.8443: b",
            $"{Annotations}[\"telepresence.io/downstream-tls-secret.8443\"]: contradicts telepresence.io/downstream-tls-path.8443: one certificate source per port and direction"
        },
        {
            "telepresence.io/upstream-tls-path.8443: /a\ntelepresence.getambassador.io/upstream-tls-path.8443: /b",
            $"{Annotations}[\"telepresence.getambassador.io/upstream-tls-path.8443\"]: contradicts telepresence.io/upstream-tls-path.8443: one certificate source per port and direction"
        },
        {
            "telepresence.io/upstream-probe-timeout.8443: 1s\ntelepresence.getambassador.io/upstream-probe-timeout.8443: 2s",
            $"{Annotations}[\"telepresence.getambassador.io/upstream-probe-timeout.8443\"]: contradicts another upstream-probe-timeout annotation for this port"
        },
    };

    [Theory]
    [MemberData(nameof(BadAnnotations))]
    public void A_bad_annotation_names_its_key(string annotation, string message) =>
        Assert.Equal(message, Error(Api(annotation)));

    [Fact]
    public void An_unknown_workload_names_the_candidates() =>
        Assert.Equal(
            "app.yaml: --workload: no StatefulSet named \"api\" in the input (workloads: deploy/api (namespace default, app.yaml: document 0))",
            Error(Api(), "sts/api"));

    [Fact]
    public void A_workload_of_another_name_is_unknown() =>
        Assert.Equal(
            "app.yaml: --workload: no Deployment named \"apx\" in the input (workloads: deploy/api (namespace default, app.yaml: document 0))",
            Error(Api(), "deploy/apx"));

    [Theory]
    [InlineData("api")]
    [InlineData("cronjob/api")]
    [InlineData("deploy/")]
    [InlineData("deploy/a/b")]
    public void A_malformed_workload_flag_says_what_is_expected(string flag) =>
        Assert.Equal(
            $"app.yaml: --workload: expected KIND/NAME such as deploy/shop, sts/db, ds/agent, rs/web, rollout/web or pod/debug, found \"{flag}\"",
            Error(Api(), flag));

    [Fact]
    public void Several_workloads_without_the_flag_list_the_candidates() =>
        Assert.Equal(
            "app.yaml: --workload: the input holds 2 workloads, name one with --workload KIND/NAME: deploy/shop (namespace web, app.yaml: document 0), deploy/legacy (namespace other, app.yaml: document 4)",
            Error(Shop));

    [Fact]
    public void The_same_name_in_two_namespaces_is_ambiguous() =>
        Assert.Equal(
            "app.yaml: --workload: deploy/shop is ambiguous: deploy/shop (namespace web, app.yaml: document 0), deploy/shop (namespace other, app.yaml: document 4)",
            Error(Shop.Replace("name: legacy", "name: shop", StringComparison.Ordinal), "deploy/shop"));

    [Fact]
    public void Input_without_workloads_is_an_error() =>
        Assert.Equal(
            "app.yaml: kind: no Deployment, StatefulSet, DaemonSet, ReplicaSet, Argo Rollout or Pod in the input",
            Error("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"));

    [Fact]
    public void A_service_that_selects_nothing_in_the_input_is_skipped_with_a_warning() =>
        Assert.Equal(
            ["app.yaml: document 2: service/pay: spec.selector app=payments selects no workload in namespace default of the input; skipped"],
            Generate(Api(extraDocuments: "---\napiVersion: v1\nkind: Service\nmetadata: {name: pay}\nspec:\n  selector: {app: payments}\n  ports: [{port: 80}]\n")).Warnings);

    [Fact]
    public void A_service_selecting_a_workload_of_another_namespace_selects_nothing() =>
        Assert.Equal(
            ["app.yaml: document 2: service/api: spec.selector app=api selects no workload in namespace prod of the input; skipped"],
            Generate(Api(extraDocuments: "---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: prod}\nspec:\n  selector: {app: api}\n  ports: [{port: 80}]\n")).Warnings);

    [Fact]
    public void A_workload_that_no_service_selects_is_an_error() =>
        Assert.Equal(
            "app.yaml: document 0: spec.template.metadata.labels: no Service in the input selects deploy/api: the agent needs at least one Service port to front",
            Error(Api().Split("---")[0]));

    [Fact]
    public void A_named_target_port_that_no_container_declares_names_the_service_port() =>
        Assert.Equal(
            "app.yaml: document 1: spec.ports[1].targetPort: no TCP container port named \"web\" in deploy/api (container ports: https=8443/TCP, 8080/TCP, 15000/TCP)",
            Error(Api().Replace("targetPort: 8080", "targetPort: web", StringComparison.Ordinal)));

    [Fact]
    public void A_numeric_target_port_that_no_container_declares_names_the_service_port() =>
        Assert.Equal(
            "app.yaml: document 1: spec.ports[0].targetPort: no TCP container port 9443 in deploy/api (container ports: https=8443/TCP, 8080/TCP, 15000/TCP)",
            Error(Api().Replace("targetPort: 8443", "targetPort: 9443", StringComparison.Ordinal)));

    [Fact]
    public void A_service_port_without_target_port_is_matched_by_its_own_number() =>
        Assert.Equal(
            "app.yaml: document 1: spec.ports[0].port: no TCP container port 443 in deploy/api (container ports: https=8443/TCP, 8080/TCP, 15000/TCP)",
            Error(Api().Replace("    targetPort: 8443\n", string.Empty, StringComparison.Ordinal)));

    [Fact]
    public void A_udp_service_port_needs_a_udp_container_port() =>
        Assert.Equal(
            "app.yaml: document 1: spec.ports[1].targetPort: no UDP container port 8080 in deploy/api (container ports: https=8443/TCP, 8080/TCP, 15000/TCP)",
            Error(Api().Replace("targetPort: 8080", "targetPort: 8080\n    protocol: UDP", StringComparison.Ordinal)));

    public static TheoryData<string, string> BadMirrordConfigs() => new()
    {
        { "ports:\n- port: 8443\n  agentAsServer: {alpnProtocols: [h2]}", "spec.ports[0].agentAsServer.authentication: required (certPem and keyPem of the certificate the agent presents)" },
        { "ports:\n- port: 8443\n  agentAsServer:\n    authentication: {certPem: /a/tls.crt}", "spec.ports[0].agentAsServer.authentication.keyPem: required" },
        { "ports:\n- port: 8443\n  agentAsServer:\n    authentication: {certPem: /a/../tls.crt, keyPem: /a/tls.key}", "spec.ports[0].agentAsServer.authentication.certPem: a \"..\" segment is not allowed: \"/a/../tls.crt\"" },
        { "ports:\n- port: 8443\n  agentAsClient:\n    verification: {trustRoots: [ca.pem]}", "spec.ports[0].agentAsClient.verification.trustRoots[0]: expected an absolute path, found \"ca.pem\"" },
        { "ports:\n- port: 8443\n  agentAsServer:\n    authentication: {certPem: /a/tls.crt, keyPem: /a/tls.key}\n    verification: {}", "spec.ports[0].agentAsServer.verification: no trustRoots, allowAnonymous or acceptAnyCert: no client could ever be accepted" },
        { "ports:\n- port: 8443\n  agentAsClient:\n    verification: {acceptAnyCert: maybe}", "spec.ports[0].agentAsClient.verification.acceptAnyCert: expected true or false, found \"maybe\"" },
        { "ports:\n- port: https", "spec.ports[0].port: expected a port number 1-65535, found \"https\"" },
        { "ports:\n- agentAsClient: {}", "spec.ports[0].port: required" },
        { "targetPath: deploy/api", "spec.ports: required" },
        { "selector: {matchExpressions: [{key: a, operator: Is}]}\nports: []", "spec.selector.matchExpressions[0].operator: expected In, NotIn, Exists or DoesNotExist, found \"Is\"" },
        { "ports:\n- port: 8443\n  agentAsClient:\n    verification: {serverName: \"\"}", "spec.ports[0].agentAsClient.verification.serverName: expected a host name such as api.shop.svc, found \"\"" },

        // mirrord's older schema, and fields of no schema: refused, naming the field (issue 13: they were ignored, exit 0).
        { "ports:\n- port: 8443\n  agentServerAuth: {certPem: /a/tls.crt, keyPem: /a/tls.key}", "spec.ports[0].agentServerAuth: unknown field (mirrord's older schema; the current one (mirrord.metalbear.co/v1alpha) has agentAsServer); spec.ports[0] may hold port, agentAsServer, agentAsClient: a resource switchyard cannot read completely is refused rather than half-applied" },
        { "ports:\n- port: 8443\n  agentAsClient:\n    remoteServerAuth: {rootCertPems: [/ca/root.pem]}", "spec.ports[0].agentAsClient.remoteServerAuth: unknown field (mirrord's older schema; the current one (mirrord.metalbear.co/v1alpha) has agentAsClient.verification); spec.ports[0].agentAsClient may hold authentication, verification: a resource switchyard cannot read completely is refused rather than half-applied" },
        { "ports:\n- port: 8443\n  agentAsServer:\n    authentication: {certPath: /a/tls.crt, keyPem: /a/tls.key}", "spec.ports[0].agentAsServer.authentication.certPath: unknown field (mirrord's older schema; the current one (mirrord.metalbear.co/v1alpha) has authentication.certPem); spec.ports[0].agentAsServer.authentication may hold certPem, keyPem: a resource switchyard cannot read completely is refused rather than half-applied" },
        { "ports:\n- port: 8443\n  agentAsServer:\n    authentication: {certPem: /a/tls.crt, keyPem: /a/tls.key}\n    verification: {trustRoots: [/ca/], requireClientCert: true}", "spec.ports[0].agentAsServer.verification.requireClientCert: unknown field (not a field of this schema); spec.ports[0].agentAsServer.verification may hold allowAnonymous, acceptAnyCert, trustRoots: a resource switchyard cannot read completely is refused rather than half-applied" },
        { "targetPaths: [deploy/api]\nports: []", "spec.targetPaths: unknown field (not a field of this schema); spec may hold targetPath, selector, ports: a resource switchyard cannot read completely is refused rather than half-applied" },
    };

    [Theory]
    [MemberData(nameof(BadMirrordConfigs))]
    public void A_bad_mirrord_config_names_its_field(string spec, string message)
    {
        string document = "---\napiVersion: mirrord.metalbear.co/v1alpha\nkind: MirrordTlsStealConfig\nmetadata: {name: t}\nspec:\n" +
            string.Join('\n', spec.Split('\n').Select(l => "  " + l)) + "\n";

        Assert.Equal($"app.yaml: document 2: {message}", Error(Api(extraDocuments: document)));
    }

    [Fact]
    public void A_container_port_without_a_number_names_its_field() =>
        Assert.Equal(
            "app.yaml: document 0: spec.template.spec.containers[1].ports[0].containerPort: expected a port number 1-65535, found \"admin\"",
            Error(Api().Replace("containerPort: 15000", "containerPort: admin", StringComparison.Ordinal)));

    [Fact]
    public void Invalid_yaml_names_the_line() =>
        Assert.StartsWith("app.yaml: line 2, column ", Error("kind: Deployment\n  bad: [\n"), StringComparison.Ordinal);
}
