using System.Runtime.CompilerServices;
using Switchyard.Kubernetes;

namespace Switchyard.Tests.Kubernetes.Inject;

/// <summary>The checked-in manifests under Kubernetes/Fixtures/inject, read from the source tree.</summary>
public static class InjectFixtures
{
    public static readonly string[] All = ["shop-named-ports.yaml", "dns-udp-numeric.yaml", "api-tls-annotations.yaml", "grpc-pod-list.yaml"];

    public static string Directory { get; } = Locate();

    public static string PathOf(string name) => Path.Combine(Directory, name);

    public static string Text(string name) => File.ReadAllText(PathOf(name));

    public static InjectResult InjectText(string text, InjectOptions? options = null) =>
        ManifestInjector.Inject(ManifestReader.Read("input.yaml", text), options ?? new InjectOptions { Generate = HandGenerator.Generate });

    public static InjectResult Inject(string name, InjectOptions? options = null) => InjectText(Text(name), options);

    private static string Locate([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "Fixtures", "inject"));
}
