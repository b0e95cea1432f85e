using System.Text;
using System.Text.Json.Nodes;
using Switchyard.Kubernetes;
using YamlDotNet.RepresentationModel;
using static Switchyard.Kubernetes.InjectYaml;
using static Switchyard.Tests.Kubernetes.GenerateFixtures;

namespace Switchyard.Tests.Kubernetes;

/// <summary>
/// generate and inject on what users feed them (issue 13 items 1, 2 and 4): namespace dumps with unrelated objects,
/// Argo Rollouts, a Service shared by workloads whose ports differ, and a workload given without its Service.
/// Commands run as the CLI runs them: exit code, stdout and the stderr lines.
/// </summary>
public sealed class RealInputTests
{
    private const string PaymentsService = """
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: pay}
        spec:
          selector: {app: payments}
          ports: [{port: 80}]
        """;

    // ---- item 1: what does not concern the chosen workload is skipped with one warning line each ----

    [Fact]
    public void Generate_skips_a_service_that_selects_no_workload_with_one_warning_line()
    {
        (int code, string stdout, string stderr) = Cli("generate", Api(extraDocuments: PaymentsService), "-w", "deploy/api");

        Assert.Equal(0, code);
        Assert.Equal("switchyard: warning: -: document 2: service/pay: spec.selector app=payments selects no workload in namespace default of the input; skipped\n", stderr);
        Assert.Equal(Generate(Api(), "deploy/api").ConfigJson, stdout);
    }

    [Fact]
    public void Generate_skips_a_service_of_another_namespace_services_without_selector_and_other_kinds()
    {
        string yaml = Api(extraDocuments: """
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: api, namespace: prod}
            spec:
              selector: {app: api}
              ports: [{port: 80}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: db}
            spec:
              type: ExternalName
              externalName: db.example.com
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings}
            data: {level: debug}
            ---
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: nightly}
            spec: {schedule: "0 3 * * *"}
            """);

        (int code, string stdout, string stderr) = Cli("generate", yaml);

        Assert.Equal(0, code);
        Assert.Equal(
            "switchyard: warning: -: document 2: service/api: spec.selector app=api selects no workload in namespace prod of the input; skipped\n" +
            "switchyard: warning: -: document 3: service/db: no spec.selector (its endpoints are managed by hand); skipped\n" +
            "switchyard: warning: -: document 4: configmap/settings: neither a workload nor a Service; skipped\n" +
            "switchyard: warning: -: document 5: cronjob/nightly: neither a workload nor a Service; skipped\n",
            stderr);
        Assert.Equal(Generate(Api()).ConfigJson, stdout);
    }

    [Fact]
    public void Inject_passes_an_unrelated_service_through_unchanged_with_one_warning_line()
    {
        string yaml = Api(extraDocuments: PaymentsService);

        (int code, string stdout, string stderr) = Cli("inject", yaml);

        Assert.Equal(0, code);
        Assert.Equal("switchyard: warning: -: document 2: service/pay: spec.selector app=payments selects no workload in namespace default of the input; passed through unchanged\n", stderr);
        List<ManifestDocument> output = ManifestReader.Read("out", stdout);
        Assert.Equal(["ConfigMap/api-switchyard", "Deployment/api", "Service/api", "Service/pay"], output.Select(d => $"{d.Kind}/{d.Name}"));
        Assert.Equal(ManifestWriter.Write([ManifestReader.Read("in", yaml)[2].Root]), ManifestWriter.Write([output[3].Root]));
        Assert.True(ManifestInjector.IsInjected(output[1]));
    }

    private const string Rollout = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: web
          namespace: shop
        spec:
          replicas: 3
          selector:
            matchLabels: {app: web}
          strategy:
            canary:
              steps: [{setWeight: 20}, {pause: {}}]
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: web
                image: registry.example/web:2
                ports:
                - {name: http, containerPort: 8080}
                - {containerPort: 9090}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec:
          selector: {app: web}
          ports:
          - {name: http, port: 80, targetPort: http}
          - {name: metrics, port: 9090, targetPort: 9090}
        """;

    [Theory]
    [InlineData(null)]
    [InlineData("rollout/web")]
    [InlineData("rollouts/web")]
    [InlineData("ro/web")]
    [InlineData("Rollout/web")]
    public void Generate_fronts_an_argo_rollout(string? workload)
    {
        (int code, string stdout, string stderr) = workload is null ? Cli("generate", Rollout) : Cli("generate", Rollout, "-w", workload);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr);
        JsonObject config = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal("""{"kind":"Rollout","name":"web","namespace":"shop","labels":{"app":"web"}}""", config["workload"]!.ToJsonString());
        Assert.Equal(
            [("http", 9900, "127.0.0.1:8080"), ("metrics", 9903, "127.0.0.1:9090")],
            config["ports"]!.AsArray().Select(p => (p!["name"]!.GetValue<string>(), p["listen"]!.GetValue<int>(), p["app"]!.GetValue<string>())));
    }

    [Fact]
    public void Inject_patches_an_argo_rollout_and_its_service_and_is_idempotent()
    {
        (int code, string stdout, string stderr) = Cli("inject", Rollout);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr);
        List<ManifestDocument> output = ManifestReader.Read("out", stdout);
        Assert.Equal(["ConfigMap/web-switchyard", "Rollout/web", "Service/web"], output.Select(d => $"{d.Kind}/{d.Name}"));
        ManifestDocument rollout = output[1];
        Assert.Equal("argoproj.io/v1alpha1", rollout.ApiVersion);
        Assert.True(ManifestInjector.IsInjected(rollout));
        YamlMappingNode pod = ManifestInjector.PodTemplate(rollout).Spec!;
        YamlMappingNode agent = Maps(GetSeq(pod, "containers")).Single(c => Scalar(c, "name") == "switchyard");
        Assert.Equal([("http", "9900"), (null, "9903")], Maps(GetSeq(agent, "ports")).Select(p => (Scalar(p, "name"), Scalar(p, "containerPort"))));
        Assert.Equal("web-switchyard", Scalar(GetMap(Maps(GetSeq(pod, "volumes")).Single(v => Scalar(v, "name") == "switchyard-config"), "configMap"), "name"));
        YamlMappingNode web = Maps(GetSeq(pod, "containers")).Single(c => Scalar(c, "name") == "web");
        Assert.Equal("app-http", Scalar(Maps(GetSeq(web, "ports")).First(), "name"));
        List<YamlMappingNode> servicePorts = Maps(GetSeq(GetMap(output[2].Root, "spec"), "ports")).ToList();
        Assert.Equal(["http", "9903"], servicePorts.Select(p => Scalar(p, "targetPort")));
        Assert.Equal("Rollout", JsonNode.Parse(Scalar(GetMap(output[0].Root, "data"), "config.json")!)!["workload"]!["kind"]!.GetValue<string>());

        (int again, string twice, string _) = Cli("inject", stdout);
        Assert.Equal(0, again);
        Assert.Equal(stdout, twice);
    }

    [Fact]
    public void Services_read_from_a_live_cluster_select_their_rollout_despite_the_controllers_hash_label()
    {
        // The Argo Rollouts controller adds rollouts-pod-template-hash to the stable and canary Services' selectors.
        string live = Rollout.Replace("  selector: {app: web}\n  ports:", "  selector: {app: web, rollouts-pod-template-hash: 6b9f7c5d8}\n  ports:", StringComparison.Ordinal);
        Assert.Contains("rollouts-pod-template-hash", live, StringComparison.Ordinal);

        (int code, string stdout, string stderr) = Cli("inject", live);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr);
        List<ManifestDocument> output = ManifestReader.Read("out", stdout);
        Assert.True(ManifestInjector.IsInjected(output.Single(d => d.Kind == "Rollout")));
        YamlMappingNode spec = GetMap(output.Single(d => d.Kind == "Service").Root, "spec")!;
        Assert.Equal("6b9f7c5d8", Scalar(GetMap(spec, "selector"), "rollouts-pod-template-hash"));
        Assert.Equal(["http", "9903"], Maps(GetSeq(spec, "ports")).Select(p => Scalar(p, "targetPort")));
    }

    [Fact]
    public void The_rollouts_hash_label_selects_nothing_but_a_rollout()
    {
        string yaml = Api(extraDocuments: "---\napiVersion: v1\nkind: Service\nmetadata: {name: hashed}\nspec:\n  selector: {app: api, rollouts-pod-template-hash: 6b9f7c5d8}\n  ports: [{port: 80}]\n");

        Assert.Equal(
            ["app.yaml: document 2: service/hashed: spec.selector app=api,rollouts-pod-template-hash=6b9f7c5d8 selects no workload in namespace default of the input; skipped"],
            Generate(yaml).Warnings);
    }

    [Fact]
    public void A_rollout_kind_of_another_api_group_is_no_workload()
    {
        string yaml = Api(extraDocuments: "---\napiVersion: example.com/v1\nkind: Rollout\nmetadata: {name: r}\nspec: {}\n");

        (int code, string _, string stderr) = Cli("generate", yaml);

        Assert.Equal(0, code);
        Assert.Equal("switchyard: warning: -: document 2: rollout/r: neither a workload nor a Service; skipped\n", stderr);
    }

    private const string ReferenceRollout = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web}
        spec:
          replicas: 3
          selector:
            matchLabels: {app: web}
          workloadRef:
            apiVersion: apps/v1
            kind: Deployment
            name: web-template
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web-template}
        spec:
          replicas: 0
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: web
                image: registry.example/web:2
                ports: [{containerPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        """;

    [Fact]
    public void Generate_for_a_rollout_with_a_workload_ref_names_the_workload_to_use_instead()
    {
        (int code, string stdout, string stderr) = Cli("generate", ReferenceRollout, "-w", "rollout/web");

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        Assert.EndsWith(
            "-: document 0: spec.workloadRef: the Rollout's pods come from the pod template of deploy/web-template: generate for and inject deploy/web-template instead (with the Service(s) selecting the Rollout's pods)\n",
            stderr,
            StringComparison.Ordinal);
        Assert.Equal(1, stderr.Count(c => c == '\n'));
    }

    [Fact]
    public void Inject_of_a_rollout_with_a_workload_ref_injects_the_referenced_deployment_and_warns_once()
    {
        (int code, string stdout, string stderr) = Cli("inject", ReferenceRollout);

        Assert.Equal(0, code);
        Assert.Equal(
            "switchyard: warning: -: document 0: rollout/web: spec.workloadRef: the Rollout's pods come from the pod template of deploy/web-template: generate for and inject deploy/web-template instead (with the Service(s) selecting the Rollout's pods); passed through unchanged\n",
            stderr);
        List<ManifestDocument> output = ManifestReader.Read("out", stdout);
        Assert.Equal(["Rollout/web", "ConfigMap/web-template-switchyard", "Deployment/web-template", "Service/web"], output.Select(d => $"{d.Kind}/{d.Name}"));
        Assert.Equal(ManifestWriter.Write([ManifestReader.Read("in", ReferenceRollout)[0].Root]), ManifestWriter.Write([output[0].Root]));
        Assert.True(ManifestInjector.IsInjected(output[2]));
        Assert.Equal("9900", Scalar(Maps(GetSeq(GetMap(output[3].Root, "spec"), "ports")).Single(), "targetPort"));
    }

    /// <summary>What <c>kubectl get all -o yaml</c> lists: the Deployment, its ReplicaSet and that ReplicaSet's Pod, all with the pod labels.</summary>
    private const string GetAll = """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Pod
          metadata:
            name: api-7d9c-x2x
            labels: {app: api, pod-template-hash: 7d9c}
            ownerReferences:
            - {apiVersion: apps/v1, kind: ReplicaSet, name: api-7d9c, uid: 1c0e, controller: true, blockOwnerDeletion: true}
          spec:
            containers:
            - name: api
              image: api:1
              ports: [{containerPort: 8080}]
        - apiVersion: v1
          kind: Service
          metadata: {name: api}
          spec:
            selector: {app: api}
            ports: [{port: 80, targetPort: 8080}]
        - apiVersion: apps/v1
          kind: Deployment
          metadata: {name: api}
          spec:
            selector:
              matchLabels: {app: api}
            template:
              metadata:
                labels: {app: api}
              spec:
                containers:
                - name: api
                  image: api:1
                  ports: [{containerPort: 8080}]
        - apiVersion: apps/v1
          kind: ReplicaSet
          metadata:
            name: api-7d9c
            labels: {app: api, pod-template-hash: 7d9c}
            ownerReferences:
            - {apiVersion: apps/v1, kind: Deployment, name: api, uid: 9a1b, controller: true, blockOwnerDeletion: true}
          spec:
            selector:
              matchLabels: {app: api, pod-template-hash: 7d9c}
            template:
              metadata:
                labels: {app: api, pod-template-hash: 7d9c}
              spec:
                containers:
                - name: api
                  image: api:1
                  ports: [{containerPort: 8080}]
        """;

    private const string GetAllWarnings =
        "switchyard: warning: -: document 0: pod/api-7d9c-x2x: metadata.ownerReferences: managed by rs/api-7d9c, which would undo or replace a change made here: generate for and inject rs/api-7d9c (or its own controller) instead; {0}\n" +
        "switchyard: warning: -: document 0: rs/api-7d9c: metadata.ownerReferences: managed by deploy/api, which would undo or replace a change made here: generate for and inject deploy/api (or its own controller) instead; {0}\n";

    [Fact]
    public void Generate_on_kubectl_get_all_skips_the_replicasets_and_pods_a_controller_manages()
    {
        (int code, string stdout, string stderr) = Cli("generate", GetAll);

        Assert.Equal(0, code);
        Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, GetAllWarnings, "skipped"), stderr);
        Assert.Equal("Deployment", JsonNode.Parse(stdout)!["workload"]!["kind"]!.GetValue<string>());
        Assert.Equal(9900, JsonNode.Parse(stdout)!["ports"]![0]!["listen"]!.GetValue<int>());
    }

    [Fact]
    public void Generate_for_a_managed_pod_names_its_controller()
    {
        (int code, string _, string stderr) = Cli("generate", GetAll, "-w", "pod/api-7d9c-x2x");

        Assert.Equal(2, code);
        Assert.EndsWith("-: document 0: metadata.ownerReferences: managed by rs/api-7d9c, which would undo or replace a change made here: generate for and inject rs/api-7d9c (or its own controller) instead\n", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Inject_on_kubectl_get_all_injects_the_deployment_only()
    {
        (int code, string stdout, string stderr) = Cli("inject", GetAll);

        Assert.Equal(0, code);
        Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, GetAllWarnings, "passed through unchanged"), stderr);
        List<ManifestDocument> input = ManifestReader.Read("in", GetAll);
        List<ManifestDocument> output = ManifestReader.Read("out", stdout);
        Assert.Equal(["Pod/api-7d9c-x2x", "Service/api", "ConfigMap/api-switchyard", "Deployment/api", "ReplicaSet/api-7d9c"], output.Select(d => $"{d.Kind}/{d.Name}"));
        Assert.Equal(ManifestWriter.Write([input[0].Root, input[3].Root]), ManifestWriter.Write([output[0].Root, output[4].Root]));
        Assert.True(ManifestInjector.IsInjected(output[3]));
    }

    // ---- item 2: a Service shared by workloads whose ports differ gets one agent port that every workload listens on ----

    /// <summary>bookinfo's reviews: three versions behind one Service; v2 also declares 9900 (JMX), reached by a Service of its own.</summary>
    private const string Bookinfo = """
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
          labels: {app: reviews, service: reviews}
        spec:
          ports:
          - {port: 9080, name: http}
          selector: {app: reviews}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: reviews-v2-jmx}
        spec:
          ports:
          - {port: 9900, name: jmx, targetPort: 9900}
          selector: {app: reviews, version: v2}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: reviews-v1
          labels: {app: reviews, version: v1}
        spec:
          selector:
            matchLabels: {app: reviews, version: v1}
          template:
            metadata:
              labels: {app: reviews, version: v1}
            spec:
              containers:
              - name: reviews
                image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.2
                ports:
                - containerPort: 9080
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: reviews-v2
          labels: {app: reviews, version: v2}
        spec:
          selector:
            matchLabels: {app: reviews, version: v2}
          template:
            metadata:
              labels: {app: reviews, version: v2}
            spec:
              containers:
              - name: reviews
                image: docker.io/istio/examples-bookinfo-reviews-v2:1.20.2
                ports:
                - containerPort: 9080
                - {name: jmx, containerPort: 9900}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: reviews-v3
          labels: {app: reviews, version: v3}
        spec:
          selector:
            matchLabels: {app: reviews, version: v3}
          template:
            metadata:
              labels: {app: reviews, version: v3}
            spec:
              containers:
              - name: reviews
                image: docker.io/istio/examples-bookinfo-reviews-v3:1.20.2
                ports:
                - containerPort: 9080
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ratings}
        spec:
          ports:
          - {port: 9080, name: http}
          selector: {app: ratings}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: ratings-v1}
        spec:
          selector:
            matchLabels: {app: ratings}
          template:
            metadata:
              labels: {app: ratings, version: v1}
            spec:
              containers:
              - name: ratings
                image: docker.io/istio/examples-bookinfo-ratings-v1:1.20.2
                ports:
                - containerPort: 9080
        """;

    [Theory]
    [InlineData("deploy/reviews-v1", new[] { 9903 })]
    [InlineData("deploy/reviews-v2", new[] { 9903, 9904 })]
    [InlineData("deploy/reviews-v3", new[] { 9903 })]
    [InlineData("deploy/ratings-v1", new[] { 9900 })]
    public void Generate_gives_every_workload_behind_one_service_the_same_agent_port(string workload, int[] listens)
    {
        (int code, string stdout, string stderr) = Cli("generate", Bookinfo, "-w", workload);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr);
        JsonObject config = JsonNode.Parse(stdout)!.AsObject();
        Assert.Equal(listens, config["ports"]!.AsArray().Select(p => p!["listen"]!.GetValue<int>()));
        Assert.Equal("127.0.0.1:9080", config["ports"]![0]!["app"]!.GetValue<string>());
    }

    [Fact]
    public void Inject_retargets_a_shared_service_to_the_port_each_agent_listens_on_for_it()
    {
        (int code, string stdout, string stderr) = Cli("inject", Bookinfo);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr);
        List<ManifestDocument> output = ManifestReader.Read("out", stdout);
        foreach ((string service, string appPort, string[] workloads) in new[]
                 {
                     ("reviews", "127.0.0.1:9080", new[] { "reviews-v1", "reviews-v2", "reviews-v3" }),
                     ("reviews-v2-jmx", "127.0.0.1:9900", new[] { "reviews-v2" }),
                     ("ratings", "127.0.0.1:9080", new[] { "ratings-v1" }),
                 })
        {
            int targetPort = int.Parse(Scalar(Maps(GetSeq(GetMap(output.Single(d => d.Kind == "Service" && d.Name == service).Root, "spec"), "ports")).Single(), "targetPort")!, System.Globalization.CultureInfo.InvariantCulture);
            foreach (string workload in workloads)
            {
                // The agent of every selected workload listens on the Service's targetPort, and forwards it to the app port the Service meant.
                string json = Scalar(GetMap(output.Single(d => d.Kind == "ConfigMap" && d.Name == $"{workload}-switchyard").Root, "data"), "config.json")!;
                JsonNode port = JsonNode.Parse(json)!["ports"]!.AsArray().Single(p => p!["listen"]!.GetValue<int>() == targetPort)!;
                Assert.Equal(appPort, port["app"]!.GetValue<string>());
                YamlMappingNode agent = Maps(GetSeq(ManifestInjector.PodTemplate(output.Single(d => d.Kind == "Deployment" && d.Name == workload)).Spec, "containers"))
                    .Single(c => Scalar(c, "name") == "switchyard");
                Assert.Contains(Maps(GetSeq(agent, "ports")), p => Scalar(p, "containerPort") == targetPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        Assert.Equal(["9903", "9904", "9900"], output.Where(d => d.Kind == "Service").Select(s => Scalar(Maps(GetSeq(GetMap(s.Root, "spec"), "ports")).Single(), "targetPort")));
    }

    [Fact]
    public void Workloads_linked_through_services_one_after_another_share_ports_transitively()
    {
        // a and b share Service ab (port 80 -> 8080); b and c share Service bc (port 81 -> 8080); c declares 9900 and 9903.
        static string Deploy(string name, string labels, string ports) =>
            $"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  template:\n    metadata:\n      labels: {{{labels}}}\n    spec:\n      containers:\n      - name: app\n        ports: [{ports}]\n";
        string yaml = Deploy("a", "ab: y", "{containerPort: 8080}")
            + Deploy("b", "ab: y, bc: y", "{containerPort: 8080}")
            + Deploy("c", "bc: y", "{containerPort: 8080}, {containerPort: 9900}, {containerPort: 9903}")
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: ab}\nspec:\n  selector: {ab: y}\n  ports: [{port: 80, targetPort: 8080}]\n"
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: bc}\nspec:\n  selector: {bc: y}\n  ports: [{port: 81, targetPort: 8080}]\n";

        Assert.All(["deploy/a", "deploy/b", "deploy/c"], w => Assert.Equal([9904], Generate(yaml, w).Ports.Select(p => p.Listen)));
    }

    [Fact]
    public void When_no_agent_port_is_free_in_every_workload_behind_a_service_the_error_names_them()
    {
        (int code, string _, string stderr) = Cli("generate", Bookinfo.Replace("{name: jmx, containerPort: 9900}", "{name: jmx, containerPort: 65535}", StringComparison.Ordinal)
            .Replace("{port: 9900, name: jmx, targetPort: 9900}", "{port: 9900, name: jmx, targetPort: 65535}", StringComparison.Ordinal), "-w", "deploy/reviews-v3", "--base-port", "65535");

        Assert.Equal(2, code);
        Assert.Equal(
            "-: document 2: --base-port: no agent port left above 65535 free in every workload behind service/reviews port 9080 (deploy/reviews-v1, deploy/reviews-v2, deploy/reviews-v3, which must listen on the same port for it) for deploy/reviews-v1 port 9080\n",
            stderr);
    }

    [Fact]
    public void Inject_of_a_namespace_with_many_workloads_behind_one_service_gives_every_agent_the_services_target_port()
    {
        // 300 workloads, each with a Service of its own on a named port, all behind one Service on a numeric targetPort;
        // every tenth declares 9900 itself, so the shared port must skip it in all of them. (The input is scanned once:
        // this took minutes when every workload's generation read the whole input again.)
        var yaml = new StringBuilder();
        for (int i = 0; i < 300; i++)
        {
            string extra = i % 10 == 0 ? ", {containerPort: 9900}" : string.Empty;
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: ns}}\nspec:\n  template:\n    metadata:\n      labels: {{app: app{i}, tier: web}}\n    spec:\n      containers:\n      - name: c\n        ports: [{{containerPort: 8080}}, {{name: m, containerPort: 9090}}{extra}]\n");
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"---\napiVersion: v1\nkind: Service\nmetadata: {{name: app{i}, namespace: ns}}\nspec:\n  selector: {{app: app{i}}}\n  ports: [{{name: m, port: 9090, targetPort: m}}]\n");
        }

        yaml.Append("---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ns}\nspec:\n  selector: {tier: web}\n  ports: [{port: 80, targetPort: 8080}]\n");

        (int code, string stdout, string stderr) = Cli("inject", yaml.ToString());

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr);
        List<ManifestDocument> output = ManifestReader.Read("out", stdout);
        Assert.Equal("9903", Scalar(Maps(GetSeq(GetMap(output.Single(d => d.Kind == "Service" && d.Name == "web").Root, "spec"), "ports")).Single(), "targetPort"));
        var listens = output.Where(d => d.Kind == "ConfigMap")
            .Select(d => JsonNode.Parse(Scalar(GetMap(d.Root, "data"), "config.json")!)!["ports"]!.AsArray().Select(p => (p!["app"]!.GetValue<string>(), p["listen"]!.GetValue<int>())).ToList())
            .ToList();
        Assert.Equal(300, listens.Count);
        Assert.All(listens, l => Assert.Contains(("127.0.0.1:8080", 9903), l));
    }

    // ---- item 4: inject of a workload whose Service is not in the input ----

    [Fact]
    public void Inject_of_a_deployment_without_its_service_exits_2_saying_to_pass_the_service()
    {
        string deployment = Api().Split("---")[0];

        (int code, string stdout, string stderr) = Cli("inject", deployment);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(
            "-: document 0: spec.template.metadata.labels: no Service of the input selects deployment/api: pass the Service(s) selecting it too, e.g. kubectl get deploy,svc -o yaml | switchyard inject -f -\n",
            stderr);
    }

    [Fact]
    public void Inject_of_a_pod_or_rollout_without_its_service_names_its_kind_in_the_kubectl_line()
    {
        (int podCode, string _, string pod) = Cli("inject", "apiVersion: v1\nkind: Pod\nmetadata: {name: lonely, labels: {app: lonely}}\nspec:\n  containers:\n  - {name: c, image: busybox}\n");
        (int rolloutCode, string _, string rollout) = Cli("inject", Rollout.Split("---")[0]);

        Assert.Equal((2, 2), (podCode, rolloutCode));
        Assert.Equal("-: document 0: metadata.labels: no Service of the input selects pod/lonely: pass the Service(s) selecting it too, e.g. kubectl get pod,svc -o yaml | switchyard inject -f -\n", pod);
        Assert.Equal("-: document 0: spec.template.metadata.labels: no Service of the input selects rollout/web: pass the Service(s) selecting it too, e.g. kubectl get rollout,svc -o yaml | switchyard inject -f -\n", rollout);
    }

    /// <summary>generate or inject as the CLI runs them (Program: a <see cref="KubeInputException"/> is its message on stderr and exit 2), YAML on stdin.</summary>
    private static (int Code, string Stdout, string Stderr) Cli(string command, string stdin, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter { NewLine = "\n" };
        string[] all = ["-f", "-", .. args];
        try
        {
            int code = command == "generate"
                ? GenerateCommand.Run(all, new StringReader(stdin), stdout, stderr)
                : InjectCommand.Run(all, new StringReader(stdin), new StreamWriter(stdout, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" }, stderr);
            return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
        }
        catch (KubeInputException e)
        {
            stderr.WriteLine(e.Message);
            return (2, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
        }
    }
}
