using System.Text.Json.Nodes;
using Switchyard.Kubernetes;
using static Switchyard.Tests.Kubernetes.GenerateFixtures;

namespace Switchyard.Tests.Kubernetes;

/// <summary>SPEC "Client certificates: no one gets in who the app would refuse": what generate writes into downstreamTls.clientAuth.</summary>
public sealed class ConfigGeneratorClientAuthTests
{
    private const string Mtls = """
        telepresence.io/downstream-tls-path.8443: /etc/server
        telepresence.io/upstream-tls-path.8443: /etc/client
        """;

    [Fact]
    public void An_app_that_requires_client_certificates_trusts_the_ca_beside_the_downstream_certificate()
    {
        Generation generation = Generate(Api(Mtls));

        Assert.Equal("""{"trustRoots":["/etc/server/ca.crt"],"allowAnonymous":false,"acceptAnyCert":false}""", ClientAuth(generation));
        Assert.Equal(["/etc/server", "/etc/client"], generation.TlsPaths.Select(p => p.Path));
        Assert.Equal(["/etc/server/tls.crt", "/etc/server/tls.key", "/etc/server/ca.crt"], generation.TlsPaths[0].Files);
        Assert.Empty(generation.Warnings);
    }

    [Fact]
    public void A_secret_mounted_downstream_certificate_trusts_the_secret_s_ca()
    {
        Generation generation = Generate(Api("""
            telepresence.io/downstream-tls-secret.8443: api-tls
            telepresence.io/upstream-tls-secret.8443: api-client
            """));

        Assert.Equal("""{"trustRoots":["/var/run/switchyard/secrets/api-tls/ca.crt"],"allowAnonymous":false,"acceptAnyCert":false}""", ClientAuth(generation));
    }

    [Theory]
    [InlineData("switchyard.io/downstream-tls-client-ca.8443: /etc/callers/roots.pem", """{"trustRoots":["/etc/callers/roots.pem"],"allowAnonymous":false,"acceptAnyCert":false}""", "/etc/callers")]
    [InlineData("telepresence.io/downstream-tls-client-ca.8443: /etc/callers/", """{"trustRoots":["/etc/callers/"],"allowAnonymous":false,"acceptAnyCert":false}""", "/etc/callers")]
    [InlineData("switchyard.io/downstream-tls-allow-anonymous.8443: enabled", """{"trustRoots":[],"allowAnonymous":true,"acceptAnyCert":false}""", null)]
    [InlineData("switchyard.io/downstream-tls-allow-anonymous.8443: disabled", """{"trustRoots":["/etc/server/ca.crt"],"allowAnonymous":false,"acceptAnyCert":false}""", null)]
    public void The_annotations_say_who_may_call(string annotation, string expected, string? mountedCaDirectory)
    {
        Generation generation = Generate(Api($"{Mtls}\n{annotation}"));

        Assert.Equal(expected, ClientAuth(generation));
        Assert.Equal(mountedCaDirectory is null ? ["/etc/server", "/etc/client"] : ["/etc/server", "/etc/client", mountedCaDirectory], generation.TlsPaths.Select(p => p.Path));
    }

    [Fact]
    public void Both_annotations_verify_presented_certificates_and_let_anonymous_callers_in()
    {
        Generation generation = Generate(Api($"""
            {Mtls}
            switchyard.io/downstream-tls-client-ca.8443: /etc/callers/ca.pem
            switchyard.io/downstream-tls-allow-anonymous.8443: "true"
            """));

        Assert.Equal("""{"trustRoots":["/etc/callers/ca.pem"],"allowAnonymous":true,"acceptAnyCert":false}""", ClientAuth(generation));
    }

    [Fact]
    public void A_client_ca_on_a_port_with_plain_upstream_still_verifies_callers()
    {
        Generation generation = Generate(Api("""
            telepresence.io/downstream-tls-path.8443: /etc/server
            switchyard.io/downstream-tls-client-ca.8443: /etc/callers/ca.pem
            """));

        Assert.Equal("""{"trustRoots":["/etc/callers/ca.pem"],"allowAnonymous":false,"acceptAnyCert":false}""", ClientAuth(generation));
    }

    [Fact]
    public void Without_a_client_certificate_upstream_no_client_auth_is_written()
    {
        Generation generation = Generate(Api("telepresence.io/downstream-tls-path.8443: /etc/server"));

        Assert.Null(Port(generation, "https")["downstreamTls"]!["clientAuth"]);
    }

    [Fact]
    public void A_client_ca_without_downstream_tls_is_a_warning_and_ignored()
    {
        Generation generation = Generate(Api("switchyard.io/downstream-tls-client-ca.8443: /etc/callers/ca.pem"));

        Assert.Null(Port(generation, "https")["downstreamTls"]);
        string warning = Assert.Single(generation.Warnings);
        Assert.Contains("terminates no TLS on port 8443", warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("switchyard.io/downstream-tls-client-ca.8443: etc/ca.pem", "expected an absolute path")]
    [InlineData("switchyard.io/downstream-tls-allow-anonymous.8443: yes", "expected enabled, disabled, true or false")]
    public void A_bad_value_names_the_annotation(string annotation, string reason)
    {
        KubeInputException error = Assert.Throws<KubeInputException>(() => Generate(Api($"{Mtls}\n{annotation}")));

        Assert.Contains(annotation[..annotation.IndexOf(':', StringComparison.Ordinal)], error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    private static string? ClientAuth(Generation generation) => Port(generation, "https")["downstreamTls"]?["clientAuth"]?.ToJsonString();
}
