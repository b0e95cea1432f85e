using System.Text;
using Switchyard.Config;
using Switchyard.Kubernetes;
using YamlDotNet.RepresentationModel;
using static Switchyard.Kubernetes.InjectYaml;

namespace Switchyard.Tests.Kubernetes.Inject;

/// <summary>inject through the real ConfigGenerator: the same fixtures, the same guarantees.</summary>
public sealed class InjectEndToEndTests
{
    public static TheoryData<string> Fixtures => new(InjectFixtures.All);

    private static InjectResult Inject(string text) => ManifestInjector.Inject(ManifestReader.Read("input.yaml", text), new InjectOptions());

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void InjectingTheOutputAgainChangesNothing(string fixture)
    {
        string once = Inject(InjectFixtures.Text(fixture)).Yaml;

        Assert.Equal(once, Inject(once).Yaml);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void OutputPassesTheStructuralValidityChecks(string fixture)
    {
        Assert.Empty(ManifestValidity.Problems(Inject(InjectFixtures.Text(fixture)).Yaml));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void AgentContainerPortsAreTheListenPortsOfTheGeneratedConfig(string fixture)
    {
        List<ManifestDocument> output = ManifestReader.Read("out", Inject(InjectFixtures.Text(fixture)).Yaml);

        foreach (ManifestDocument workload in output.Where(d => ManifestInjector.IsWorkload(d) && ManifestInjector.IsInjected(d)))
        {
            ManifestDocument configMap = output.Single(d => d.Kind == "ConfigMap" && d.Name == ManifestInjector.ConfigMapName(workload));
            string json = Scalar(GetMap(configMap.Root, "data"), "config.json")!;
            using var config = System.Text.Json.JsonDocument.Parse(json);
            var listens = config.RootElement.GetProperty("ports").EnumerateArray().Select(p => p.GetProperty("listen").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture)).Order();
            YamlMappingNode agent = Maps(GetSeq(ManifestInjector.PodTemplate(workload).Spec, "containers")).Single(c => Scalar(c, "name") == "switchyard");

            Assert.Equal(listens, Maps(GetSeq(agent, "ports")).Select(p => Scalar(p, "containerPort")!).Order());
        }
    }

    [Theory]
    [InlineData("shop-named-ports.yaml", "shop-switchyard")]
    [InlineData("dns-udp-numeric.yaml", "dns-switchyard")]
    [InlineData("grpc-pod-list.yaml", "ledger-switchyard")]
    public void ConfigMapHoldsAConfigTheAgentAccepts(string fixture, string configMapName)
    {
        List<ManifestDocument> output = ManifestReader.Read("out", Inject(InjectFixtures.Text(fixture)).Yaml);
        string json = Scalar(GetMap(output.Single(d => d.Kind == "ConfigMap" && d.Name == configMapName).Root, "data"), "config.json")!;

        AgentSettings settings = ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "config.json");

        Assert.NotNull(settings);
    }

    [Fact]
    public void SecretAndPathAnnotationsOfTheRealGeneratorAreMounted()
    {
        List<ManifestDocument> output = ManifestReader.Read("out", Inject(InjectFixtures.Text("api-tls-annotations.yaml")).Yaml);
        ManifestDocument api = output.Single(d => d.Kind == "Deployment");
        YamlMappingNode agent = Maps(GetSeq(ManifestInjector.PodTemplate(api).Spec, "containers")).Single(c => Scalar(c, "name") == "switchyard");
        var mounts = Maps(GetSeq(agent, "volumeMounts")).Select(m => (Scalar(m, "name"), Scalar(m, "mountPath"))).ToList();

        Assert.Contains(("sy-secret-api-server-tls", SecretMounts.PathFor("api-server-tls")), mounts);
        Assert.Contains(("client-certs", "/etc/client-certs"), mounts);
    }
}
