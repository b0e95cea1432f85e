namespace Switchyard.Kubernetes;

/// <summary>Kubernetes manifests -> agent config v1 for one workload (switchyard generate).</summary>
public static class ConfigGenerator
{
    /// <summary>Throws <see cref="KubeInputException"/> for bad input (exit 2).</summary>
    public static Generation Generate(IReadOnlyList<ManifestDocument> documents, GenerateOptions options) =>
        throw new NotImplementedException("switchyard generate is being built");
}
