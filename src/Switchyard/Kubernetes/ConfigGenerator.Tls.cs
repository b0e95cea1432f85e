namespace Switchyard.Kubernetes;

public static partial class ConfigGenerator
{
    private sealed record TlsResult(IReadOnlyList<string> SecretNames, IReadOnlyList<TlsPath> TlsPaths);

    /// <summary>
    /// TLS settings per mapped TCP port. Mirrord TLS configs first (namespaced before cluster-wide, then by name; the
    /// first entry for a port wins), then the pod's annotations on top: where both set a field, the annotation wins
    /// (it sits on the workload itself, the more specific source) and a warning says so.
    /// </summary>
    private static TlsResult ApplyTls(Workload workload, List<PortPlan> ports, List<MirrordTlsConfig> tlsConfigs, List<string> warnings)
    {
        List<(PortPlan Plan, MirrordPortTls Entry)> mirrord = MergeMirrord(workload, ports, tlsConfigs, warnings);
        foreach ((PortPlan plan, MirrordPortTls entry) in mirrord)
        {
            plan.Downstream = entry.Downstream is { } d ? new DownstreamTlsPlan { CertPem = d.CertPem, KeyPem = d.KeyPem, Alpn = d.Alpn, ClientAuth = d.ClientAuth } : null;
            plan.Upstream = entry.Upstream is { } u ? new UpstreamTlsPlan { CertPem = u.CertPem, KeyPem = u.KeyPem, TrustRoots = u.TrustRoots, InsecureSkipVerify = u.InsecureSkipVerify, ServerName = u.ServerName } : null;
            plan.MirrordSource = entry.Source;
        }

        var byPort = new Dictionary<PortPlan, PortAnnotations>();
        foreach (PortAnnotations annotations in PortAnnotations.Read(workload))
        {
            string keys = string.Join(", ", annotations.Keys);
            PortPlan? plan = ports.FirstOrDefault(p => p.Port.ContainerPort == annotations.Port && p.Port.Protocol == "TCP");
            if (plan is null)
            {
                bool udp = ports.Any(p => p.Port.ContainerPort == annotations.Port && p.Port.Protocol == "UDP");
                warnings.Add(udp
                    ? $"{Where(workload)}: {keys}: port {annotations.Port} is UDP: TLS and probe annotations do not apply, ignored"
                    : $"{Where(workload)}: {keys}: no Service reaches container port {annotations.Port}, so the agent does not front it; ignored");
                continue;
            }

            Apply(workload, plan, annotations, warnings);
            byPort[plan] = annotations;
        }

        var secrets = new List<string>();
        var paths = new List<TlsPath>();
        foreach (PortPlan plan in ports)
        {
            PortAnnotations? annotations = byPort.GetValueOrDefault(plan);
            ApplyClientAuth(workload, plan, annotations, warnings);
            if (annotations is null)
            {
                continue;
            }

            foreach (CertificateSource source in new[] { annotations.Downstream, annotations.Upstream }.OfType<CertificateSource>())
            {
                if (source.Secret is not null)
                {
                    AddOnce(secrets, source.Secret);
                    continue;
                }

                // The ca.crt beside a downstream certificate is read too when it holds the callers' roots (ApplyClientAuth).
                string besideCa = $"{source.Directory.TrimEnd('/')}/ca.crt";
                string[] files = source == annotations.Downstream && plan.Downstream?.ClientAuth?.TrustRoots.Contains(besideCa) == true
                    ? [source.CertPem, source.KeyPem, besideCa]
                    : [source.CertPem, source.KeyPem];
                string secretKey = source.Key.Replace("-tls-path.", "-tls-secret.", StringComparison.Ordinal);
                AddPath(paths, new TlsPath(source.Directory, files, workload.Document, workload.AnnotationField(source.Key),
                    $"mount a volume holding it into the app container at {source.Directory} (or above), or name a Secret with {secretKey} instead"));
            }

            if (annotations is { ClientCa: { } ca, ClientCaKey: { } caKey } && plan.Downstream?.ClientAuth?.TrustRoots.Contains(ca) == true)
            {
                AddPath(paths, Named(ca, workload.Document, workload.AnnotationField(caKey), "mount a volume holding it into the app container"));
            }
        }

        foreach ((PortPlan plan, MirrordPortTls entry) in mirrord)
        {
            AddMirrordPaths(paths, plan, entry);
        }

        return new TlsResult(secrets, paths);
    }

    /// <summary>The paths of a mirrord entry that the generated config still uses (an annotation may have replaced some).</summary>
    private static void AddMirrordPaths(List<TlsPath> paths, PortPlan plan, MirrordPortTls entry)
    {
        ManifestDocument document = entry.Source.Document;
        string at = $"spec.ports[{entry.Index}]";
        const string Mount = "mount a volume holding it into the app container";
        string Secret(string direction) => $"{Mount}, or name a Secret with the pod annotation telepresence.io/{direction}-tls-secret.{entry.Port} instead";
        if (entry.Downstream is { } d && plan.Downstream is { } down)
        {
            if (down.CertPem == d.CertPem && down.KeyPem == d.KeyPem)
            {
                AddPath(paths, Named(d.CertPem!, document, $"{at}.agentAsServer.authentication.certPem", Secret("downstream")));
                AddPath(paths, Named(d.KeyPem!, document, $"{at}.agentAsServer.authentication.keyPem", Secret("downstream")));
            }

            if (d.ClientAuth is { } auth && ReferenceEquals(down.ClientAuth, auth))
            {
                for (int i = 0; i < auth.TrustRoots.Count; i++)
                {
                    AddPath(paths, Named(auth.TrustRoots[i], document, $"{at}.agentAsServer.verification.trustRoots[{i}]", Mount));
                }
            }
        }

        if (entry.Upstream is { } u && plan.Upstream is { } up)
        {
            if (u.CertPem is not null && up.CertPem == u.CertPem && up.KeyPem == u.KeyPem)
            {
                AddPath(paths, Named(u.CertPem, document, $"{at}.agentAsClient.authentication.certPem", Secret("upstream")));
                AddPath(paths, Named(u.KeyPem!, document, $"{at}.agentAsClient.authentication.keyPem", Secret("upstream")));
            }

            if (u.TrustRoots is { } roots && ReferenceEquals(up.TrustRoots, roots))
            {
                for (int i = 0; i < roots.Count; i++)
                {
                    AddPath(paths, Named(roots[i], document, $"{at}.agentAsClient.verification.trustRoots[{i}]", Mount));
                }
            }
        }
    }

    /// <summary>A named file (or a directory of roots, written with a trailing '/'): the directory holding it, and the file.</summary>
    private static TlsPath Named(string path, ManifestDocument document, string field, string remedy) =>
        path.EndsWith('/')
            ? new TlsPath(path.TrimEnd('/') is { Length: > 0 } dir ? dir : "/", [], document, field, remedy)
            : new TlsPath(Parent(path), [path], document, field, remedy);

    /// <summary>One entry per directory: the first field naming it is the one reported; the files of all are kept.</summary>
    private static void AddPath(List<TlsPath> paths, TlsPath path)
    {
        int index = paths.FindIndex(p => p.Path == path.Path);
        if (index < 0)
        {
            paths.Add(path);
        }
        else
        {
            // No files listed: the directory itself is read (roots ending in '/'), so only a volume holding it will do.
            TlsPath kept = paths[index];
            paths[index] = kept with { Files = kept.Files.Count == 0 || path.Files.Count == 0 ? [] : kept.Files.Union(path.Files).ToList() };
        }
    }

    private static void Apply(Workload workload, PortPlan plan, PortAnnotations annotations, List<string> warnings)
    {
        MirrordTlsConfig? mirrord = plan.MirrordSource;
        if (annotations.Downstream is { } down)
        {
            if (plan.Downstream?.CertPem is not null && mirrord is not null)
            {
                warnings.Add($"{Where(workload)}: {down.Key}: overrides agentAsServer.authentication of {mirrord} for port {annotations.Port}");
            }

            plan.Downstream ??= new DownstreamTlsPlan();
            plan.Downstream.CertPem = down.CertPem;
            plan.Downstream.KeyPem = down.KeyPem;
        }

        if (annotations.Upstream is { } up)
        {
            if (plan.Upstream?.CertPem is not null && mirrord is not null)
            {
                warnings.Add($"{Where(workload)}: {up.Key}: overrides agentAsClient.authentication of {mirrord} for port {annotations.Port}");
            }

            plan.Upstream ??= new UpstreamTlsPlan();
            plan.Upstream.CertPem = up.CertPem;
            plan.Upstream.KeyPem = up.KeyPem;
        }

        if (annotations.InsecureSkipVerify is bool skip)
        {
            if (plan.Upstream?.InsecureSkipVerify is bool earlier && earlier != skip && mirrord is not null)
            {
                warnings.Add($"{Where(workload)}: upstream-insecure-skip-verify.{annotations.Port}: overrides agentAsClient.verification.acceptAnyCert of {mirrord}");
            }

            plan.Upstream ??= new UpstreamTlsPlan();
            plan.Upstream.InsecureSkipVerify = skip;
        }

        plan.ProbeTimeout = annotations.ProbeTimeout ?? plan.ProbeTimeout;
    }

    /// <summary>
    /// SPEC "Client certificates: no one gets in who the app would refuse". The downstream-tls-client-ca and
    /// downstream-tls-allow-anonymous annotations say who may call; without them, a port whose upstreamTls presents a
    /// client certificate (the app requires mTLS) trusts the ca.crt beside the downstream certificate, as cert-manager
    /// and most TLS secrets carry it. The agent refuses to start when that file is missing, so nobody is let in silently.
    /// </summary>
    private static void ApplyClientAuth(Workload workload, PortPlan plan, PortAnnotations? annotations, List<string> warnings)
    {
        DownstreamTlsPlan? down = plan.Downstream;
        if (annotations is { ClientCa: not null } or { AllowAnonymous: not null })
        {
            if (down?.CertPem is null)
            {
                warnings.Add($"{Where(workload)}: downstream-tls-client-ca/allow-anonymous.{annotations.Port}: the agent terminates no TLS on port {annotations.Port} (no downstream-tls-path or -secret), ignored");
                return;
            }

            if (down.ClientAuth is not null && plan.MirrordSource is { } mirrord)
            {
                warnings.Add($"{Where(workload)}: downstream-tls-client-ca/allow-anonymous.{annotations.Port}: overrides agentAsServer.verification of {mirrord}");
            }

            if (annotations.ClientCa is not null || annotations.AllowAnonymous == true)
            {
                down.ClientAuth = new ClientAuthPlan(annotations.ClientCa is { } ca ? [ca] : [], annotations.AllowAnonymous == true, AcceptAnyCert: false);
                return;
            }
        }

        if (down?.CertPem is not null && down.ClientAuth is null && plan.Upstream?.CertPem is not null)
        {
            down.ClientAuth = new ClientAuthPlan([$"{Parent(down.CertPem)}/ca.crt"], AllowAnonymous: false, AcceptAnyCert: false);
        }
    }

    private static string Parent(string path)
    {
        int slash = path.TrimEnd('/').LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    private static void AddOnce(List<string> list, string item)
    {
        if (!list.Contains(item))
        {
            list.Add(item);
        }
    }

    /// <summary>The mirrord entry chosen for each mapped TCP port; every later entry for the same port is reported and dropped.</summary>
    private static List<(PortPlan Plan, MirrordPortTls Entry)> MergeMirrord(Workload workload, List<PortPlan> ports, List<MirrordTlsConfig> configs, List<string> warnings)
    {
        var applicable = configs
            .Select(c => (Config: c, Containers: c.AppliesTo(workload)))
            .Where(x => x.Containers is not null)
            .OrderBy(x => x.Config.IsCluster)
            .ThenBy(x => x.Config.Document.Name, StringComparer.Ordinal);
        var first = new Dictionary<int, MirrordPortTls>();
        var chosen = new List<(PortPlan, MirrordPortTls)>();
        foreach ((MirrordTlsConfig config, IReadOnlySet<string>? containers) in applicable)
        {
            foreach (MirrordPortTls entry in config.Ports)
            {
                PortPlan? plan = ports.FirstOrDefault(p => p.Port.Protocol == "TCP" && p.Port.ContainerPort == entry.Port && containers!.Contains(p.Port.Container));
                if (plan is null)
                {
                    if (workload.Containers.Any(c => containers!.Contains(c.Name) && c.Ports.Any(p => p.Number == entry.Port)))
                    {
                        warnings.Add($"{config}: spec.ports[{entry.Index}]: no Service reaches container port {entry.Port} of {workload.Display}, so the agent does not front it; ignored");
                    }

                    continue;
                }

                if (first.TryGetValue(entry.Port, out MirrordPortTls? kept))
                {
                    warnings.Add($"{config}: spec.ports[{entry.Index}]: port {entry.Port} of {workload.Display} is already configured by {kept.Source} spec.ports[{kept.Index}]; this entry is ignored");
                    continue;
                }

                first.Add(entry.Port, entry);
                chosen.Add((plan, entry));
            }
        }

        return chosen;
    }

    private static string Where(Workload workload) => $"{workload.Document.File}: document {workload.Document.Index}";
}
