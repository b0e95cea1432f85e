using System.Globalization;
using Switchyard.Kubernetes;
using YamlDotNet.RepresentationModel;
using static Switchyard.Kubernetes.InjectYaml;

namespace Switchyard.Tests.Kubernetes.Inject;

/// <summary>
/// What the API server's validation (and `kubectl apply --dry-run=client`) would refuse, checked structurally since no
/// cluster is at hand: required fields, unique and well-formed names, mounts of existing volumes, probes naming ports of
/// their own container, and Services whose target ports reach the agent of an injected pod.
/// </summary>
public static class ManifestValidity
{
    public static List<string> Problems(string yaml)
    {
        var problems = new List<string>();
        List<ManifestDocument> documents = ManifestReader.Read("output", yaml);
        foreach (ManifestDocument document in documents)
        {
            string at = $"{document.Kind}/{document.Name}";
            if (document.ApiVersion.Length == 0 || document.Kind.Length == 0 || document.Name.Length == 0)
            {
                problems.Add($"document {document.Index}: apiVersion, kind and metadata.name are required");
            }

            if (ManifestInjector.IsWorkload(document))
            {
                CheckPod(at, ManifestInjector.PodTemplate(document).Spec, documents, document.Namespace, problems);
            }
            else if (document.Kind == "Service")
            {
                CheckService(at, document, documents, problems);
            }
        }

        return problems;
    }

    private static void CheckPod(string at, YamlMappingNode? spec, List<ManifestDocument> documents, string ns, List<string> problems)
    {
        List<YamlMappingNode> containers = Maps(GetSeq(spec, "containers")).ToList();
        if (containers.Count == 0)
        {
            problems.Add($"{at}: no containers");
        }

        Unique(at, "container name", containers.Select(c => Scalar(c, "name") ?? string.Empty), problems);
        List<YamlMappingNode> ports = containers.SelectMany(c => Maps(GetSeq(c, "ports"))).ToList();
        List<string> portNames = ports.Select(p => Scalar(p, "name")).OfType<string>().ToList();
        Unique(at, "port name", portNames, problems);
        problems.AddRange(portNames.Where(n => !InjectNames.IsValidPortName(n)).Select(n => $"{at}: port name \"{n}\" is not an IANA_SVC_NAME"));
        Unique(at, "containerPort/protocol", ports.Select(p => $"{Scalar(p, "containerPort")}/{Scalar(p, "protocol") ?? "TCP"}"), problems);

        List<YamlMappingNode> volumes = Maps(GetSeq(spec, "volumes")).ToList();
        List<string> volumeNames = volumes.Select(v => Scalar(v, "name") ?? string.Empty).ToList();
        Unique(at, "volume name", volumeNames, problems);
        problems.AddRange(volumeNames.Where(n => !InjectNames.IsDns1123Label(n)).Select(n => $"{at}: volume name \"{n}\" is not a DNS-1123 label"));
        foreach (YamlMappingNode volume in volumes)
        {
            if (GetMap(volume, "configMap") is { } configMap && Scalar(configMap, "name") is { } cm && cm.EndsWith("-switchyard", StringComparison.Ordinal)
                && !documents.Any(d => d.Kind == "ConfigMap" && d.Name == cm && d.Namespace == ns))
            {
                problems.Add($"{at}: volume {Scalar(volume, "name")}: ConfigMap {cm} is not in the output");
            }
        }

        foreach (YamlMappingNode container in containers)
        {
            string name = Scalar(container, "name") ?? "?";
            var mountPaths = new List<string>();
            foreach (YamlMappingNode mount in Maps(GetSeq(container, "volumeMounts")))
            {
                mountPaths.Add(Scalar(mount, "mountPath") ?? string.Empty);
                if (!volumeNames.Contains(Scalar(mount, "name") ?? string.Empty))
                {
                    problems.Add($"{at}: container {name}: volumeMount {Scalar(mount, "name")} names no volume");
                }
            }

            Unique($"{at}: container {name}", "mountPath", mountPaths, problems);
            var own = Maps(GetSeq(container, "ports")).Select(p => Scalar(p, "name")).OfType<string>().ToHashSet();
            foreach (string key in (string[])["readinessProbe", "livenessProbe", "startupProbe"])
            {
                foreach (string action in (string[])["httpGet", "tcpSocket"])
                {
                    if (Scalar(GetMap(GetMap(container, key), action), "port") is { } port
                        && !int.TryParse(port, CultureInfo.InvariantCulture, out _) && !own.Contains(port))
                    {
                        problems.Add($"{at}: container {name}: {key}.{action}.port \"{port}\" names no port of the container");
                    }
                }
            }
        }
    }

    private static void CheckService(string at, ManifestDocument service, List<ManifestDocument> documents, List<string> problems)
    {
        foreach (ManifestDocument workload in documents.Where(d => ManifestInjector.IsWorkload(d) && ManifestInjector.Selects(service, d)))
        {
            List<YamlMappingNode> containers = Maps(GetSeq(ManifestInjector.PodTemplate(workload).Spec, "containers")).ToList();
            bool injected = ManifestInjector.IsInjected(workload);
            foreach (YamlMappingNode port in Maps(GetSeq(GetMap(service.Root, "spec"), "ports")))
            {
                string target = Scalar(port, "targetPort") ?? Scalar(port, "port") ?? string.Empty;
                string protocol = Scalar(port, "protocol") ?? "TCP";
                bool byName = !int.TryParse(target, CultureInfo.InvariantCulture, out _);
                List<string> owners = containers
                    .Where(c => Maps(GetSeq(c, "ports")).Any(p => byName
                        ? Scalar(p, "name") == target
                        : Scalar(p, "containerPort") == target && (Scalar(p, "protocol") ?? "TCP") == protocol))
                    .Select(c => Scalar(c, "name") ?? "?")
                    .ToList();
                if (byName && owners.Count != 1)
                {
                    problems.Add($"{at}: targetPort \"{target}\" resolves in {owners.Count} containers of {workload.Kind}/{workload.Name}");
                }
                else if (injected && owners.Count > 0 && !owners.SequenceEqual([ManifestInjector.AgentContainerName]))
                {
                    problems.Add($"{at}: targetPort {target} reaches {string.Join(",", owners)} of {workload.Kind}/{workload.Name}, not the agent");
                }
            }
        }
    }

    private static void Unique(string at, string what, IEnumerable<string> values, List<string> problems) =>
        problems.AddRange(values.GroupBy(v => v).Where(g => g.Count() > 1).Select(g => $"{at}: duplicate {what} \"{g.Key}\""));
}
