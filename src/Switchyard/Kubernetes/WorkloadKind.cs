namespace Switchyard.Kubernetes;

/// <summary>A workload kind that generate can front, with the spellings kubectl accepts for it.</summary>
/// <param name="Kind">The manifest kind (Deployment).</param>
/// <param name="Aliases">Resource names as kubectl and mirrord target paths write them, short form first (deploy, deployment, deployments).</param>
/// <param name="HasTemplate">True when the pod is spec.template (controllers), false for a Pod itself.</param>
/// <param name="ApiGroup">The API group the kind must come from (argoproj.io for Rollout); null: the kind alone decides (built-in kinds).</param>
public sealed record WorkloadKind(string Kind, IReadOnlyList<string> Aliases, bool HasTemplate, string? ApiGroup = null)
{
    public const string RolloutKind = "Rollout";

    public static readonly IReadOnlyList<WorkloadKind> All =
    [
        new("Deployment", ["deploy", "deployment", "deployments"], true),
        new("StatefulSet", ["sts", "statefulset", "statefulsets"], true),
        new("DaemonSet", ["ds", "daemonset", "daemonsets"], true),
        new("ReplicaSet", ["rs", "replicaset", "replicasets"], true),
        new("Pod", ["pod", "pods", "po"], false),

        // Argo Rollouts (argoproj.io/v1alpha1): a Deployment-like controller whose pod is spec.template too.
        new(RolloutKind, ["rollout", "rollouts", "ro"], true, "argoproj.io"),
    ];

    /// <summary>The short spelling used in messages (deploy/shop).</summary>
    public string Short => Aliases[0];

    /// <summary>The kind of a document, or null when it is no workload kind (a Rollout only from the argoproj.io group).</summary>
    public static WorkloadKind? FromDocument(ManifestDocument document) =>
        All.FirstOrDefault(k => k.Kind == document.Kind &&
                                (k.ApiGroup is null || document.ApiVersion.StartsWith(k.ApiGroup + "/", StringComparison.Ordinal)));

    /// <summary>kubectl spelling, case-insensitive (deploy, Deployment, deployments, sts, po ...).</summary>
    public static WorkloadKind? FromAlias(string alias) =>
        All.FirstOrDefault(k => k.Kind.Equals(alias, StringComparison.OrdinalIgnoreCase) ||
                                k.Aliases.Any(a => a.Equals(alias, StringComparison.OrdinalIgnoreCase)));
}
