using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Switchyard.Kubernetes;

/// <summary>
/// Writes the config v1 JSON in a fixed key order (SPEC.md "Config file"): version, workload, admin, tunnel, ports,
/// intercepts. Fields at their defaults are omitted, so the same input always gives the same bytes.
/// </summary>
internal static class ConfigJsonWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        NewLine = "\n",

        // Paths and label values are written as they are ("/etc/certs", "a+b"), not \u-escaped; the output is a file, not HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Write(Workload workload, GenerateOptions options, IReadOnlyList<PortPlan> ports)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            w.WriteNumber("version", 1);

            w.WriteStartObject("workload");
            w.WriteString("kind", workload.Kind.Kind);
            w.WriteString("name", workload.Name);
            w.WriteString("namespace", workload.Namespace);
            w.WriteStartObject("labels");
            foreach ((string key, string value) in workload.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                w.WriteString(key, value);
            }

            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("admin");
            w.WriteString("listen", options.AdminListen);
            w.WriteEndObject();
            w.WriteStartObject("tunnel");
            w.WriteString("listen", options.TunnelListen);
            w.WriteEndObject();

            w.WriteStartArray("ports");
            foreach (PortPlan port in ports)
            {
                WritePort(w, port);
            }

            w.WriteEndArray();
            w.WriteStartArray("intercepts");
            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WritePort(Utf8JsonWriter w, PortPlan plan)
    {
        GeneratedPort port = plan.Port;
        w.WriteStartObject();
        w.WriteString("name", port.ConfigName);
        w.WriteString("protocol", port.Protocol);
        if (plan.AppProtocol is not null)
        {
            w.WriteString("appProtocol", plan.AppProtocol);
        }

        w.WriteNumber("listen", port.Listen);
        w.WriteString("app", $"127.0.0.1:{port.ContainerPort}");
        if (port.Protocol == "UDP")
        {
            w.WriteString("tls", "off");
            w.WriteString("http", "none");
        }

        if (plan.ProbeTimeout is not null)
        {
            w.WriteString("probeTimeout", plan.ProbeTimeout);
        }

        if (plan.Downstream is { } d)
        {
            w.WriteStartObject("downstreamTls");
            w.WriteString("certPem", d.CertPem);
            w.WriteString("keyPem", d.KeyPem);
            if (d.Alpn is not null)
            {
                WriteStrings(w, "alpn", d.Alpn);
            }

            if (d.ClientAuth is { } c)
            {
                w.WriteStartObject("clientAuth");
                WriteStrings(w, "trustRoots", c.TrustRoots);
                w.WriteBoolean("allowAnonymous", c.AllowAnonymous);
                w.WriteBoolean("acceptAnyCert", c.AcceptAnyCert);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        if (plan.Upstream is { } u)
        {
            w.WriteStartObject("upstreamTls");
            if (u.CertPem is not null)
            {
                w.WriteString("certPem", u.CertPem);
                w.WriteString("keyPem", u.KeyPem);
            }

            if (u.TrustRoots is not null)
            {
                WriteStrings(w, "trustRoots", u.TrustRoots);
            }

            if (u.InsecureSkipVerify is bool skip)
            {
                w.WriteBoolean("insecureSkipVerify", skip);
            }

            if (u.ServerName is not null)
            {
                w.WriteString("serverName", u.ServerName);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (string value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }
}
