using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>A port declared by an app container (spec.containers[c].ports[p]).</summary>
public sealed record ContainerPortSpec(string? Name, int Number, string Protocol, int PortIndex);

/// <summary>An app container of the pod and the ports it declares, in pod-spec order.</summary>
public sealed record ContainerSpec(string Name, int Index, IReadOnlyList<ContainerPortSpec> Ports);

/// <summary>
/// A Deployment, StatefulSet, DaemonSet, ReplicaSet, Argo Rollout or Pod read down to what generate needs: its pod's labels,
/// annotations and containers. For controllers the pod is spec.template, for a Pod the object itself.
/// </summary>
public sealed class Workload
{
    private Workload(ManifestDocument document, WorkloadKind kind, string podPath, Dictionary<string, string> labels,
        Dictionary<string, string> annotations, List<ContainerSpec> containers)
    {
        Document = document;
        Kind = kind;
        PodPath = podPath;
        Labels = labels;
        Annotations = annotations;
        Containers = containers;
    }

    public ManifestDocument Document { get; }

    public WorkloadKind Kind { get; }

    public string Name => Document.Name;

    public string Namespace => Document.Namespace;

    /// <summary>"spec.template." for controllers, "" for a Pod: the prefix of the pod's metadata and spec in field names.</summary>
    public string PodPath { get; }

    /// <summary>The pod's labels (what Services and selectors see).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; }

    public IReadOnlyDictionary<string, string> Annotations { get; }

    public IReadOnlyList<ContainerSpec> Containers { get; }

    /// <summary>kubectl spelling for messages: deploy/shop.</summary>
    public string Display => $"{Kind.Short}/{Name}";

    public string AnnotationField(string key) => $"{PodPath}metadata.annotations[\"{key}\"]";

    public IEnumerable<ContainerPortSpec> AllPorts => Containers.SelectMany(c => c.Ports);

    /// <summary>True when <paramref name="document"/> is a workload kind generate understands.</summary>
    public static bool IsWorkload(ManifestDocument document) => WorkloadKind.FromDocument(document) is not null;

    /// <summary>
    /// For an Argo Rollout without a pod template of its own (<c>spec.workloadRef</c> instead of <c>spec.template</c>):
    /// the referenced workload as kubectl spells it (deploy/web); null for every other workload.
    /// </summary>
    public static string? TemplateReference(ManifestDocument document)
    {
        if (WorkloadKind.FromDocument(document)?.Kind != WorkloadKind.RolloutKind)
        {
            return null;
        }

        YamlMappingNode? spec = ManifestDocument.Child(document.Root, "spec") as YamlMappingNode;
        if (ManifestDocument.Child(spec, "template") is not null || ManifestDocument.Child(spec, "workloadRef") is not YamlMappingNode reference)
        {
            return null;
        }

        string kind = ManifestDocument.Scalar(reference, "kind") ?? "Deployment";
        string name = ManifestDocument.Scalar(reference, "name") ?? string.Empty;
        return $"{WorkloadKind.FromAlias(kind)?.Short ?? kind.ToLowerInvariant()}/{name}";
    }

    /// <summary>Why a Rollout with <c>spec.workloadRef</c> gets no agent of its own (the same words for generate and inject).</summary>
    public static string TemplateReferenceReason(string reference) =>
        $"the Rollout's pods come from the pod template of {reference}: generate for and inject {reference} instead (with the Service(s) selecting the Rollout's pods)";

    public static Workload Read(ManifestDocument document)
    {
        WorkloadKind kind = WorkloadKind.FromDocument(document) ?? throw document.Error("kind", $"not a workload: {document.Kind}");
        if (document.Name.Length == 0)
        {
            throw document.Error("metadata.name", "required");
        }

        if (TemplateReference(document) is { } reference)
        {
            throw document.Error("spec.workloadRef", TemplateReferenceReason(reference));
        }

        string podPath = kind.HasTemplate ? "spec.template." : string.Empty;
        YamlMappingNode? pod = document.Root;
        if (kind.HasTemplate)
        {
            YamlMappingNode? spec = Yaml.Map(document, document.Root, "spec", "spec");
            pod = Yaml.Map(document, spec, "template", "spec.template") ?? throw document.Error("spec.template", "required");
        }

        YamlMappingNode? metadata = Yaml.Map(document, pod, "metadata", $"{podPath}metadata");
        var labels = Yaml.StringMap(document, ManifestDocument.Child(metadata, "labels"), $"{podPath}metadata.labels");
        var annotations = Yaml.StringMap(document, ManifestDocument.Child(metadata, "annotations"), $"{podPath}metadata.annotations");
        YamlMappingNode? podSpec = Yaml.Map(document, pod, "spec", $"{podPath}spec");
        YamlSequenceNode containerNodes = Yaml.Sequence(document, podSpec, "containers", $"{podPath}spec.containers")
            ?? throw document.Error($"{podPath}spec.containers", "required");

        var containers = new List<ContainerSpec>();
        for (int c = 0; c < containerNodes.Children.Count; c++)
        {
            string at = $"{podPath}spec.containers[{c}]";
            var container = containerNodes.Children[c] as YamlMappingNode ?? throw document.Error(at, "expected a mapping");
            string name = ManifestDocument.Scalar(container, "name") is { Length: > 0 } n ? n : throw document.Error($"{at}.name", "required");
            var ports = new List<ContainerPortSpec>();
            YamlSequenceNode? portNodes = Yaml.Sequence(document, container, "ports", $"{at}.ports");
            for (int p = 0; p < (portNodes?.Children.Count ?? 0); p++)
            {
                string portAt = $"{at}.ports[{p}]";
                var port = portNodes!.Children[p] as YamlMappingNode ?? throw document.Error(portAt, "expected a mapping");
                int number = Yaml.Port(document, port, "containerPort", $"{portAt}.containerPort") ?? throw document.Error($"{portAt}.containerPort", "required");
                string protocol = Protocol(document, port, $"{portAt}.protocol");
                ports.Add(new ContainerPortSpec(ManifestDocument.Scalar(port, "name") is { Length: > 0 } pn ? pn : null, number, protocol, p));
            }

            containers.Add(new ContainerSpec(name, c, ports));
        }

        return new Workload(document, kind, podPath, labels, annotations, containers);
    }

    /// <summary>protocol of a container or Service port: TCP (default), UDP or SCTP.</summary>
    internal static string Protocol(ManifestDocument document, YamlMappingNode port, string field) =>
        ManifestDocument.Scalar(port, "protocol") switch
        {
            null or "TCP" => "TCP",
            "UDP" => "UDP",
            "SCTP" => "SCTP",
            var other => throw document.Error(field, $"expected TCP, UDP or SCTP, found \"{other}\""),
        };
}
