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
    /// Each container port is mapped once, ordered by container then port order in the pod spec, and gets an agent
    /// port (<see cref="Allocate"/>).
    /// </summary>
    private static List<PortPlan> MapPorts(Workload workload, InputScan scan, GenerateOptions options, List<string> warnings)
    {
        if (scan.Selecting(workload).Count == 0)
        {
            throw workload.Document.Error($"{workload.PodPath}metadata.labels",
                $"no Service in the input selects {workload.Display}: the agent needs at least one Service port to front");
        }

        List<Mapping> mappings = Mappings(workload, scan, warnings);
        if (mappings.Count == 0)
        {
            throw workload.Document.Error($"{workload.PodPath}metadata.labels", $"the Services selecting {workload.Display} have no TCP or UDP ports");
        }

        Dictionary<ContainerPortSpec, int> listen = Allocate(workload, mappings, scan, options);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var plans = new List<PortPlan>();
        foreach (Mapping m in mappings)
        {
            string name = UniqueName(names, m.Port.Name ?? m.ServicePorts.FirstOrDefault(s => !string.IsNullOrEmpty(s.Name))?.Name ?? $"port-{m.Port.Number}");
            var generated = new GeneratedPort(name, m.Container.Name, m.Port.Name, m.Port.Number, m.Port.Protocol, listen[m.Port], m.Refs);
            plans.Add(new PortPlan(generated, m.ServicePorts.FirstOrDefault(s => !string.IsNullOrEmpty(s.AppProtocol))?.AppProtocol));
        }

        return plans;
    }

    /// <summary>The container ports of <paramref name="workload"/> that its Services reach, in container then port order.</summary>
    private static List<Mapping> Mappings(Workload workload, InputScan scan, List<string> warnings)
    {
        var mappings = new Dictionary<ContainerPortSpec, Mapping>(ReferenceEqualityComparer.Instance);
        foreach (ServiceSpec service in scan.Selecting(workload))
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

        return mappings.Values.OrderBy(m => m.Container.Index).ThenBy(m => m.Port.PortIndex).ToList();
    }

    /// <summary>
    /// The agent port of each mapped container port. A Service port with a numeric (or absent) targetPort is rewritten
    /// to one agent port, so every workload it selects must listen there: the workloads linked to this one through
    /// Services are allocated together, in input order, and container ports joined by such Service ports share one agent
    /// port. Each workload takes <c>--base-port</c>, +1, ... for its container ports in pod-spec order (a shared port
    /// already given by an earlier workload is kept), skipping the admin and tunnel ports, the container ports of the pod
    /// and, for a shared port, every port taken in any workload sharing it. The result depends on the input only, never
    /// on which workload is asked for: generate and inject agree, workload by workload. Kept in the scan, so inject
    /// allocates each group of linked workloads once.
    /// </summary>
    private static Dictionary<ContainerPortSpec, int> Allocate(Workload workload, List<Mapping> own, InputScan scan, GenerateOptions options)
    {
        int admin = ListenPort(options.AdminListen, 9901), tunnel = ListenPort(options.TunnelListen, 9902);
        if (!scan.ListenPorts.TryGetValue((options.BasePort, admin, tunnel), out Dictionary<ContainerPortSpec, int>? listen))
        {
            scan.ListenPorts.Add((options.BasePort, admin, tunnel), listen = new Dictionary<ContainerPortSpec, int>(ReferenceEqualityComparer.Instance));
        }

        if (own.All(m => listen.ContainsKey(m.Port)))
        {
            return listen;
        }

        // The workloads linked to this one through Services (transitively), in input order, with their mappings.
        var linked = new HashSet<Workload> { workload };
        var linking = new HashSet<ServiceSpec>();
        var queue = new Queue<Workload>([workload]);
        while (queue.TryDequeue(out Workload? next))
        {
            foreach (ServiceSpec service in scan.Selecting(next).Where(linking.Add))
            {
                foreach (Workload other in scan.SelectedBy(service).Where(linked.Add))
                {
                    queue.Enqueue(other);
                }
            }
        }

        var members = scan.Workloads.Where(linked.Contains).ToList();
        var mappings = members.ToDictionary(w => w, w => ReferenceEquals(w, workload) ? own : Mappings(w, scan, []));

        // Container ports joined by a Service port with a numeric targetPort share an agent port (union-find).
        var parent = new Dictionary<ContainerPortSpec, ContainerPortSpec>(ReferenceEqualityComparer.Instance);
        var owner = new Dictionary<ContainerPortSpec, Workload>(ReferenceEqualityComparer.Instance);
        foreach (Workload w in members)
        {
            foreach (Mapping m in mappings[w])
            {
                parent[m.Port] = m.Port;
                owner[m.Port] = w;
            }
        }

        ContainerPortSpec Root(ContainerPortSpec p)
        {
            while (!ReferenceEquals(parent[p], p))
            {
                p = parent[p] = parent[parent[p]];
            }

            return p;
        }

        var sharedBy = new Dictionary<ContainerPortSpec, (ServiceSpec Service, ServicePortSpec Port)>(ReferenceEqualityComparer.Instance);
        foreach (ServiceSpec service in scan.Services.Where(linking.Contains))
        {
            foreach (ServicePortSpec servicePort in service.Ports.Where(p => p.TargetName is null && p.Protocol != "SCTP"))
            {
                ContainerPortSpec? first = null;
                foreach (Workload w in scan.SelectedBy(service))
                {
                    Mapping m = mappings[w].First(m => m.Refs.Any(r => ReferenceEquals(r.Service, service.Document) && r.PortIndex == servicePort.Index));
                    if (first is null)
                    {
                        first = m.Port;
                        continue;
                    }

                    ContainerPortSpec a = Root(first), b = Root(m.Port);
                    if (!ReferenceEquals(a, b))
                    {
                        parent[b] = a;
                        sharedBy.TryAdd(a, (service, servicePort));
                    }
                }
            }
        }

        var groups = new Dictionary<ContainerPortSpec, List<ContainerPortSpec>>(ReferenceEqualityComparer.Instance);
        foreach (ContainerPortSpec port in owner.Keys)
        {
            ContainerPortSpec root = Root(port);
            if (!groups.TryGetValue(root, out List<ContainerPortSpec>? group))
            {
                groups.Add(root, group = []);
            }

            group.Add(port);
        }

        var taken = members.ToDictionary(w => w, w => new HashSet<int>(w.AllPorts.Select(p => p.Number)) { admin, tunnel });
        foreach (Workload w in members)
        {
            int candidate = options.BasePort;
            foreach (Mapping m in mappings[w].Where(m => !listen.ContainsKey(m.Port)))
            {
                List<ContainerPortSpec> group = groups[Root(m.Port)];
                while (candidate <= 65535 && group.Any(p => taken[owner[p]].Contains(candidate)))
                {
                    candidate++;
                }

                if (candidate > 65535)
                {
                    string sharing = group.Count == 1 ? string.Empty :
                        $" free in every workload behind {SharedBy(sharedBy, Root(m.Port))} ({string.Join(", ", group.Select(p => owner[p].Display).Distinct())}, which must listen on the same port for it)";
                    throw new KubeInputException(w.Document.File, w.Document.Index, "--base-port",
                        $"no agent port left above {options.BasePort}{sharing} for {w.Display} port {m.Port.Number}");
                }

                foreach (ContainerPortSpec p in group)
                {
                    listen[p] = candidate;
                    taken[owner[p]].Add(candidate);
                }

                candidate++;
            }
        }

        return listen;
    }

    private static string SharedBy(Dictionary<ContainerPortSpec, (ServiceSpec Service, ServicePortSpec Port)> sharedBy, ContainerPortSpec root) =>
        sharedBy.TryGetValue(root, out var s) ? $"service/{s.Service.Document.Name} port {s.Port.Port}" : "one Service port";

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

    /// <summary>
    /// <paramref name="name"/> made a valid agent port name (an IANA service name, <see cref="ConfigLimits.CheckPortName"/>),
    /// unique among <paramref name="names"/>. A container port name already is one; a Service port name is a DNS label
    /// (up to 63 characters, may be all digits), so it is cut to 15 characters, and a "-2" suffix keeps within them too.
    /// </summary>
    internal static string UniqueName(HashSet<string> names, string name)
    {
        string valid = ServiceName(name, ConfigLimits.MaxPortNameLength);
        string candidate = valid;
        for (int i = 2; !names.Add(candidate); i++)
        {
            string suffix = $"-{i.ToString(CultureInfo.InvariantCulture)}";
            candidate = ServiceName(valid, ConfigLimits.MaxPortNameLength - suffix.Length) + suffix;
        }

        return candidate;
    }

    private static string ServiceName(string name, int max)
    {
        string cut = InjectNames.Clean(name, max);
        if (!cut.Any(char.IsAsciiLetterLower))
        {
            cut = ("p" + cut)[..Math.Min(max, cut.Length + 1)].Trim('-'); // "8080" -> "p8080": at least one letter
        }

        return cut;
    }

    private static int ListenPort(string listen, int fallback) =>
        Endpoints.TryParseListen(listen, out IPEndPoint endPoint) ? endPoint.Port : fallback;
}
