namespace Switchyard.Kubernetes;

/// <summary>Options of <c>switchyard generate</c> (and of the generation that <c>inject</c> runs per workload).</summary>
public sealed record GenerateOptions
{
    /// <summary>KIND/NAME as kubectl writes it (deployment/shop, deploy/shop, sts/db, pod/x); null = the only workload in the input.</summary>
    public string? Workload { get; init; }

    /// <summary>The first agent listen port; mapped container ports get BasePort, BasePort+1, ... in a stable order.</summary>
    public int BasePort { get; init; } = 9900;

    /// <summary>admin.listen written into the config.</summary>
    public string AdminListen { get; init; } = "127.0.0.1:9901";

    /// <summary>
    /// tunnel.listen written into the config: loopback, because `kubectl port-forward` reaches the pod's loopback and a
    /// tunnel open to the cluster network would let anyone there pose as a developer's data connection when no admin
    /// token is configured.
    /// </summary>
    public string TunnelListen { get; init; } = "127.0.0.1:9902";

    /// <summary>
    /// True: <see cref="Generation.Warnings"/> starts with a line for each object of the input skipped as unrelated
    /// (see <see cref="InputScan"/>). inject, which generates once per workload, reports those once itself.
    /// </summary>
    public bool ReportSkipped { get; init; } = true;

    /// <summary>
    /// The input already scanned (<see cref="InputScan.Read"/> of the same documents), null: scan it. inject scans once
    /// for all the workloads it generates for, so a large input is not read again per workload.
    /// </summary>
    public InputScan? Input { get; init; }
}

/// <summary>Where inject mounts the secret named by a <c>*-tls-secret.PORT</c> annotation (agent container only).</summary>
public static class SecretMounts
{
    public const string Root = "/var/run/switchyard/secrets";

    public static string PathFor(string secretName) => $"{Root}/{secretName}";
}

/// <summary>One container port that the agent now fronts.</summary>
/// <param name="ConfigName">ports[].name in the generated config (unique within it).</param>
/// <param name="Container">The app container that declares the port.</param>
/// <param name="ContainerPortName">The container port's name, null when unnamed.</param>
/// <param name="ContainerPort">The container port number (the app still listens there: ports[].app = 127.0.0.1:ContainerPort).</param>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="Listen">ports[].listen: the agent port that Services now reach.</param>
/// <param name="Services">The Service ports mapped onto this container port.</param>
public sealed record GeneratedPort(
    string ConfigName,
    string Container,
    string? ContainerPortName,
    int ContainerPort,
    string Protocol,
    int Listen,
    IReadOnlyList<ServicePortRef> Services);

/// <summary>A Service port mapped onto a container port; inject rewrites numeric targetPorts to the agent port.</summary>
/// <param name="Service">The Service document.</param>
/// <param name="PortIndex">Index in the Service's spec.ports.</param>
/// <param name="TargetPortIsName">True when targetPort names the container port (inject then moves the name to the agent).</param>
public sealed record ServicePortRef(ManifestDocument Service, int PortIndex, bool TargetPortIsName);

/// <summary>The result of generating a config for one workload: what generate prints and what inject needs.</summary>
/// <param name="Workload">The workload document (Deployment, StatefulSet, DaemonSet, ReplicaSet or Pod).</param>
/// <param name="ConfigJson">The config v1 JSON, stable key order, ending with a newline.</param>
/// <param name="Ports">The mapped ports, in listen order.</param>
/// <param name="SecretNames">Secrets named by *-tls-secret annotations, mounted into the agent at <see cref="SecretMounts.PathFor"/>.</param>
/// <param name="TlsPaths">What the agent reads from the app's filesystem (*-tls-path directories, the client-ca file's directory, the paths of
/// mirrord TLS configs); inject mounts the app volume holding each into the agent at the same path, and refuses the input when none does.</param>
/// <param name="Warnings">Non-fatal findings for stderr (e.g. a TLS annotation on a UDP port, a discarded duplicate TLS-config port).</param>
public sealed record Generation(
    ManifestDocument Workload,
    string ConfigJson,
    IReadOnlyList<GeneratedPort> Ports,
    IReadOnlyList<string> SecretNames,
    IReadOnlyList<TlsPath> TlsPaths,
    IReadOnlyList<string> Warnings);

/// <summary>
/// A directory of the app's filesystem that the agent reads certificates from, and the field of the input that names it
/// (an annotation of the workload, or a path in a mirrord TLS config), for the error when no volume of the pod holds it.
/// </summary>
/// <param name="Path">The directory: a *-tls-path annotation's, or the one holding a named file.</param>
/// <param name="Files">The files the agent opens there (a volume mounted at each file, with subPath, also does); empty when unknown.</param>
/// <param name="Source">The document naming it: the workload, or a MirrordTlsStealConfig.</param>
/// <param name="Field">The field naming it, e.g. <c>spec.template.metadata.annotations["telepresence.io/downstream-tls-path.8443"]</c>.</param>
/// <param name="Remedy">What the user can do instead, e.g. "mount a volume holding it into the app container at /etc/certs, or ...".</param>
public sealed record TlsPath(string Path, IReadOnlyList<string> Files, ManifestDocument Source, string Field, string Remedy);
