using System.Globalization;
using Switchyard.Config;

namespace Switchyard.Kubernetes;

/// <summary>Where a certificate pair comes from: a directory in the app's filesystem, or a Secret that inject mounts.</summary>
/// <param name="Directory">The directory holding tls.crt and tls.key (a path annotation, or the secret's mount path).</param>
/// <param name="Secret">The Secret's name for a secret annotation, else null.</param>
/// <param name="Key">The annotation key, for messages.</param>
public sealed record CertificateSource(string Directory, string? Secret, string Key)
{
    public string CertPem => $"{Directory.TrimEnd('/')}/tls.crt";

    public string KeyPem => $"{Directory.TrimEnd('/')}/tls.key";
}

/// <summary>
/// The per-port annotations of a pod (SPEC "Annotations read by switchyard generate"):
/// <c>telepresence.io/{downstream,upstream}-tls-{path,secret}.PORT</c>, <c>upstream-insecure-skip-verify.PORT</c>,
/// <c>upstream-probe-timeout.PORT</c>, <c>downstream-tls-client-ca.PORT</c> and <c>downstream-tls-allow-anonymous.PORT</c>
/// (who may call a port whose app requires mTLS, SPEC "Client certificates"), under <c>telepresence.io/</c>,
/// <c>switchyard.io/</c> or the legacy prefix <c>telepresence.getambassador.io/</c>.
/// PORT is a container port number. Other annotations are ignored.
/// </summary>
public sealed class PortAnnotations(int port)
{
    public static readonly IReadOnlyList<string> Prefixes = ["telepresence.io/", "switchyard.io/", "telepresence.getambassador.io/"];

    private const string DownstreamPath = "downstream-tls-path";
    private const string DownstreamSecret = "downstream-tls-secret";
    private const string UpstreamPath = "upstream-tls-path";
    private const string UpstreamSecret = "upstream-tls-secret";
    private const string SkipVerify = "upstream-insecure-skip-verify";
    private const string ProbeTimeoutName = "upstream-probe-timeout";
    private const string ClientCaName = "downstream-tls-client-ca";
    private const string AllowAnonymousName = "downstream-tls-allow-anonymous";

    private static readonly string[] Names = [DownstreamPath, DownstreamSecret, UpstreamPath, UpstreamSecret, SkipVerify, ProbeTimeoutName, ClientCaName, AllowAnonymousName];

    public int Port { get; } = port;

    public CertificateSource? Downstream { get; private set; }

    public CertificateSource? Upstream { get; private set; }

    public bool? InsecureSkipVerify { get; private set; }

    /// <summary>downstream-tls-client-ca: the trust roots (a PEM file, or a directory ending in '/') of the callers' certificates.</summary>
    public string? ClientCa { get; private set; }

    /// <summary>The annotation key that gave <see cref="ClientCa"/> (for messages).</summary>
    public string? ClientCaKey { get; private set; }

    /// <summary>downstream-tls-allow-anonymous: callers without a certificate may reach the app.</summary>
    public bool? AllowAnonymous { get; private set; }

    /// <summary>Whether an upstream-probe-timeout annotation was read (its value may be null: 0s, the default).</summary>
    private bool ProbeTimeoutSet { get; set; }

    public string? ProbeTimeout { get; private set; }

    /// <summary>Every annotation key that applied to this port, in document order (for warnings).</summary>
    public List<string> Keys { get; } = [];

    /// <summary>The annotations of <paramref name="workload"/>, by container port number, in order of first appearance.</summary>
    public static List<PortAnnotations> Read(Workload workload)
    {
        var byPort = new Dictionary<int, PortAnnotations>();
        var ordered = new List<PortAnnotations>();
        foreach ((string key, string value) in workload.Annotations)
        {
            if (!TrySplit(key, out string name, out string? portText))
            {
                continue;
            }

            string field = workload.AnnotationField(key);
            if (portText is null)
            {
                throw workload.Document.Error(field, $"needs the container port: {key}.PORT (e.g. {key}.8443)");
            }

            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            {
                throw workload.Document.Error(field, $"expected a container port number after \"{name}.\", found \"{portText}\"");
            }

            if (!workload.AllPorts.Any(p => p.Number == port))
            {
                throw workload.Document.Error(field, $"no container port {port} in {workload.Display} (ports: {string.Join(", ", workload.AllPorts.Select(p => p.Number).Distinct())})");
            }

            if (!byPort.TryGetValue(port, out PortAnnotations? annotations))
            {
                annotations = new PortAnnotations(port);
                byPort.Add(port, annotations);
                ordered.Add(annotations);
            }

            annotations.Apply(workload.Document, name, key, value.Trim(), field);
        }

        return ordered;
    }

    /// <summary>True for a key under one of the prefixes whose name is one of ours; PORT is the text after the dot (null when bare).</summary>
    private static bool TrySplit(string key, out string name, out string? port)
    {
        name = string.Empty;
        port = null;
        string? prefix = Prefixes.FirstOrDefault(p => key.StartsWith(p, StringComparison.Ordinal));
        if (prefix is null)
        {
            return false;
        }

        string rest = key[prefix.Length..];
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        name = dot < 0 ? rest : rest[..dot];
        port = dot < 0 ? null : rest[(dot + 1)..];
        return Names.Contains(name);
    }

    private void Apply(ManifestDocument document, string name, string key, string value, string field)
    {
        Keys.Add(key);
        switch (name)
        {
            case DownstreamPath or DownstreamSecret:
                Downstream = Source(document, Downstream, name == DownstreamSecret, key, value, field);
                break;
            case UpstreamPath or UpstreamSecret:
                Upstream = Source(document, Upstream, name == UpstreamSecret, key, value, field);
                break;
            case SkipVerify:
                bool skip = Enabled(document, value, field);
                if (InsecureSkipVerify is bool earlier && earlier != skip)
                {
                    throw document.Error(field, "contradicts another upstream-insecure-skip-verify annotation for this port");
                }

                InsecureSkipVerify = skip;
                break;
            case AllowAnonymousName:
                bool anonymous = Enabled(document, value, field);
                if (AllowAnonymous is bool before && before != anonymous)
                {
                    throw document.Error(field, "contradicts another downstream-tls-allow-anonymous annotation for this port");
                }

                AllowAnonymous = anonymous;
                break;
            case ClientCaName:
                // A file of PEM roots, or a directory of them; keep a trailing slash, it says "directory" to the agent.
                CheckedPath(document, value, field);
                if (ClientCa is not null && ClientCa != value)
                {
                    throw document.Error(field, "contradicts another downstream-tls-client-ca annotation for this port");
                }

                ClientCa = value;
                ClientCaKey ??= key;
                break;
            default:
                // Go's durations as Telepresence accepts them (10s, 1m30s, 1h); 0s means "no timeout of my own":
                // the agent's default probeTimeout applies.
                if (!Duration.TryParse(value, out TimeSpan timeout))
                {
                    throw document.Error(field, $"expected a duration such as 10s, 1m30s or 500ms, found \"{value}\"");
                }

                string? wanted = timeout > TimeSpan.Zero ? value : null;
                if (ProbeTimeoutSet && ProbeTimeout != wanted)
                {
                    throw document.Error(field, "contradicts another upstream-probe-timeout annotation for this port");
                }

                ProbeTimeout = wanted;
                ProbeTimeoutSet = true;
                break;
        }
    }

    private static bool Enabled(ManifestDocument document, string value, string field) => value.ToLowerInvariant() switch
    {
        "enabled" or "true" => true,
        "disabled" or "false" => false,
        _ => throw document.Error(field, $"expected enabled, disabled, true or false, found \"{value}\""),
    };

    private static CertificateSource Source(ManifestDocument document, CertificateSource? earlier, bool secret, string key, string value, string field)
    {
        CertificateSource source;
        if (secret)
        {
            if (!IsSecretName(value))
            {
                throw document.Error(field, $"expected a Secret name (lower-case letters, digits, '-' and '.'), found \"{value}\"");
            }

            source = new CertificateSource(SecretMounts.PathFor(value), value, key);
        }
        else
        {
            source = new CertificateSource(CheckedPath(document, value, field), null, key);
        }

        if (earlier is not null && earlier.Directory != source.Directory)
        {
            throw document.Error(field, $"contradicts {earlier.Key}: one certificate source per port and direction");
        }

        return source;
    }

    /// <summary>An absolute path without a ".." segment, trailing slashes removed.</summary>
    internal static string CheckedPath(ManifestDocument document, string path, string field)
    {
        if (!path.StartsWith('/'))
        {
            throw document.Error(field, $"expected an absolute path, found \"{path}\"");
        }

        if (path.Split('/').Contains(".."))
        {
            throw document.Error(field, $"a \"..\" segment is not allowed: \"{path}\"");
        }

        string trimmed = path.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed;
    }

    /// <summary>RFC 1123 subdomain, as Kubernetes requires of Secret names.</summary>
    private static bool IsSecretName(string name) =>
        name.Length is > 0 and <= 253 && IsLowerOrDigit(name[0]) && IsLowerOrDigit(name[^1]) &&
        name.All(c => IsLowerOrDigit(c) || c is '-' or '.');

    private static bool IsLowerOrDigit(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
