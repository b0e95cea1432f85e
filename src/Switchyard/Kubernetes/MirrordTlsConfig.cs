using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Switchyard.Kubernetes;

/// <summary>One spec.ports[] entry of a mirrord TLS steal config.</summary>
/// <param name="Port">The container port it applies to.</param>
/// <param name="Index">Position in spec.ports (for messages).</param>
public sealed record MirrordPortTls(MirrordTlsConfig Source, int Port, int Index, DownstreamTlsPlan? Downstream, UpstreamTlsPlan? Upstream);

/// <summary>
/// A <c>MirrordTlsStealConfig</c> (namespaced) or <c>MirrordClusterTlsStealConfig</c> (cluster-wide), apiVersion
/// <c>mirrord.metalbear.co/v1alpha</c>: <c>spec.targetPath</c> (glob), <c>spec.selector</c> (LabelSelector) and
/// <c>spec.ports[]</c> with <c>port</c>, <c>agentAsServer</c> {authentication {certPem, keyPem}, alpnProtocols,
/// verification {allowAnonymous, acceptAnyCert, trustRoots}} and <c>agentAsClient</c> {authentication, verification
/// {acceptAnyCert, trustRoots, serverName}}.
/// Read strictly, like the operator's own deserializer: a field that is not in this schema (one of mirrord's older
/// schema such as <c>agentServerAuth</c>/<c>remoteServerAuth</c>/<c>rootCertPems</c>, a newer one, or a typo) is an
/// error naming it, never silently ignored: the generated config would otherwise lack TLS settings the user asked for.
/// </summary>
public sealed class MirrordTlsConfig
{
    public const string ApiVersion = "mirrord.metalbear.co/v1alpha";
    public const string NamespacedKind = "MirrordTlsStealConfig";
    public const string ClusterKind = "MirrordClusterTlsStealConfig";

    private readonly List<MirrordPortTls> _ports = [];

    private MirrordTlsConfig(ManifestDocument document, string? targetPath, LabelSelector? selector)
    {
        Document = document;
        TargetPath = targetPath;
        Selector = selector;
    }

    public ManifestDocument Document { get; }

    public bool IsCluster => Document.Kind == ClusterKind;

    public string? TargetPath { get; }

    public LabelSelector? Selector { get; }

    public IReadOnlyList<MirrordPortTls> Ports => _ports;

    public static bool IsTlsConfig(ManifestDocument document) =>
        document.Kind is NamespacedKind or ClusterKind && document.ApiVersion == ApiVersion;

    /// <summary>"MirrordTlsStealConfig shop-tls (app.yaml: document 3)".</summary>
    public override string ToString() =>
        $"{Document.Kind} {Document.Name} ({Document.File}: document {Document.Index.ToString(CultureInfo.InvariantCulture)})";

    /// <summary>
    /// The containers of <paramref name="workload"/> this resource applies to: null when it does not apply, all of
    /// them when targetPath matches the workload itself (or is absent), else those whose container path matches.
    /// Scope: a namespaced resource applies in its own namespace only; targetPath and selector must both match when both are given.
    /// </summary>
    public IReadOnlySet<string>? AppliesTo(Workload workload)
    {
        if (!IsCluster && Document.Namespace != workload.Namespace)
        {
            return null;
        }

        if (Selector is not null && !Selector.Matches(workload.Labels))
        {
            return null;
        }

        var all = workload.Containers.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        if (TargetPath is null)
        {
            return all;
        }

        IEnumerable<string> prefixes = workload.Kind.Aliases.Select(a => $"{a}/{workload.Name}");
        if (prefixes.Any(p => Glob.IsMatch(TargetPath, p)))
        {
            return all;
        }

        var some = workload.Containers.Select(c => c.Name)
            .Where(c => prefixes.Any(p => Glob.IsMatch(TargetPath, $"{p}/container/{c}")))
            .ToHashSet(StringComparer.Ordinal);
        return some.Count == 0 ? null : some;
    }

    public static MirrordTlsConfig Read(ManifestDocument document)
    {
        YamlMappingNode spec = Yaml.Map(document, document.Root, "spec", "spec") ?? throw document.Error("spec", "required");
        CheckFields(document, spec, "spec", "targetPath", "selector", "ports");
        string? targetPath = ManifestDocument.Scalar(spec, "targetPath") is { Length: > 0 } t ? t : null;
        LabelSelector? selector = ManifestDocument.Child(spec, "selector") is { } s and not YamlScalarNode { Value: null or "" or "~" or "null" }
            ? LabelSelector.Parse(document, s, "spec.selector")
            : null;
        var config = new MirrordTlsConfig(document, targetPath, selector);
        YamlSequenceNode ports = Yaml.Sequence(document, spec, "ports", "spec.ports") ?? throw document.Error("spec.ports", "required");
        for (int i = 0; i < ports.Children.Count; i++)
        {
            string at = $"spec.ports[{i}]";
            var entry = ports.Children[i] as YamlMappingNode ?? throw document.Error(at, "expected a mapping");
            CheckFields(document, entry, at, "port", "agentAsServer", "agentAsClient");
            int port = Yaml.Port(document, entry, "port", $"{at}.port") ?? throw document.Error($"{at}.port", "required");
            YamlMappingNode? server = Yaml.Map(document, entry, "agentAsServer", $"{at}.agentAsServer");
            YamlMappingNode? client = Yaml.Map(document, entry, "agentAsClient", $"{at}.agentAsClient");
            config._ports.Add(new MirrordPortTls(config, port, i,
                server is null ? null : ReadServer(document, server, $"{at}.agentAsServer"),
                client is null ? null : ReadClient(document, client, $"{at}.agentAsClient")));
        }

        return config;
    }

    private static DownstreamTlsPlan ReadServer(ManifestDocument document, YamlMappingNode server, string at)
    {
        CheckFields(document, server, at, "authentication", "alpnProtocols", "verification");
        YamlMappingNode auth = Yaml.Map(document, server, "authentication", $"{at}.authentication")
            ?? throw document.Error($"{at}.authentication", "required (certPem and keyPem of the certificate the agent presents)");
        CheckFields(document, auth, $"{at}.authentication", "certPem", "keyPem");
        var plan = new DownstreamTlsPlan
        {
            CertPem = RequiredPath(document, auth, "certPem", $"{at}.authentication.certPem"),
            KeyPem = RequiredPath(document, auth, "keyPem", $"{at}.authentication.keyPem"),
        };
        if (ManifestDocument.Child(server, "alpnProtocols") is not null)
        {
            plan.Alpn = Yaml.StringList(document, ManifestDocument.Child(server, "alpnProtocols"), $"{at}.alpnProtocols");
        }

        if (Yaml.Map(document, server, "verification", $"{at}.verification") is { } verification)
        {
            CheckFields(document, verification, $"{at}.verification", "allowAnonymous", "acceptAnyCert", "trustRoots");
            var roots = Paths(document, verification, $"{at}.verification.trustRoots");
            bool anonymous = Yaml.Bool(document, verification, "allowAnonymous", $"{at}.verification.allowAnonymous") ?? false;
            bool any = Yaml.Bool(document, verification, "acceptAnyCert", $"{at}.verification.acceptAnyCert") ?? false;
            if (roots.Count == 0 && !anonymous && !any)
            {
                throw document.Error($"{at}.verification", "no trustRoots, allowAnonymous or acceptAnyCert: no client could ever be accepted");
            }

            plan.ClientAuth = new ClientAuthPlan(roots, anonymous, any);
        }

        return plan;
    }

    private static UpstreamTlsPlan ReadClient(ManifestDocument document, YamlMappingNode client, string at)
    {
        CheckFields(document, client, at, "authentication", "verification");
        var plan = new UpstreamTlsPlan();
        if (Yaml.Map(document, client, "authentication", $"{at}.authentication") is { } auth)
        {
            CheckFields(document, auth, $"{at}.authentication", "certPem", "keyPem");
            plan.CertPem = RequiredPath(document, auth, "certPem", $"{at}.authentication.certPem");
            plan.KeyPem = RequiredPath(document, auth, "keyPem", $"{at}.authentication.keyPem");
        }

        if (Yaml.Map(document, client, "verification", $"{at}.verification") is { } verification)
        {
            CheckFields(document, verification, $"{at}.verification", "acceptAnyCert", "trustRoots", "serverName");
            var roots = Paths(document, verification, $"{at}.verification.trustRoots");
            plan.TrustRoots = roots.Count == 0 ? null : roots;
            plan.InsecureSkipVerify = Yaml.Bool(document, verification, "acceptAnyCert", $"{at}.verification.acceptAnyCert");
            plan.ServerName = ServerName(document, verification, $"{at}.verification.serverName");
        }

        return plan;
    }

    /// <summary>
    /// The fields of one mapping of the schema; any other key is an error naming it. Names that mirrord's older schema
    /// used get a hint at what replaced them.
    /// </summary>
    private static void CheckFields(ManifestDocument document, YamlMappingNode map, string at, params string[] known)
    {
        foreach (YamlNode key in map.Children.Keys)
        {
            string name = (key as YamlScalarNode)?.Value ?? key.ToString();
            if (known.Contains(name, StringComparer.Ordinal))
            {
                continue;
            }

            string hint = OlderSchema.TryGetValue(name, out string? now) ? $"mirrord's older schema; the current one ({ApiVersion}) has {now}" : "not a field of this schema";
            throw document.Error($"{at}.{name}",
                $"unknown field ({hint}); {at} may hold {string.Join(", ", known)}: a resource switchyard cannot read completely is refused rather than half-applied");
        }
    }

    /// <summary>Field names of mirrord's earlier TLS steal schema, and what the current schema calls them.</summary>
    private static readonly Dictionary<string, string> OlderSchema = new(StringComparer.Ordinal)
    {
        ["agentServerAuth"] = "agentAsServer",
        ["agentClientAuth"] = "agentAsClient",
        ["agent_server_auth"] = "agentAsServer",
        ["agent_client_auth"] = "agentAsClient",
        ["clientAuth"] = "agentAsServer.verification",
        ["client_auth"] = "agentAsServer.verification",
        ["remoteServerAuth"] = "agentAsClient.verification",
        ["remote_server_auth"] = "agentAsClient.verification",
        ["serverAuth"] = "agentAsClient.verification",
        ["server_auth"] = "agentAsClient.verification",
        ["rootCertPems"] = "verification.trustRoots",
        ["root_cert_pems"] = "verification.trustRoots",
        ["certPath"] = "authentication.certPem",
        ["keyPath"] = "authentication.keyPem",
        ["cert_pem"] = "authentication.certPem",
        ["key_pem"] = "authentication.keyPem",
        ["alpn_protocols"] = "agentAsServer.alpnProtocols",
        ["allow_anonymous"] = "verification.allowAnonymous",
    };

    private static string? ServerName(ManifestDocument document, YamlMappingNode map, string field) =>
        ManifestDocument.Child(map, "serverName") switch
        {
            null or YamlScalarNode { Value: null or "~" or "null" } => null,
            YamlScalarNode { Value: { } name } when name.Trim().Length > 0 && !name.Any(char.IsWhiteSpace) => name,
            var other => throw document.Error(field, $"expected a host name such as api.shop.svc, found \"{(other as YamlScalarNode)?.Value ?? other.NodeType.ToString()}\""),
        };

    private static string RequiredPath(ManifestDocument document, YamlMappingNode map, string key, string field) =>
        ManifestDocument.Scalar(map, key) is { Length: > 0 } path
            ? PortAnnotations.CheckedPath(document, path, field)
            : throw document.Error(field, "required");

    private static List<string> Paths(ManifestDocument document, YamlMappingNode map, string field)
    {
        List<string> paths = Yaml.StringList(document, ManifestDocument.Child(map, "trustRoots"), field);
        for (int i = 0; i < paths.Count; i++)
        {
            // Keep a trailing slash: it tells a reader the entry is a directory of roots.
            PortAnnotations.CheckedPath(document, paths[i], $"{field}[{i}]");
        }

        return paths;
    }
}
