using System.Globalization;

namespace Switchyard.Kubernetes;

/// <summary>
/// The whole input as generate and inject see it: the workloads, the Services, and one warning line for each object
/// that concerns no workload (input is whatever <c>kubectl get ... -o yaml</c> or a chart renders, so such objects are
/// skipped, never an error): a Service that selects no workload of the input, an Argo Rollout whose pod template is
/// another workload's (<c>spec.workloadRef</c>), and a kind that is neither a workload nor a Service.
/// </summary>
public sealed class InputScan
{
    private InputScan(List<Workload> workloads, List<ServiceSpec> services, List<ManifestDocument> referenceRollouts, List<string> warnings)
    {
        Workloads = workloads;
        Services = services;
        ReferenceRollouts = referenceRollouts;
        Warnings = warnings;
    }

    /// <summary>Every workload with a pod template of its own, in input order.</summary>
    public IReadOnlyList<Workload> Workloads { get; }

    /// <summary>Every Service, in input order (those that select nothing simply never match).</summary>
    public IReadOnlyList<ServiceSpec> Services { get; }

    /// <summary>Argo Rollouts with <c>spec.workloadRef</c> instead of <c>spec.template</c>: no agent of their own.</summary>
    public IReadOnlyList<ManifestDocument> ReferenceRollouts { get; }

    /// <summary>One line per skipped object, in input order, ending with <c>what</c> was done with it.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Throws <see cref="KubeInputException"/> for a malformed workload or Service.</summary>
    /// <param name="documents">The input.</param>
    /// <param name="skipped">What happens to a skipped object, for the warnings: "skipped" (generate), "passed through unchanged" (inject).</param>
    public static InputScan Read(IReadOnlyList<ManifestDocument> documents, string skipped)
    {
        var workloads = new List<Workload>();
        var services = new List<ServiceSpec>();
        var references = new List<ManifestDocument>();
        foreach (ManifestDocument document in documents)
        {
            if (Workload.IsWorkload(document))
            {
                if (Workload.TemplateReference(document) is null)
                {
                    workloads.Add(Workload.Read(document));
                }
                else
                {
                    references.Add(document);
                }
            }
            else if (document.Kind == "Service")
            {
                services.Add(ServiceSpec.Read(document));
            }
        }

        var warnings = new List<string>();
        foreach (ManifestDocument document in documents)
        {
            string at = $"{document.File}: document {document.Index.ToString(CultureInfo.InvariantCulture)}: {Display(document)}";
            if (Workload.TemplateReference(document) is { } reference)
            {
                warnings.Add($"{at}: spec.workloadRef: {Workload.TemplateReferenceReason(reference)}; {skipped}");
            }
            else if (services.FirstOrDefault(s => ReferenceEquals(s.Document, document)) is { } service)
            {
                if (service.Selector is null)
                {
                    warnings.Add($"{at}: no spec.selector (its endpoints are managed by hand); {skipped}");
                }
                else if (!workloads.Any(service.Selects))
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

        return new InputScan(workloads, services, references, warnings);
    }

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
         ManifestDocument.Scalar(ManifestDocument.Child(document.Metadata, "labels") as YamlDotNet.RepresentationModel.YamlMappingNode, ManifestInjector.ManagedByLabel) == "switchyard");
}
