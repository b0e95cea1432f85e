using System.Globalization;
using System.Net;
using Switchyard.Config;

namespace Switchyard.Kubernetes;

public static partial class ConfigGenerator
{
    /// <summary>A container port reached by at least one Service port.</summary>
    private sealed class Mapping(ContainerSpec container, ContainerPortSpec port)
    {
        public ContainerSpec Container { get; } = container;

        public ContainerPortSpec Port { get; } = port;

        public List<ServicePortRef> Refs { get; } = [];

        public List<ServicePortSpec> ServicePorts { get; } = [];
    }

    /// <summary>
    /// Every Service (document order) that selects the workload, every port of it: targetPort absent = the port
    /// number, a number = the container port with that number and protocol, a name = the container port with that name.
    /// Each container port is mapped once, ordered by container then port order in the pod spec, and gets
    /// listen = BasePort + i, skipping the admin and tunnel ports and every container port of the pod.
    /// </summary>
    private static List<PortPlan> MapPorts(Workload workload, List<ServiceSpec> services, GenerateOptions options, List<string> warnings)
    {
        var mappings = new Dictionary<ContainerPortSpec, Mapping>(ReferenceEqualityComparer.Instance);
        var selecting = services.Where(s => s.Selects(workload)).ToList();
        if (selecting.Count == 0)
        {
            throw workload.Document.Error($"{workload.PodPath}metadata.labels",
                $"no Service in the input selects {workload.Display}: the agent needs at least one Service port to front");
        }

        foreach (ServiceSpec service in selecting)
        {
            foreach (ServicePortSpec servicePort in service.Ports)
            {
                if (servicePort.Protocol == "SCTP")
                {
                    warnings.Add($"{service.Document.File}: document {service.Document.Index}: spec.ports[{servicePort.Index}]: SCTP is not supported by the agent; port {servicePort.Port} is left alone");
                    continue;
                }

                (ContainerSpec container, ContainerPortSpec port) = Target(workload, service, servicePort);
                if (!mappings.TryGetValue(port, out Mapping? mapping))
                {
                    mapping = new Mapping(container, port);
                    mappings.Add(port, mapping);
                }

                mapping.Refs.Add(new ServicePortRef(service.Document, servicePort.Index, servicePort.TargetName is not null));
                mapping.ServicePorts.Add(servicePort);
            }
        }

        if (mappings.Count == 0)
        {
            throw workload.Document.Error($"{workload.PodPath}metadata.labels", $"the Services selecting {workload.Display} have no TCP or UDP ports");
        }

        var reserved = new HashSet<int>(workload.AllPorts.Select(p => p.Number)) { ListenPort(options.AdminListen, 9901), ListenPort(options.TunnelListen, 9902) };
        var names = new HashSet<string>(StringComparer.Ordinal);
        var plans = new List<PortPlan>();
        int next = options.BasePort;
        foreach (Mapping m in mappings.Values.OrderBy(m => m.Container.Index).ThenBy(m => m.Port.PortIndex))
        {
            while (reserved.Contains(next))
            {
                next++;
            }

            if (next > 65535)
            {
                throw new KubeInputException(workload.Document.File, workload.Document.Index, "--base-port",
                    $"no agent port left above {options.BasePort} for {mappings.Count} ports");
            }

            reserved.Add(next);
            string name = UniqueName(names, m.Port.Name ?? m.ServicePorts.FirstOrDefault(s => !string.IsNullOrEmpty(s.Name))?.Name ?? $"port-{m.Port.Number}");
            var generated = new GeneratedPort(name, m.Container.Name, m.Port.Name, m.Port.Number, m.Port.Protocol, next, m.Refs);
            plans.Add(new PortPlan(generated, m.ServicePorts.FirstOrDefault(s => !string.IsNullOrEmpty(s.AppProtocol))?.AppProtocol));
            next++;
        }

        return plans;
    }

    private static (ContainerSpec Container, ContainerPortSpec Port) Target(Workload workload, ServiceSpec service, ServicePortSpec servicePort)
    {
        foreach (ContainerSpec container in workload.Containers)
        {
            foreach (ContainerPortSpec port in container.Ports)
            {
                bool hit = servicePort.TargetName is { } name ? port.Name == name : port.Number == servicePort.TargetNumber;
                if (hit && port.Protocol == servicePort.Protocol)
                {
                    return (container, port);
                }
            }
        }

        string declared = string.Join(", ", workload.AllPorts.Select(p => (p.Name is null ? string.Empty : p.Name + "=") + $"{p.Number}/{p.Protocol}"));
        string wanted = servicePort.TargetName is { } n ? $"named \"{n}\"" : servicePort.TargetNumber!.Value.ToString(CultureInfo.InvariantCulture);
        string field = servicePort.HasTargetPort ? $"spec.ports[{servicePort.Index}].targetPort" : $"spec.ports[{servicePort.Index}].port";
        throw service.Document.Error(field, $"no {servicePort.Protocol} container port {wanted} in {workload.Display} (container ports: {(declared.Length == 0 ? "none" : declared)})");
    }

    private static string UniqueName(HashSet<string> names, string name)
    {
        string candidate = name;
        for (int i = 2; !names.Add(candidate); i++)
        {
            candidate = $"{name}-{i}";
        }

        return candidate;
    }

    private static int ListenPort(string listen, int fallback) =>
        Endpoints.TryParseListen(listen, out IPEndPoint endPoint) ? endPoint.Port : fallback;
}
