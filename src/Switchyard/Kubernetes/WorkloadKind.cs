namespace Switchyard.Kubernetes;

/// <summary>A workload kind that generate can front, with the spellings kubectl accepts for it.</summary>
/// <param name="Kind">The manifest kind (Deployment).</param>
/// <param name="Aliases">Resource names as kubectl and mirrord target paths write them, short form first (deploy, deployment, deployments).</param>
/// <param name="HasTemplate">True when the pod is spec.template (controllers), false for a Pod itself.</param>
public sealed record WorkloadKind(string Kind, IReadOnlyList<string> Aliases, bool HasTemplate)
{
    public static readonly IReadOnlyList<WorkloadKind> All =
    [
        new("Deployment", ["deploy", "deployment", "deployments"], true),
        new("StatefulSet", ["sts", "statefulset", "statefulsets"], true),
        new("DaemonSet", ["ds", "daemonset", "daemonsets"], true),
        new("ReplicaSet", ["rs", "replicaset", "replicasets"], true),
        new("Pod", ["pod", "pods", "po"], false),
    ];

    /// <summary>The short spelling used in messages (deploy/shop).</summary>
    public string Short => Aliases[0];

    public static WorkloadKind? FromManifestKind(string kind) => All.FirstOrDefault(k => k.Kind == kind);

    /// <summary>kubectl spelling, case-insensitive (deploy, Deployment, deployments, sts, po ...).</summary>
    public static WorkloadKind? FromAlias(string alias) =>
        All.FirstOrDefault(k => k.Kind.Equals(alias, StringComparison.OrdinalIgnoreCase) ||
                                k.Aliases.Any(a => a.Equals(alias, StringComparison.OrdinalIgnoreCase)));
}
