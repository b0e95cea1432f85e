using System.Text.Json.Nodes;
using Switchyard.Kubernetes;
using static Switchyard.Tests.Kubernetes.GenerateFixtures;

namespace Switchyard.Tests.Kubernetes;

public sealed class ConfigGeneratorAnnotationTests
{
    public static TheoryData<string, string> EachAnnotation()
    {
        var data = new TheoryData<string, string>();
        foreach (string prefix in PortAnnotations.Prefixes)
        {
            data.Add($"{prefix}downstream-tls-path.8443: /etc/certs/",
                """{"certPem":"/etc/certs/tls.crt","keyPem":"/etc/certs/tls.key"}|null|null""");
            data.Add($"{prefix}downstream-tls-secret.8443: api-tls",
                """{"certPem":"/var/run/switchyard/secrets/api-tls/tls.crt","keyPem":"/var/run/switchyard/secrets/api-tls/tls.key"}|null|null""");
            data.Add($"{prefix}upstream-tls-path.8443: /etc/client",
                """null|{"certPem":"/etc/client/tls.crt","keyPem":"/etc/client/tls.key"}|null""");
            data.Add($"{prefix}upstream-tls-secret.8443: api-client.v2",
                """null|{"certPem":"/var/run/switchyard/secrets/api-client.v2/tls.crt","keyPem":"/var/run/switchyard/secrets/api-client.v2/tls.key"}|null""");
            data.Add($"{prefix}upstream-insecure-skip-verify.8443: enabled", """null|{"insecureSkipVerify":true}|null""");
            data.Add($"{prefix}upstream-insecure-skip-verify.8443: \"true\"", """null|{"insecureSkipVerify":true}|null""");
            data.Add($"{prefix}upstream-insecure-skip-verify.8443: disabled", """null|{"insecureSkipVerify":false}|null""");
            data.Add($"{prefix}upstream-insecure-skip-verify.8443: \"false\"", """null|{"insecureSkipVerify":false}|null""");
            data.Add($"{prefix}upstream-probe-timeout.8443: 10s", "null|null|\"10s\"");
            data.Add($"{prefix}upstream-probe-timeout.8443: 250ms", "null|null|\"250ms\"");
            data.Add($"{prefix}upstream-probe-timeout.8443: 1m30s", "null|null|\"1m30s\"");
            data.Add($"{prefix}upstream-probe-timeout.8443: 1h", "null|null|\"1h\"");
            data.Add($"{prefix}upstream-probe-timeout.8443: 0s", "null|null|null"); // Telepresence's "no timeout of mine": the default
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EachAnnotation))]
    public void Each_annotation_sets_its_field_of_the_port(string annotation, string expected)
    {
        Generation generation = Generate(Api(annotation));

        JsonObject port = Port(generation, "https");
        string actual = $"{Text(port["downstreamTls"])}|{Text(port["upstreamTls"])}|{Text(port["probeTimeout"])}";
        Assert.Equal(expected, actual);
        JsonObject other = Port(generation, "http");
        Assert.Equal(["name", "protocol", "listen", "app"], other.Select(p => p.Key));
        Assert.Empty(generation.Warnings);
    }

    [Fact]
    public void Secrets_and_paths_are_listed_once_in_port_order()
    {
        Generation generation = Generate(Api("""
            telepresence.io/downstream-tls-secret.8080: shared
            telepresence.io/upstream-tls-path.8080: /etc/client
            telepresence.io/downstream-tls-secret.8443: api-tls
            telepresence.io/upstream-tls-secret.8443: shared
            telepresence.io/downstream-tls-path.15000: /etc/envoy
            """).Replace("  - name: http\n    port: 80\n    targetPort: 8080", "  - name: http\n    port: 80\n    targetPort: 8080\n  - {name: admin, port: 15000}", StringComparison.Ordinal));

        Assert.Equal(["api-tls", "shared"], generation.SecretNames);
        Assert.Equal(["/etc/client", "/etc/envoy"], generation.TlsPaths.Select(p => p.Path));
    }

    [Fact]
    public void An_annotation_on_a_udp_port_is_a_warning_and_is_ignored()
    {
        string yaml = Shop.Replace("prometheus.io/scrape: \"true\"", "prometheus.io/scrape: \"true\"\n        telepresence.io/downstream-tls-path.53: /etc/dns", StringComparison.Ordinal);

        Generation generation = Generate(yaml, "deploy/shop");

        Assert.Equal(["app.yaml: document 0: telepresence.io/downstream-tls-path.53: port 53 is UDP: TLS and probe annotations do not apply, ignored"], generation.Warnings);
        Assert.Null(Port(generation, "dns")["downstreamTls"]);
        Assert.Empty(generation.TlsPaths);
    }

    [Fact]
    public void An_annotation_on_a_port_that_no_service_reaches_is_a_warning()
    {
        Generation generation = Generate(Api("telepresence.io/downstream-tls-path.15000: /etc/envoy"));

        Assert.Equal(["app.yaml: document 0: telepresence.io/downstream-tls-path.15000: no Service reaches container port 15000, so the agent does not front it; ignored"], generation.Warnings);
        Assert.Empty(generation.TlsPaths);
    }

    [Fact]
    public void The_same_setting_under_both_prefixes_is_accepted_when_it_agrees()
    {
        Generation generation = Generate(Api("""
            telepresence.io/downstream-tls-path.8443: /etc/certs
            telepresence.getambassador.io/downstream-tls-path.8443: /etc/certs/
            """));

        Assert.Equal("/etc/certs/tls.crt", Port(generation, "https")["downstreamTls"]!["certPem"]!.GetValue<string>());
        Assert.Equal(["/etc/certs"], generation.TlsPaths.Select(p => p.Path));
    }

    [Fact]
    public void Unrelated_telepresence_annotations_are_ignored()
    {
        Generation generation = Generate(Api("""
            telepresence.io/inject-traffic-agent: enabled
            telepresence.getambassador.io/inject-container-ports: "8443"
            """));

        Assert.Null(Port(generation, "https")["downstreamTls"]);
        Assert.Empty(generation.Warnings);
    }

    [Fact]
    public void Annotations_on_a_pod_are_read_from_its_own_metadata()
    {
        string yaml = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: debug
              labels: {app: debug}
              annotations:
                telepresence.io/downstream-tls-path.443: /tls
            spec:
              containers:
              - name: c
                ports: [{containerPort: 443}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: debug}
            spec:
              selector: {app: debug}
              ports: [{name: https, port: 443}]
            """;

        Generation generation = Generate(yaml, "pod/debug");

        Assert.Equal("/tls/tls.key", Port(generation, "https")["downstreamTls"]!["keyPem"]!.GetValue<string>());
    }

    private static string Text(JsonNode? node) => node?.ToJsonString() ?? "null";
}
