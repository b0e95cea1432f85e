namespace Switchyard.Kubernetes;

/// <summary>
/// Bad Kubernetes input for generate/inject: exit 2 with one line naming the file, the document index and the field,
/// e.g. <c>app.yaml: document 2: metadata.annotations["telepresence.io/downstream-tls-path.8443"]: no container port 8443</c>.
/// </summary>
public sealed class KubeInputException(string file, int? documentIndex, string field, string reason)
    : Exception(Format(file, documentIndex, field, reason))
{
    public string File { get; } = file;

    /// <summary>Zero-based index of the YAML document in its file; null when the error is about the input as a whole.</summary>
    public int? DocumentIndex { get; } = documentIndex;

    public string Field { get; } = field;

    public string Reason { get; } = reason;

    private static string Format(string file, int? index, string field, string reason) =>
        index is int i ? $"{file}: document {i}: {field}: {reason}" : $"{file}: {field}: {reason}";
}
