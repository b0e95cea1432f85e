using YamlDotNet.RepresentationModel;
using static Switchyard.Kubernetes.InjectYaml;

namespace Switchyard.Kubernetes;

/// <summary>Options of <c>switchyard inject</c>.</summary>
public sealed record InjectOptions
{
    public static string DefaultImage => $"ghcr.io/switchyard/switchyard:{Program.Version}";

    /// <summary>The sidecar image (--image).</summary>
    public string Image { get; init; } = DefaultImage;

    /// <summary>The config generator run once per injected workload; tests may substitute their own.</summary>
    public Func<IReadOnlyList<ManifestDocument>, GenerateOptions, Generation> Generate { get; init; } = ConfigGenerator.Generate;
}

/// <summary>The injected YAML stream and the warnings for stderr.</summary>
public sealed record InjectResult(string Yaml, IReadOnlyList<string> Warnings);

/// <summary>
/// Kubernetes YAML -> the same YAML with the switchyard sidecar (switchyard inject). Every workload that a Service selects
/// gets a ConfigMap with its generated config (inserted right before it), the agent container, the agent's volumes, and
/// the port moves that make its Services reach the agent; everything else passes through unchanged, in order.
/// Injecting the output again changes nothing: injected workloads carry <see cref="InjectedAnnotation"/>.
/// </summary>
public static partial class ManifestInjector
{
    public const string InjectedAnnotation = "switchyard.io/injected";
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string AgentContainerName = "switchyard";

    public static InjectResult Inject(IReadOnlyList<ManifestDocument> documents, InjectOptions options)
    {
        InputScan input = InputScan.Read(documents, "passed through unchanged");
        var warnings = new List<string>(input.Warnings);

        // Generate every config first, then edit: a Service shared by two workloads must look the same to both generations.
        var plans = new List<Generation>();
        foreach (ManifestDocument workload in documents.Where(IsWorkload))
        {
            if (IsInjected(workload) || input.IsSkipped(workload))
            {
                continue;
            }

            if (input.WorkloadOf(workload) is not { } read || input.Selecting(read).Count == 0)
            {
                // A sidecar needs a Service port to front; without the Service in the input nothing would be injected, silently.
                string kind = WorkloadKind.FromDocument(workload)!.Short;
                throw workload.Error(workload.Kind == "Pod" ? "metadata.labels" : "spec.template.metadata.labels",
                    $"no Service of the input selects {Describe(workload)}: pass the Service(s) selecting it too, e.g. kubectl get {kind},svc -o yaml | switchyard inject -f -");
            }

            Generation generation = options.Generate(documents, new GenerateOptions { Workload = $"{workload.Kind.ToLowerInvariant()}/{workload.Name}", ReportSkipped = false, Input = input });
            warnings.AddRange(generation.Warnings.Select(w => $"{Describe(workload)}: {w}"));
            if (generation.Ports.Count == 0)
            {
                warnings.Add($"{Describe(workload)}: no container port is reached through a Service; passed through without the sidecar");
                continue;
            }

            plans.Add(generation);
        }

        var configMaps = new Dictionary<ManifestDocument, YamlMappingNode>();
        foreach (Generation generation in plans)
        {
            InjectWorkload(generation, options.Image, warnings);
            RetargetServices(generation, warnings);
            configMaps[generation.Workload] = ConfigMap(generation);
        }

        var output = new List<YamlMappingNode>();
        foreach (ManifestDocument document in documents)
        {
            if (IsReplacedConfigMap(document, plans))
            {
                continue;
            }

            if (configMaps.TryGetValue(document, out YamlMappingNode? configMap))
            {
                output.Add(configMap);
            }

            output.Add(document.Root);
        }

        return new InjectResult(ManifestWriter.Write(output), warnings);
    }

    /// <summary>Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod, or Argo Rollout (argoproj.io).</summary>
    public static bool IsWorkload(ManifestDocument document) => Workload.IsWorkload(document);

    /// <summary>The name of the ConfigMap holding a workload's config.</summary>
    public static string ConfigMapName(ManifestDocument workload) => $"{workload.Name}-switchyard";

    /// <summary>True when the pod template already has the agent (annotation or a container named switchyard).</summary>
    public static bool IsInjected(ManifestDocument workload)
    {
        (YamlMappingNode? metadata, YamlMappingNode? spec) = PodTemplate(workload);
        return Scalar(GetMap(metadata, "annotations"), InjectedAnnotation) is not null
            || Maps(GetSeq(spec, "containers")).Any(c => Scalar(c, "name") == AgentContainerName);
    }

    /// <summary>
    /// A Service selects a workload when it has a selector, lives in the same namespace, and every selector label is on the
    /// pod template (as <see cref="ServiceSpec.Selects"/>, <see cref="ServiceSpec.RolloutsPodTemplateHash"/> included).
    /// </summary>
    public static bool Selects(ManifestDocument service, ManifestDocument workload)
    {
        YamlMappingNode? selector = GetMap(GetMap(service.Root, "spec"), "selector");
        if (selector is null || selector.Children.Count == 0 || service.Namespace != workload.Namespace)
        {
            return false;
        }

        YamlMappingNode? labels = GetMap(PodTemplate(workload).Metadata, "labels");
        bool rollout = WorkloadKind.FromDocument(workload)?.Kind == WorkloadKind.RolloutKind;
        return selector.Children.All(entry =>
            entry.Key is YamlScalarNode { Value: { } key } &&
            ((Scalar(labels, key) is { } value && value == (entry.Value as YamlScalarNode)?.Value) || (rollout && key == ServiceSpec.RolloutsPodTemplateHash)));
    }

    /// <summary>The pod metadata and pod spec of a workload: the Pod itself, or spec.template of the controllers.</summary>
    public static (YamlMappingNode? Metadata, YamlMappingNode? Spec) PodTemplate(ManifestDocument workload)
    {
        YamlMappingNode? holder = workload.Kind == "Pod" ? workload.Root : GetMap(GetMap(workload.Root, "spec"), "template");
        return (GetMap(holder, "metadata"), GetMap(holder, "spec"));
    }

    private static string Describe(ManifestDocument workload) => $"{workload.Kind.ToLowerInvariant()}/{workload.Name}";

    private static YamlMappingNode ConfigMap(Generation generation)
    {
        ManifestDocument workload = generation.Workload;
        YamlMappingNode metadata = Map(("name", Str(ConfigMapName(workload))));
        if (Scalar(workload.Metadata, "namespace") is { } ns)
        {
            Set(metadata, "namespace", Str(ns));
        }

        Set(metadata, "labels", Map((ManagedByLabel, Str("switchyard"))));
        var json = new YamlScalarNode(generation.ConfigJson) { Style = YamlDotNet.Core.ScalarStyle.Literal };
        return Map(
            ("apiVersion", Str("v1")),
            ("kind", Str("ConfigMap")),
            ("metadata", metadata),
            ("data", Map(("config.json", json))));
    }

    /// <summary>A ConfigMap of ours for a workload being injected now: the fresh one replaces it.</summary>
    private static bool IsReplacedConfigMap(ManifestDocument document, List<Generation> plans) =>
        document.Kind == "ConfigMap"
        && Scalar(GetMap(document.Metadata, "labels"), ManagedByLabel) == "switchyard"
        && plans.Any(p => ConfigMapName(p.Workload) == document.Name && p.Workload.Namespace == document.Namespace);

    /// <summary>Numeric (or absent) targetPorts now point at the agent's listen port; named ones already reach the agent by name.</summary>
    private static void RetargetServices(Generation generation, List<string> warnings)
    {
        foreach (GeneratedPort port in generation.Ports)
        {
            foreach (ServicePortRef reference in port.Services)
            {
                YamlMappingNode? spec = GetMap(reference.Service.Root, "spec");
                if (Scalar(spec, "clusterIP") == "None")
                {
                    warnings.Add($"service/{reference.Service.Name} is headless: clients that dial pod addresses at port {port.ContainerPort} still reach the app directly; the agent listens on {port.Listen}");
                }

                if (reference.TargetPortIsName)
                {
                    continue;
                }

                List<YamlMappingNode> ports = Maps(GetSeq(spec, "ports")).ToList();
                if ((uint)reference.PortIndex >= (uint)ports.Count)
                {
                    throw reference.Service.Error($"spec.ports[{reference.PortIndex}]", "no such Service port");
                }

                Set(ports[reference.PortIndex], "targetPort", Int(port.Listen));
            }
        }
    }
}
