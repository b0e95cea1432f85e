using System.Globalization;

namespace Switchyard.Kubernetes;

/// <summary>
/// Kubernetes manifests -> agent config v1 for one workload (switchyard generate). The steps, each in its own part:
/// pick the workload (this file), map Service ports onto container ports and give each an agent port
/// (<c>ConfigGenerator.Ports.cs</c>), then TLS from annotations and mirrord TLS configs (<c>ConfigGenerator.Tls.cs</c>).
/// </summary>
public static partial class ConfigGenerator
{
    /// <summary>Throws <see cref="KubeInputException"/> for bad input (exit 2).</summary>
    public static Generation Generate(IReadOnlyList<ManifestDocument> documents, GenerateOptions options)
    {
        InputScan input = options.Input ?? InputScan.Read(documents, "skipped");
        var tlsConfigs = documents.Where(MirrordTlsConfig.IsTlsConfig).Select(MirrordTlsConfig.Read).ToList();
        var warnings = options.ReportSkipped ? new List<string>(input.Warnings) : [];
        Workload workload = Pick(documents, input, options.Workload);
        List<PortPlan> ports = MapPorts(workload, input, options, warnings);
        TlsResult tls = ApplyTls(workload, ports, tlsConfigs, warnings);
        string json = ConfigJsonWriter.Write(workload, options, ports);
        return new Generation(workload.Document, json, ports.Select(p => p.Port).ToList(), tls.SecretNames, tls.TlsPaths, warnings);
    }

    /// <summary>The workload named by --workload (kubectl spelling), or the only one of the input.</summary>
    private static Workload Pick(IReadOnlyList<ManifestDocument> documents, InputScan scan, string? wanted)
    {
        IReadOnlyList<Workload> workloads = scan.Workloads;
        string input = documents.Count == 0 ? "input" : string.Join(", ", documents.Select(d => d.File).Distinct());
        string candidates = workloads.Count == 0 ? "none" : string.Join(", ", workloads.Select(Describe));
        if (wanted is null)
        {
            return workloads.Count switch
            {
                1 => workloads[0],
                0 => throw new KubeInputException(input, null, "kind", "no Deployment, StatefulSet, DaemonSet, ReplicaSet, Argo Rollout or Pod in the input"),
                _ => throw new KubeInputException(input, null, "--workload", $"the input holds {workloads.Count} workloads, name one with --workload KIND/NAME: {candidates}"),
            };
        }

        int slash = wanted.IndexOf('/', StringComparison.Ordinal);
        WorkloadKind? kind = slash > 0 ? WorkloadKind.FromAlias(wanted[..slash]) : null;
        string name = slash > 0 ? wanted[(slash + 1)..] : string.Empty;
        if (kind is null || name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
        {
            throw new KubeInputException(input, null, "--workload",
                $"expected KIND/NAME such as deploy/shop, sts/db, ds/agent, rs/web, rollout/web or pod/debug, found \"{wanted}\"");
        }

        var matches = workloads.Where(w => w.Kind == kind && w.Name == name).ToList();
        if (matches.Count == 0 && scan.ReferenceRollouts.FirstOrDefault(d => WorkloadKind.FromDocument(d) == kind && d.Name == name) is { } rollout)
        {
            throw rollout.Error("spec.workloadRef", Workload.TemplateReferenceReason(Workload.TemplateReference(rollout)!));
        }

        if (matches.Count == 0 && scan.Managed.FirstOrDefault(d => WorkloadKind.FromDocument(d) == kind && d.Name == name) is { } managed)
        {
            throw managed.Error("metadata.ownerReferences", InputScan.ManagedReason(managed));
        }

        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new KubeInputException(input, null, "--workload", $"no {kind.Kind} named \"{name}\" in the input (workloads: {candidates})"),
            _ => throw new KubeInputException(input, null, "--workload", $"{wanted} is ambiguous: {string.Join(", ", matches.Select(Describe))}"),
        };
    }

    private static string Describe(Workload w) =>
        $"{w.Display} (namespace {w.Namespace}, {w.Document.File}: document {w.Document.Index.ToString(CultureInfo.InvariantCulture)})";
}
