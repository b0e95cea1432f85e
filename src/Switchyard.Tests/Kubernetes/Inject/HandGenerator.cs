using System.Globalization;
using System.Text;
using Switchyard.Kubernetes;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Tests.Kubernetes.Inject;

/// <summary>
/// A deliberately small stand-in for ConfigGenerator, so the injector can be tested on its own: it maps every Service port
/// that selects the workload onto the container port it targets (by name or number and protocol), numbers agent ports
/// from 9910, and lists the secrets and paths of the *-tls-secret / *-tls-path annotations.
/// </summary>
public static class HandGenerator
{
    public static Generation Generate(IReadOnlyList<ManifestDocument> documents, GenerateOptions options)
    {
        string[] kindName = options.Workload!.Split('/');
        ManifestDocument workload = documents.Single(d =>
            ManifestInjector.IsWorkload(d) && d.Kind.Equals(kindName[0], StringComparison.OrdinalIgnoreCase) && d.Name == kindName[1]);
        (YamlMappingNode? metadata, YamlMappingNode? spec) = ManifestInjector.PodTemplate(workload);

        var targets = new List<(string Container, string? Name, int Number, string Protocol, List<ServicePortRef> Refs)>();
        foreach (ManifestDocument service in documents.Where(d => d.Kind == "Service" && ManifestInjector.Selects(d, workload)))
        {
            List<YamlMappingNode> ports = InjectYaml.Maps(InjectYaml.GetSeq(InjectYaml.GetMap(service.Root, "spec"), "ports")).ToList();
            for (int i = 0; i < ports.Count; i++)
            {
                string protocol = InjectYaml.Scalar(ports[i], "protocol") ?? "TCP";
                string target = InjectYaml.Scalar(ports[i], "targetPort") ?? InjectYaml.Scalar(ports[i], "port")!;
                bool byName = !int.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out int number);
                (string Container, YamlMappingNode Port)? found = FindPort(spec, byName ? target : null, number, protocol);
                if (found is not { } hit)
                {
                    continue;
                }

                string? name = InjectYaml.Scalar(hit.Port, "name");
                int containerPort = int.Parse(InjectYaml.Scalar(hit.Port, "containerPort")!, CultureInfo.InvariantCulture);
                int existing = targets.FindIndex(t => t.Container == hit.Container && t.Number == containerPort && t.Protocol == protocol);
                if (existing < 0)
                {
                    targets.Add((hit.Container, name, containerPort, protocol, []));
                    existing = targets.Count - 1;
                }

                targets[existing].Refs.Add(new ServicePortRef(service, i, byName));
            }
        }

        var generated = targets
            .Select((t, k) => new GeneratedPort(t.Name ?? $"port-{t.Number}", t.Container, t.Name, t.Number, t.Protocol, 9910 + k, t.Refs))
            .ToList();

        var annotations = InjectYaml.GetMap(metadata, "annotations");
        var secrets = new List<string>();
        var paths = new List<TlsPath>();
        foreach (var entry in annotations?.Children ?? Enumerable.Empty<KeyValuePair<YamlNode, YamlNode>>())
        {
            string key = ((YamlScalarNode)entry.Key).Value!;
            string value = ((YamlScalarNode)entry.Value).Value!;
            if (key.StartsWith("telepresence.io/", StringComparison.Ordinal) && key.Contains("-tls-secret.", StringComparison.Ordinal))
            {
                secrets.Add(value);
            }
            else if (key.StartsWith("telepresence.io/", StringComparison.Ordinal) && key.Contains("-tls-path.", StringComparison.Ordinal))
            {
                paths.Add(new TlsPath(value, [], workload, $"spec.template.metadata.annotations[\"{key}\"]", "mount a volume holding it"));
            }
        }

        var json = new StringBuilder();
        json.Append("{\n  \"version\": 1,\n  \"workload\": { \"kind\": \"").Append(workload.Kind).Append("\", \"name\": \"").Append(workload.Name).Append("\" },\n  \"ports\": [\n");
        json.AppendJoin(",\n", generated.Select(p => $"    {{ \"name\": \"{p.ConfigName}\", \"protocol\": \"{p.Protocol}\", \"listen\": {p.Listen}, \"app\": \"127.0.0.1:{p.ContainerPort}\" }}"));
        json.Append("\n  ]\n}\n");
        return new Generation(workload, json.ToString(), generated, secrets, paths, []);
    }

    private static (string Container, YamlMappingNode Port)? FindPort(YamlMappingNode? spec, string? name, int number, string protocol)
    {
        foreach (YamlMappingNode container in InjectYaml.Maps(InjectYaml.GetSeq(spec, "containers")))
        {
            foreach (YamlMappingNode port in InjectYaml.Maps(InjectYaml.GetSeq(container, "ports")))
            {
                bool match = name is not null
                    ? InjectYaml.Scalar(port, "name") == name
                    : InjectYaml.Scalar(port, "containerPort") == number.ToString(CultureInfo.InvariantCulture)
                        && (InjectYaml.Scalar(port, "protocol") ?? "TCP") == protocol;
                if (match)
                {
                    return (InjectYaml.Scalar(container, "name")!, port);
                }
            }
        }

        return null;
    }
}
