using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>One entry of a Service's spec.ports.</summary>
/// <param name="Index">Position in spec.ports.</param>
/// <param name="TargetNumber">targetPort as a number (also the port itself when targetPort is absent).</param>
/// <param name="TargetName">targetPort as a container port name; null when numeric.</param>
/// <param name="HasTargetPort">False when targetPort is absent (the port number is the target).</param>
public sealed record ServicePortSpec(int Index, string? Name, int Port, int? TargetNumber, string? TargetName, string Protocol, string? AppProtocol, bool HasTargetPort);

/// <summary>A Service read down to its selector and ports. A Service without a selector (or with an empty one) selects no pods.</summary>
public sealed class ServiceSpec
{
    private ServiceSpec(ManifestDocument document, IReadOnlyDictionary<string, string>? selector, IReadOnlyList<ServicePortSpec> ports)
    {
        Document = document;
        Selector = selector;
        Ports = ports;
    }

    public ManifestDocument Document { get; }

    /// <summary>spec.selector; null when absent or empty (such a Service selects nothing: endpoints are managed by hand).</summary>
    public IReadOnlyDictionary<string, string>? Selector { get; }

    public IReadOnlyList<ServicePortSpec> Ports { get; }

    /// <summary>
    /// The label the Argo Rollouts controller adds to the selector of a Rollout's stable/canary/active/preview Services,
    /// naming one ReplicaSet of the Rollout; it is never in the Rollout's pod template, so a Service read from a live
    /// cluster would otherwise select nothing.
    /// </summary>
    public const string RolloutsPodTemplateHash = "rollouts-pod-template-hash";

    /// <summary>
    /// Same namespace and every selector pair present in the pod's labels (for a Rollout, <see cref="RolloutsPodTemplateHash"/>
    /// is one of its own ReplicaSets: it selects the Rollout).
    /// </summary>
    public bool Selects(Workload workload) =>
        Selector is not null && Document.Namespace == workload.Namespace &&
        Selector.All(pair => (workload.Labels.TryGetValue(pair.Key, out string? v) && v == pair.Value) ||
                             (pair.Key == RolloutsPodTemplateHash && workload.Kind.Kind == WorkloadKind.RolloutKind));

    public static ServiceSpec Read(ManifestDocument document)
    {
        YamlMappingNode? spec = Yaml.Map(document, document.Root, "spec", "spec");
        var selector = Yaml.StringMap(document, ManifestDocument.Child(spec, "selector"), "spec.selector");
        var ports = new List<ServicePortSpec>();
        YamlSequenceNode? portNodes = Yaml.Sequence(document, spec, "ports", "spec.ports");
        for (int i = 0; i < (portNodes?.Children.Count ?? 0); i++)
        {
            string at = $"spec.ports[{i}]";
            var port = portNodes!.Children[i] as YamlMappingNode ?? throw document.Error(at, "expected a mapping");
            int number = Yaml.Port(document, port, "port", $"{at}.port") ?? throw document.Error($"{at}.port", "required");
            (int? targetNumber, string? targetName) = ManifestDocument.Child(port, "targetPort") switch
            {
                null => (number, null),
                YamlScalarNode { Value: { Length: > 0 } text } when char.IsAsciiDigit(text[0]) =>
                    (Yaml.Port(document, port, "targetPort", $"{at}.targetPort"), (string?)null),
                YamlScalarNode { Value: { Length: > 0 } text } => ((int?)null, text),
                _ => throw document.Error($"{at}.targetPort", "expected a port number or a container port name"),
            };
            ports.Add(new ServicePortSpec(i, ManifestDocument.Scalar(port, "name"), number, targetNumber, targetName,
                Workload.Protocol(document, port, $"{at}.protocol"), ManifestDocument.Scalar(port, "appProtocol"),
                ManifestDocument.Child(port, "targetPort") is not null));
        }

        return new ServiceSpec(document, selector.Count == 0 ? null : selector, ports);
    }

    public override string ToString() => $"Service {Document.Name} ({Document.File}: document {Document.Index.ToString(CultureInfo.InvariantCulture)})";
}
