using Switchyard.Kubernetes;
using YamlDotNet.RepresentationModel;
using static Switchyard.Kubernetes.InjectYaml;

namespace Switchyard.Tests.Kubernetes.Inject;

public sealed class ManifestInjectorTests
{
    public static TheoryData<string> Fixtures => new(InjectFixtures.All);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void InjectingTheOutputAgainChangesNothing(string fixture)
    {
        string once = InjectFixtures.Inject(fixture).Yaml;

        InjectResult twice = InjectFixtures.InjectText(once);

        Assert.Equal(once, twice.Yaml);
        Assert.DoesNotContain(twice.Warnings, w => w.Contains("selects no workload", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void OutputPassesTheStructuralValidityChecks(string fixture)
    {
        string output = InjectFixtures.Inject(fixture).Yaml;

        Assert.Empty(ManifestValidity.Problems(output));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void FixturesThemselvesPassTheValidityChecks(string fixture)
    {
        Assert.Empty(ManifestValidity.Problems(InjectFixtures.Text(fixture)));
    }

    [Theory]
    [InlineData("shop-named-ports.yaml")]
    [InlineData("api-tls-annotations.yaml")]
    public void OutputMatchesTheCheckedInGoldenFile(string fixture)
    {
        string expectedPath = InjectFixtures.PathOf(Path.ChangeExtension(fixture, ".expected.yaml"));
        string output = InjectFixtures.Inject(fixture).Yaml;
        if (Environment.GetEnvironmentVariable("SWITCHYARD_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(expectedPath, output);
        }

        Assert.Equal(File.ReadAllText(expectedPath), output);
    }

    [Fact]
    public void NamedTargetPortsMoveToTheAgentAndTheAppPortIsRenamed()
    {
        Output output = Run("shop-named-ports.yaml");
        YamlMappingNode web = output.Container("Deployment", "shop", "web");
        YamlMappingNode agent = output.Container("Deployment", "shop", "switchyard");

        Assert.Equal(["app-http", "app-metrics"], Maps(GetSeq(web, "ports")).Select(p => Scalar(p, "name")));
        Assert.Equal(["8080", "9090"], Maps(GetSeq(web, "ports")).Select(p => Scalar(p, "containerPort")));
        Assert.Equal([("http", "9910"), ("metrics", "9911")], Maps(GetSeq(agent, "ports")).Select(p => (Scalar(p, "name"), Scalar(p, "containerPort"))));
        Assert.Equal("http", Scalar(output.ServicePort("shop", 0), "targetPort"));
        Assert.Equal("metrics", Scalar(output.ServicePort("shop-metrics", 0), "targetPort"));
    }

    [Fact]
    public void AppProbesThatNameAMovedPortFollowTheNewName()
    {
        YamlMappingNode web = Run("shop-named-ports.yaml").Container("Deployment", "shop", "web");

        Assert.Equal("app-http", Scalar(GetMap(GetMap(web, "readinessProbe"), "httpGet"), "port"));
        Assert.Equal("app-http", Scalar(GetMap(GetMap(web, "livenessProbe"), "tcpSocket"), "port"));
    }

    [Fact]
    public void HeadlessServiceIsRetargetedAndWarnedAbout()
    {
        InjectResult result = InjectFixtures.Inject("shop-named-ports.yaml");
        Output output = Run("shop-named-ports.yaml");

        // The headless Service targets 8080 by number: the same container port as "http", so the same agent port.
        Assert.Equal("9910", Scalar(output.ServicePort("shop-headless", 0), "targetPort"));
        Assert.Contains(result.Warnings, w => w.Contains("service/shop-headless is headless", StringComparison.Ordinal));
    }

    [Fact]
    public void NumericAndAbsentTargetPortsPointAtTheAgentListenPortPerProtocol()
    {
        Output output = Run("dns-udp-numeric.yaml");
        YamlMappingNode agent = output.Container("StatefulSet", "dns", "switchyard");

        Assert.Equal("9910", Scalar(output.ServicePort("dns", 0), "targetPort"));
        Assert.Equal("9911", Scalar(output.ServicePort("dns", 1), "targetPort"));
        Assert.Equal("9912", Scalar(output.ServicePort("dns", 2), "targetPort"));
        Assert.Equal(
            [("dns", "9910", "UDP"), ("dns-tcp", "9911", "TCP"), (null, "9912", "TCP")],
            Maps(GetSeq(agent, "ports")).Select(p => (Scalar(p, "name"), Scalar(p, "containerPort"), Scalar(p, "protocol"))));
    }

    [Fact]
    public void ConfigMapWithTheGeneratedConfigComesRightBeforeItsWorkload()
    {
        InjectResult result = InjectFixtures.Inject("dns-udp-numeric.yaml");
        List<ManifestDocument> documents = ManifestReader.Read("out", result.Yaml);

        Assert.Equal(["Service/dns", "ConfigMap/dns-switchyard", "StatefulSet/dns"], documents.Select(d => $"{d.Kind}/{d.Name}"));
        ManifestDocument configMap = documents[1];
        Assert.Equal("infra", Scalar(configMap.Metadata, "namespace"));
        Assert.Equal("switchyard", Scalar(GetMap(configMap.Metadata, "labels"), ManifestInjector.ManagedByLabel));
        string json = Scalar(GetMap(configMap.Root, "data"), "config.json")!;
        Assert.Equal(HandGenerator.Generate(ManifestReader.Read("in", InjectFixtures.Text("dns-udp-numeric.yaml")), new GenerateOptions { Workload = "statefulset/dns" }).ConfigJson, json);
        Assert.Contains("config.json: |\n", result.Yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void AgentContainerCarriesTheImageArgsProbesSecurityAndDrainSettings()
    {
        Output output = Run("dns-udp-numeric.yaml", new InjectOptions { Generate = HandGenerator.Generate, Image = "registry.local/switchyard:dev" });
        YamlMappingNode agent = output.Container("StatefulSet", "dns", "switchyard");
        YamlMappingNode spec = ManifestInjector.PodTemplate(output.Document("StatefulSet", "dns")).Spec!;

        Assert.Equal("registry.local/switchyard:dev", Scalar(agent, "image"));
        Assert.Equal(["agent", "--config", "/etc/switchyard/config.json"], ((YamlSequenceNode)Get(agent, "args")!).Select(n => n.ToString()));
        Assert.Equal(["/usr/local/bin/switchyard", "probe", "ready"], Command(agent, "readinessProbe"));
        Assert.Equal(["/usr/local/bin/switchyard", "probe", "live"], Command(agent, "livenessProbe"));
        YamlMappingNode security = GetMap(agent, "securityContext")!;
        Assert.Equal(("true", "true", "1654", "false"), (Scalar(security, "readOnlyRootFilesystem"), Scalar(security, "runAsNonRoot"), Scalar(security, "runAsUser"), Scalar(security, "allowPrivilegeEscalation")));
        Assert.Equal("5", Scalar(GetMap(GetMap(GetMap(agent, "lifecycle"), "preStop"), "sleep"), "seconds"));
        Assert.Equal("50m", Scalar(GetMap(GetMap(agent, "resources"), "requests"), "cpu"));
        Assert.Equal("35", Scalar(spec, "terminationGracePeriodSeconds"));
        YamlMappingNode config = Maps(GetSeq(spec, "volumes")).Single(v => Scalar(v, "name") == "switchyard-config");
        Assert.Equal("dns-switchyard", Scalar(GetMap(config, "configMap"), "name"));
        Assert.Equal(Program.Version, Scalar(GetMap(ManifestInjector.PodTemplate(output.Document("StatefulSet", "dns")).Metadata, "annotations"), ManifestInjector.InjectedAnnotation));
    }

    [Fact]
    public void DefaultImageIsTheReleaseImageOfThisVersion()
    {
        Assert.Equal($"ghcr.io/switchyard/switchyard:{Program.Version}", new InjectOptions().Image);
    }

    [Fact]
    public void LongerGracePeriodIsKept()
    {
        YamlMappingNode spec = ManifestInjector.PodTemplate(Run("api-tls-annotations.yaml").Document("Deployment", "api")).Spec!;

        Assert.Equal("60", Scalar(spec, "terminationGracePeriodSeconds"));
    }

    [Fact]
    public void SecretAnnotationAddsASecretVolumeMountedIntoTheAgentOnly()
    {
        Output output = Run("api-tls-annotations.yaml");
        YamlMappingNode spec = ManifestInjector.PodTemplate(output.Document("Deployment", "api")).Spec!;
        YamlMappingNode volume = Maps(GetSeq(spec, "volumes")).Single(v => Scalar(GetMap(v, "secret"), "secretName") == "api-server-tls");

        Assert.Equal("sy-secret-api-server-tls", Scalar(volume, "name"));
        YamlMappingNode mount = Maps(GetSeq(output.Container("Deployment", "api", "switchyard"), "volumeMounts")).Single(m => Scalar(m, "name") == "sy-secret-api-server-tls");
        Assert.Equal(SecretMounts.PathFor("api-server-tls"), Scalar(mount, "mountPath"));
        Assert.Equal("true", Scalar(mount, "readOnly"));
        Assert.DoesNotContain(Maps(GetSeq(output.Container("Deployment", "api", "api"), "volumeMounts")), m => Scalar(m, "name") == "sy-secret-api-server-tls");
    }

    [Fact]
    public void PathAnnotationMountsTheAppVolumeHoldingItAtTheSamePath()
    {
        YamlMappingNode agent = Run("api-tls-annotations.yaml").Container("Deployment", "api", "switchyard");

        YamlMappingNode mount = Maps(GetSeq(agent, "volumeMounts")).Single(m => Scalar(m, "name") == "client-certs");
        Assert.Equal(("/etc/client-certs", "true"), (Scalar(mount, "mountPath"), Scalar(mount, "readOnly")));
        YamlMappingNode admin = Maps(GetSeq(agent, "volumeMounts")).Single(m => Scalar(m, "name") == "admin-certs");
        Assert.Equal(("/opt/api/certs", "true"), (Scalar(admin, "mountPath"), Scalar(admin, "readOnly")));
        Assert.DoesNotContain(Maps(GetSeq(agent, "volumeMounts")), m => Scalar(m, "name") == "tmp");
    }

    /// <summary>Issue 13: a warning here left a pod whose agent exits 2 at start (its certificates are not in the agent's filesystem).</summary>
    [Theory]
    [InlineData("telepresence.io/downstream-tls-path.9443: /opt/baked/certs", "spec.template.metadata.annotations[\"telepresence.io/downstream-tls-path.9443\"]: /opt/baked/certs: no volume of deployment/api is mounted there or above", "or name a Secret with telepresence.io/downstream-tls-secret.9443 instead")]
    [InlineData("switchyard.io/upstream-tls-path.9443: /srv/client", "spec.template.metadata.annotations[\"switchyard.io/upstream-tls-path.9443\"]: /srv/client: no volume", "or name a Secret with switchyard.io/upstream-tls-secret.9443 instead")]
    public void PathAnnotationThatNoVolumeHoldsIsAnErrorNamingTheAnnotationAndTheRemedy(string annotation, string message, string remedy)
    {
        string input = InjectFixtures.Text("api-tls-annotations.yaml")
            .Replace("telepresence.io/downstream-tls-path.9443: /opt/api/certs", annotation, StringComparison.Ordinal);

        var e = Assert.Throws<KubeInputException>(() => ManifestInjector.Inject(ManifestReader.Read("api.yaml", input), new InjectOptions()));

        Assert.StartsWith($"api.yaml: document 0: {message}", e.Message, StringComparison.Ordinal);
        Assert.Contains("the agent (it would exit 2 at start and the pod would never become Ready): mount a volume holding it into the app container at ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith(remedy, e.Message, StringComparison.Ordinal);
    }

    private const string MirrordTrustRoots = """
        ---
        apiVersion: mirrord.metalbear.co/v1alpha
        kind: MirrordTlsStealConfig
        metadata:
          name: api-tls
          namespace: payments
        spec:
          targetPath: deploy/api
          ports:
          - port: 8443
            agentAsServer:
              authentication: {certPem: /run/unused/tls.crt, keyPem: /run/unused/tls.key}
              verification:
                trustRoots: [ROOTS]
        """;

    [Fact]
    public void FilesOfAMirrordConfigAreMountedFromTheAppVolumeHoldingThem()
    {
        string input = InjectFixtures.Text("api-tls-annotations.yaml").Replace("        telepresence.io/downstream-tls-path.9443: /opt/api/certs\n", string.Empty, StringComparison.Ordinal)
            + MirrordTrustRoots.Replace("ROOTS", "/opt/api/certs/callers.pem", StringComparison.Ordinal);

        List<ManifestDocument> output = ManifestReader.Read("out", ManifestInjector.Inject(ManifestReader.Read("api.yaml", input), new InjectOptions()).Yaml);

        YamlMappingNode agent = Maps(GetSeq(ManifestInjector.PodTemplate(output.Single(d => d.Kind == "Deployment")).Spec, "containers")).Single(c => Scalar(c, "name") == "switchyard");
        Assert.Contains(("admin-certs", "/opt/api/certs"), Maps(GetSeq(agent, "volumeMounts")).Select(m => (Scalar(m, "name"), Scalar(m, "mountPath"))));
    }

    [Fact]
    public void AFileOfAMirrordConfigThatNoVolumeHoldsIsAnErrorNamingItsField()
    {
        string input = InjectFixtures.Text("api-tls-annotations.yaml") + MirrordTrustRoots.Replace("ROOTS", "/opt/ca/callers.pem", StringComparison.Ordinal);

        var e = Assert.Throws<KubeInputException>(() => ManifestInjector.Inject(ManifestReader.Read("api.yaml", input), new InjectOptions()));

        Assert.StartsWith("api.yaml: document 2: spec.ports[0].agentAsServer.verification.trustRoots[0]: /opt/ca/callers.pem: no volume of deployment/api is mounted there or above", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("mount a volume holding it into the app container", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VolumesMountedAtEachCertificateFileWithSubPathHoldThePathDirectory()
    {
        string input = InjectFixtures.Text("api-tls-annotations.yaml").Replace(
            "        - name: admin-certs\n          mountPath: /opt/api/certs\n",
            "        - name: admin-certs\n          mountPath: /opt/api/certs/tls.crt\n          subPath: tls.crt\n        - name: admin-certs\n          mountPath: /opt/api/certs/tls.key\n          subPath: tls.key\n",
            StringComparison.Ordinal);

        List<ManifestDocument> output = ManifestReader.Read("out", ManifestInjector.Inject(ManifestReader.Read("api.yaml", input), new InjectOptions()).Yaml);

        YamlMappingNode agent = Maps(GetSeq(ManifestInjector.PodTemplate(output.Single(d => d.Kind == "Deployment")).Spec, "containers")).Single(c => Scalar(c, "name") == "switchyard");
        var admin = Maps(GetSeq(agent, "volumeMounts")).Where(m => Scalar(m, "name") == "admin-certs").Select(m => (Scalar(m, "mountPath"), Scalar(m, "subPath"))).ToList();
        Assert.Equal([("/opt/api/certs/tls.crt", "tls.crt"), ("/opt/api/certs/tls.key", "tls.key")], admin);
    }

    [Fact]
    public void ListItemsArePodsAndAStaleConfigMapOfOursIsReplaced()
    {
        InjectResult result = InjectFixtures.Inject("grpc-pod-list.yaml");
        List<ManifestDocument> documents = ManifestReader.Read("out", result.Yaml);

        Assert.Equal(["ConfigMap/ledger-switchyard", "Pod/ledger", "Service/ledger"], documents.Select(d => $"{d.Kind}/{d.Name}"));
        Assert.NotEqual("{}", Scalar(GetMap(documents[0].Root, "data"), "config.json"));
    }

    [Fact]
    public void PortNameTooLongForTheAppPrefixGetsAShortenedValidName()
    {
        Output output = Run("grpc-pod-list.yaml");
        YamlMappingNode ledger = output.Container("Pod", "ledger", "ledger");
        string renamed = Scalar(Maps(GetSeq(ledger, "ports")).Single(), "name")!;

        Assert.True(InjectNames.IsValidPortName(renamed), renamed);
        Assert.StartsWith("app-", renamed, StringComparison.Ordinal);
        Assert.Equal(renamed, Scalar(GetMap(GetMap(ledger, "readinessProbe"), "tcpSocket"), "port"));
        Assert.Equal("50051", Scalar(GetMap(GetMap(ledger, "startupProbe"), "grpc"), "port"));
        Assert.Equal("grpc-internal1", Scalar(Maps(GetSeq(output.Container("Pod", "ledger", "switchyard"), "ports")).Single(), "name"));
    }

    [Fact]
    public void WorkloadWithASwitchyardContainerIsLeftAlone()
    {
        string input = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: manual
              labels:
                app: manual
            spec:
              containers:
              - name: app
                image: app:1
                ports:
                - containerPort: 8080
              - name: switchyard
                image: my/switchyard:custom
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: manual
            spec:
              selector:
                app: manual
              ports:
              - port: 80
                targetPort: 8080

            """;
        var generations = 0;
        InjectResult result = InjectFixtures.InjectText(input, new InjectOptions { Generate = (d, o) => { generations++; return HandGenerator.Generate(d, o); } });

        Assert.Equal(0, generations);
        Assert.Equal(ManifestWriter.Write(ManifestReader.Read("in", input).Select(d => d.Root)), result.Yaml);
    }

    [Fact]
    public void GenerationWarningsAreReportedWithTheWorkload()
    {
        InjectResult result = InjectFixtures.Inject("dns-udp-numeric.yaml", new InjectOptions
        {
            Generate = (d, o) => HandGenerator.Generate(d, o) with { Warnings = ["port 53/UDP: TLS annotations ignored"] },
        });

        Assert.Contains("statefulset/dns: port 53/UDP: TLS annotations ignored", result.Warnings);
    }

    [Fact]
    public void BadInputNamesTheFileAndDocument()
    {
        var e = Assert.Throws<KubeInputException>(() => ManifestReader.Read("broken.yaml", "kind: Pod\n---\n- a list\n"));

        Assert.StartsWith("broken.yaml: document 1:", e.Message, StringComparison.Ordinal);
    }

    private static string[] Command(YamlMappingNode container, string probe) =>
        GetSeq(GetMap(GetMap(container, probe), "exec"), "command")!.Select(n => ((YamlScalarNode)n).Value ?? string.Empty).ToArray();

    private static Output Run(string fixture, InjectOptions? options = null) =>
        new(ManifestReader.Read("out", InjectFixtures.Inject(fixture, options).Yaml));

    /// <summary>The injected documents read back, with lookups by kind and name.</summary>
    private sealed record Output(List<ManifestDocument> Documents)
    {
        public ManifestDocument Document(string kind, string name) => Documents.Single(d => d.Kind == kind && d.Name == name);

        public YamlMappingNode Container(string kind, string name, string container) =>
            Maps(GetSeq(ManifestInjector.PodTemplate(Document(kind, name)).Spec, "containers")).Single(c => Scalar(c, "name") == container);

        public YamlMappingNode ServicePort(string service, int index) =>
            Maps(GetSeq(GetMap(Document("Service", service).Root, "spec"), "ports")).ElementAt(index);
    }
}
