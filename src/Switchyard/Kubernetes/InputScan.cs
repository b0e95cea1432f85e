using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>
/// The whole input as generate and inject see it: the workloads, the Services, and one warning line for each object
/// that concerns no workload (input is whatever <c>kubectl get ... -o yaml</c> or a chart renders, so such objects are
/// skipped, never an error): a Service that selects no workload of the input, an Argo Rollout whose pod template is
/// another workload's (<c>spec.workloadRef</c>), a workload managed by a controller (a ReplicaSet of a Deployment, the
/// Pods of a ReplicaSet, as <c>kubectl get all</c> lists them: its owner is what to change), and a kind that is neither
/// a workload nor a Service.
/// </summary>
public sealed class InputScan
{
    private readonly Dictionary<ServiceSpec, List<Workload>> selectedBy = [];
    private readonly Dictionary<Workload, List<ServiceSpec>> selecting = [];
    private readonly HashSet<ManifestDocument> skippedWorkloads;
    private readonly Dictionary<ManifestDocument, Workload> workloadOf;

    private InputScan(List<Workload> workloads, List<ServiceSpec> services, List<ManifestDocument> referenceRollouts, List<ManifestDocument> managed)
    {
        Workloads = workloads;
        Services = services;
        ReferenceRollouts = referenceRollouts;
        Managed = managed;
        skippedWorkloads = [.. referenceRollouts, .. managed];
        workloadOf = workloads.ToDictionary(w => w.Document);

        // Who selects whom, once: generate and inject ask it for every workload (inject once per workload).
        foreach (Workload workload in workloads)
        {
            selecting[workload] = [];
        }

        foreach (ServiceSpec service in services)
        {
            List<Workload> selected = workloads.Where(service.Selects).ToList();
            selectedBy[service] = selected;
            foreach (Workload workload in selected)
            {
                selecting[workload].Add(service);
            }
        }
    }

    /// <summary>Every workload with a pod template of its own, in input order.</summary>
    public IReadOnlyList<Workload> Workloads { get; }

    /// <summary>Every Service, in input order (those that select nothing simply never match).</summary>
    public IReadOnlyList<ServiceSpec> Services { get; }

    /// <summary>Argo Rollouts with <c>spec.workloadRef</c> instead of <c>spec.template</c>: no agent of their own.</summary>
    public IReadOnlyList<ManifestDocument> ReferenceRollouts { get; }

    /// <summary>Workloads with a controller (<c>metadata.ownerReferences[].controller: true</c>): no agent of their own.</summary>
    public IReadOnlyList<ManifestDocument> Managed { get; }

    /// <summary>True for a workload that gets no agent of its own although it is one (<see cref="ReferenceRollouts"/>, <see cref="Managed"/>).</summary>
    public bool IsSkipped(ManifestDocument workload) => skippedWorkloads.Contains(workload);

    /// <summary>One line per skipped object, in input order, ending with what was done with it (the <c>skipped</c> argument of <see cref="Read"/>).</summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    /// <summary>The workload read from a document of the input; null for other documents and skipped workloads.</summary>
    public Workload? WorkloadOf(ManifestDocument document) => workloadOf.GetValueOrDefault(document);

    /// <summary>The Services selecting a workload of <see cref="Workloads"/>, in input order.</summary>
    public IReadOnlyList<ServiceSpec> Selecting(Workload workload) => selecting[workload];

    /// <summary>The workloads a Service of <see cref="Services"/> selects, in input order.</summary>
    public IReadOnlyList<Workload> SelectedBy(ServiceSpec service) => selectedBy[service];

    /// <summary>Agent ports already allocated, per (base port, admin port, tunnel port): see ConfigGenerator.Allocate.</summary>
    internal Dictionary<(int BasePort, int Admin, int Tunnel), Dictionary<ContainerPortSpec, int>> ListenPorts { get; } = [];

    /// <summary>Throws <see cref="KubeInputException"/> for a malformed workload or Service.</summary>
    /// <param name="documents">The input.</param>
    /// <param name="skipped">What happens to a skipped object, for the warnings: "skipped" (generate), "passed through unchanged" (inject).</param>
    public static InputScan Read(IReadOnlyList<ManifestDocument> documents, string skipped)
    {
        var workloads = new List<Workload>();
        var services = new List<ServiceSpec>();
        var references = new List<ManifestDocument>();
        var managed = new List<ManifestDocument>();
        foreach (ManifestDocument document in documents)
        {
            if (Workload.IsWorkload(document))
            {
                if (Workload.TemplateReference(document) is not null)
                {
                    references.Add(document);
                }
                else if (Controller(document) is not null)
                {
                    managed.Add(document);
                }
                else
                {
                    workloads.Add(Workload.Read(document));
                }
            }
            else if (document.Kind == "Service")
            {
                services.Add(ServiceSpec.Read(document));
            }
        }

        var scan = new InputScan(workloads, services, references, managed);
        var serviceOf = services.ToDictionary(s => s.Document);
        var warnings = new List<string>();
        foreach (ManifestDocument document in documents)
        {
            string at = $"{document.File}: document {document.Index.ToString(CultureInfo.InvariantCulture)}: {Display(document)}";
            if (Workload.TemplateReference(document) is { } reference)
            {
                warnings.Add($"{at}: spec.workloadRef: {Workload.TemplateReferenceReason(reference)}; {skipped}");
            }
            else if (scan.IsSkipped(document))
            {
                warnings.Add($"{at}: metadata.ownerReferences: {ManagedReason(document)}; {skipped}");
            }
            else if (serviceOf.TryGetValue(document, out ServiceSpec? service))
            {
                if (service.Selector is null)
                {
                    warnings.Add($"{at}: no spec.selector (its endpoints are managed by hand); {skipped}");
                }
                else if (scan.SelectedBy(service).Count == 0)
                {
                    string selector = string.Join(",", service.Selector.Select(p => $"{p.Key}={p.Value}"));
                    warnings.Add($"{at}: spec.selector {selector} selects no workload in namespace {document.Namespace} of the input; {skipped}");
                }
            }
            else if (!Workload.IsWorkload(document) && !IsReadElsewhere(document))
            {
                warnings.Add($"{at}: neither a workload nor a Service; {skipped}");
            }
        }

        scan.Warnings = warnings;
        return scan;
    }

    /// <summary>The controller of a workload as kubectl spells it (replicaset/web-5d4f8), from <c>metadata.ownerReferences</c>; null when none.</summary>
    public static string? Controller(ManifestDocument document)
    {
        if (ManifestDocument.Child(document.Metadata, "ownerReferences") is not YamlSequenceNode owners)
        {
            return null;
        }

        foreach (YamlMappingNode owner in owners.Children.OfType<YamlMappingNode>())
        {
            if (ManifestDocument.Scalar(owner, "controller") == "true")
            {
                string kind = ManifestDocument.Scalar(owner, "kind") ?? "owner";
                return $"{WorkloadKind.FromAlias(kind)?.Short ?? kind.ToLowerInvariant()}/{ManifestDocument.Scalar(owner, "name")}";
            }
        }

        return null;
    }

    /// <summary>Why a managed workload gets no agent of its own (the same words for generate and inject).</summary>
    public static string ManagedReason(ManifestDocument document) =>
        $"managed by {Controller(document)}, which would undo or replace a change made here: generate for and inject {Controller(document)} (or its own controller) instead";

    /// <summary>kubectl spelling of any object for messages: deploy/shop, service/shop, configmap/settings.</summary>
    public static string Display(ManifestDocument document)
    {
        string kind = WorkloadKind.FromDocument(document)?.Short ?? (document.Kind.Length == 0 ? "(no kind)" : document.Kind.ToLowerInvariant());
        return $"{kind}/{document.Name}";
    }

    /// <summary>Objects that are neither workloads nor Services but are read all the same: mirrord TLS configs, and the ConfigMaps inject wrote (it replaces them).</summary>
    private static bool IsReadElsewhere(ManifestDocument document) =>
        document.Kind is MirrordTlsConfig.NamespacedKind or MirrordTlsConfig.ClusterKind ||
        (document.Kind == "ConfigMap" &&
         ManifestDocument.Scalar(ManifestDocument.Child(document.Metadata, "labels") as YamlMappingNode, ManifestInjector.ManagedByLabel) == "switchyard");
}
