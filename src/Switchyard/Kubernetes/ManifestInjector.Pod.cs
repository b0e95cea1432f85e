using YamlDotNet.RepresentationModel;
using static Switchyard.Kubernetes.InjectYaml;

namespace Switchyard.Kubernetes;

/// <summary>The pod-template edits: the agent container, its volumes, and the port names it takes over from the app.</summary>
public static partial class ManifestInjector
{
    public const string ConfigVolumeName = "switchyard-config";
    public const string ConfigMountPath = "/etc/switchyard";
    public const string BinaryPath = "/usr/local/bin/switchyard";

    /// <summary>The agent drains for 25 s by default, after a 5 s preStop sleep: the pod must be given at least that long.</summary>
    public const int MinTerminationGracePeriodSeconds = 35;

    private static readonly string[] ProbeKeys = ["readinessProbe", "livenessProbe", "startupProbe"];

    private static void InjectWorkload(Generation generation, string image, List<string> warnings)
    {
        ManifestDocument workload = generation.Workload;
        (YamlMappingNode? metadata, YamlMappingNode? spec) = PodTemplate(workload);
        string where = workload.Kind == "Pod" ? "spec" : "spec.template.spec";
        if (spec is null || GetSeq(spec, "containers") is not { } containers)
        {
            throw workload.Error($"{where}.containers", "missing: not a pod template");
        }

        YamlSequenceNode agentPorts = MoveNamedPorts(workload, containers, generation.Ports);

        YamlSequenceNode volumes = GetOrAddSeq(spec, "volumes");
        var volumeNames = new HashSet<string>(Maps(volumes).Select(v => Scalar(v, "name") ?? string.Empty), StringComparer.Ordinal);
        var mounts = new YamlSequenceNode();

        string configVolume = InjectNames.VolumeName(ConfigVolumeName, string.Empty, volumeNames);
        volumeNames.Add(configVolume);
        volumes.Add(Map(("name", Str(configVolume)), ("configMap", Map(("name", Str(ConfigMapName(workload)))))));
        mounts.Add(Mount(configVolume, ConfigMountPath, subPath: null));

        foreach (string secret in generation.SecretNames)
        {
            string volume = InjectNames.VolumeName("sy-secret-", secret, volumeNames);
            volumeNames.Add(volume);
            volumes.Add(Map(("name", Str(volume)), ("secret", Map(("secretName", Str(secret))))));
            mounts.Add(Mount(volume, SecretMounts.PathFor(secret), subPath: null));
        }

        MountTlsPaths(workload, containers, generation.TlsPaths, mounts);

        containers.Add(AgentContainer(image, agentPorts, mounts));

        int grace = int.TryParse(Scalar(spec, "terminationGracePeriodSeconds"), out int g) ? g : 30;
        if (grace < MinTerminationGracePeriodSeconds)
        {
            Set(spec, "terminationGracePeriodSeconds", Int(MinTerminationGracePeriodSeconds));
        }

        YamlMappingNode podMetadata = metadata ?? AddTemplateMetadata(workload);
        Set(GetOrAddMap(podMetadata, "annotations"), InjectedAnnotation, Quoted(Program.Version));
    }

    private static YamlMappingNode AddTemplateMetadata(ManifestDocument workload)
    {
        YamlMappingNode holder = workload.Kind == "Pod" ? workload.Root : GetMap(GetMap(workload.Root, "spec"), "template")!;
        return GetOrAddMap(holder, "metadata");
    }

    /// <summary>
    /// Renames each fronted named app port (app-NAME or a shortened unique name), rewrites the app's probes and hooks
    /// that used the old name, and returns the agent's ports: the original names at the agent's listen ports.
    /// </summary>
    private static YamlSequenceNode MoveNamedPorts(ManifestDocument workload, YamlSequenceNode containers, IReadOnlyList<GeneratedPort> ports)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (YamlMappingNode container in Maps(containers))
        {
            foreach (YamlMappingNode port in Maps(GetSeq(container, "ports")))
            {
                if (Scalar(port, "name") is { } name)
                {
                    taken.Add(name);
                }
            }
        }

        var agentPorts = new YamlSequenceNode();
        var renamed = new Dictionary<(string Container, string Name), string>();
        foreach (GeneratedPort generated in ports)
        {
            YamlMappingNode entry = Map();
            if (generated.ContainerPortName is { } original)
            {
                if (!renamed.ContainsKey((generated.Container, original)))
                {
                    YamlMappingNode container = Maps(containers).FirstOrDefault(c => Scalar(c, "name") == generated.Container)
                        ?? throw workload.Error("containers", $"no container named \"{generated.Container}\"");
                    YamlMappingNode appPort = Maps(GetSeq(container, "ports")).FirstOrDefault(p => Scalar(p, "name") == original)
                        ?? throw workload.Error($"containers[\"{generated.Container}\"].ports", $"no port named \"{original}\"");
                    string moved = InjectNames.AppPortName(original, taken);
                    taken.Add(moved);
                    Set(appPort, "name", Str(moved));
                    RenamePortReferences(container, original, moved);
                    renamed[(generated.Container, original)] = moved;
                }

                if (agentPorts.Children.OfType<YamlMappingNode>().Any(p => Scalar(p, "name") == original))
                {
                    continue; // the same named port fronted for two Services: one agent port
                }

                Set(entry, "name", Str(original));
            }

            Set(entry, "containerPort", Int(generated.Listen));
            Set(entry, "protocol", Str(generated.Protocol));
            agentPorts.Add(entry);
        }

        return agentPorts;
    }

    /// <summary>Probes and lifecycle hooks name the container's own ports: keep them pointed at the app under its new name.</summary>
    private static void RenamePortReferences(YamlMappingNode container, string from, string to)
    {
        IEnumerable<YamlMappingNode?> handlers = ProbeKeys.Select(k => GetMap(container, k))
            .Concat([GetMap(GetMap(container, "lifecycle"), "postStart"), GetMap(GetMap(container, "lifecycle"), "preStop")]);
        foreach (YamlMappingNode? handler in handlers)
        {
            foreach (string action in (string[])["httpGet", "tcpSocket", "grpc"])
            {
                if (GetMap(handler, action) is { } target && Scalar(target, "port") == from)
                {
                    Set(target, "port", Str(to));
                }
            }
        }
    }

    /// <summary>
    /// Each directory the agent reads certificates from (<see cref="Generation.TlsPaths"/>): mount the app volume that
    /// holds it into the agent at the same path (same subPath), read-only; a volume mounted at each of its files will do
    /// too. When no volume of the pod holds it, the input is refused, naming the field: the files are baked into the app
    /// image or absent, the agent would exit 2 at start, and the pod would never become Ready while its Services route
    /// through it.
    /// </summary>
    private static void MountTlsPaths(ManifestDocument workload, YamlSequenceNode containers, IReadOnlyList<TlsPath> paths, YamlSequenceNode mounts)
    {
        List<YamlMappingNode> appMounts = Maps(containers)
            .Where(c => Scalar(c, "name") != AgentContainerName)
            .SelectMany(c => Maps(GetSeq(c, "volumeMounts")))
            .Where(m => Scalar(m, "name") is not null && Scalar(m, "mountPath") is not null)
            .ToList();
        foreach (TlsPath path in paths)
        {
            if (Holder(Maps(mounts), path.Path) is not null)
            {
                continue; // already the agent's: a Secret mounted for a *-tls-secret annotation
            }

            List<YamlMappingNode>? holders = Holder(appMounts, path.Path) is { } holder ? [holder]
                : path.Files.Count > 0 && path.Files.All(f => Holder(appMounts, f) is not null) ? path.Files.Select(f => Holder(appMounts, f)!).ToList()
                : null;
            if (holders is null)
            {
                string named = path.Files.Count == 1 ? path.Files[0] : path.Path;
                throw path.Source.Error(path.Field,
                    $"{named}: no volume of {Describe(workload)} is mounted there or above, and files baked into the app image are not "
                    + $"visible to the agent (it would exit 2 at start and the pod would never become Ready): {path.Remedy}");
            }

            foreach (YamlMappingNode mount in holders)
            {
                string mountAt = Scalar(mount, "mountPath")!;
                if (!Maps(mounts).Any(m => Scalar(m, "mountPath") == mountAt))
                {
                    mounts.Add(Mount(Scalar(mount, "name")!, mountAt, Scalar(mount, "subPath")));
                }
            }
        }
    }

    /// <summary>The mount at or above <paramref name="path"/> with the longest mountPath, null when none holds it.</summary>
    private static YamlMappingNode? Holder(IEnumerable<YamlMappingNode> mounts, string path)
    {
        string target = path.TrimEnd('/');
        YamlMappingNode? best = null;
        int bestLength = -1;
        foreach (YamlMappingNode mount in mounts)
        {
            string mountPath = (Scalar(mount, "mountPath") ?? string.Empty).TrimEnd('/');
            bool holds = target == mountPath || target.StartsWith(mountPath + "/", StringComparison.Ordinal);
            if (holds && mountPath.Length > bestLength)
            {
                best = mount;
                bestLength = mountPath.Length;
            }
        }

        return best;
    }

    private static YamlMappingNode Mount(string volume, string mountPath, string? subPath)
    {
        YamlMappingNode mount = Map(("name", Str(volume)), ("mountPath", Str(mountPath)));
        if (subPath is not null)
        {
            Set(mount, "subPath", Str(subPath));
        }

        Set(mount, "readOnly", Bool(true));
        return mount;
    }

    private static YamlMappingNode AgentContainer(string image, YamlSequenceNode ports, YamlSequenceNode mounts)
    {
        YamlMappingNode container = Map(
            ("name", Str(AgentContainerName)),
            ("image", Str(image)),
            ("args", Strings("agent", "--config", $"{ConfigMountPath}/config.json")));
        if (ports.Children.Count > 0)
        {
            Set(container, "ports", ports);
        }

        Set(container, "resources", Map(
            ("requests", Map(("cpu", Str("50m")), ("memory", Str("64Mi")))),
            ("limits", Map(("memory", Str("256Mi"))))));
        Set(container, "volumeMounts", mounts);
        Set(container, "readinessProbe", Map(("exec", Map(("command", Strings(BinaryPath, "probe", "ready")))), ("periodSeconds", Int(5))));
        Set(container, "livenessProbe", Map(("exec", Map(("command", Strings(BinaryPath, "probe", "live")))), ("periodSeconds", Int(10))));

        // Kubernetes >= 1.30 sleep action: endpoints deregister before SIGTERM starts the agent's drain.
        Set(container, "lifecycle", Map(("preStop", Map(("sleep", Map(("seconds", Int(5))))))));
        Set(container, "securityContext", Map(
            ("readOnlyRootFilesystem", Bool(true)),
            ("runAsNonRoot", Bool(true)),
            ("runAsUser", Int(1654)),
            ("allowPrivilegeEscalation", Bool(false)),
            ("capabilities", Map(("drop", Strings("ALL"))))));
        return container;
    }
}
