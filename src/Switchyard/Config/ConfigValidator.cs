using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Switchyard.Tls;

namespace Switchyard.Config;

/// <summary>Semantic checks of a deserialized config; each error names its JSON path.</summary>
internal sealed class ConfigValidator(string file)
{
    private static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>One source per (certificate, key) file pair: ports, upstreams and deliveries naming the same files share it.</summary>
    private readonly Dictionary<(string Cert, string Key), CertificateSource> _certificates = [];

    public AgentSettings Validate(AgentConfig config, string fingerprint)
    {
        if (config.Version != 1)
        {
            Fail("$.version", config.Version == 0 ? "missing; expected 1" : $"unsupported version {config.Version}; expected 1");
        }

        if (config.Workload is { } w)
        {
            CheckText(w.Kind, "$.workload.kind", ConfigLimits.MaxKubernetesNameLength);
            CheckText(w.Name, "$.workload.name", ConfigLimits.MaxKubernetesNameLength);
            CheckText(w.Namespace, "$.workload.namespace", ConfigLimits.MaxKubernetesNameLength);
            foreach ((string key, string value) in w.Labels ?? [])
            {
                CheckText(key, $"$.workload.labels", ConfigLimits.MaxKubernetesNameLength);
                CheckText(value, Routing.FilterText.Child("$.workload.labels", key), ConfigLimits.MaxKubernetesNameLength);
            }
        }

        IPEndPoint admin = ConfigLoader.DefaultAdmin;
        string? token = null;
        if (config.Admin is { } a)
        {
            if (a.Listen is not null && !Endpoints.TryParseListen(a.Listen, out admin))
            {
                Fail("$.admin.listen", $"expected \"HOST:PORT\", found \"{a.Listen}\"");
            }

            if (a.TokenFile is not null)
            {
                token = ReadToken(a.TokenFile);
            }
        }

        IPEndPoint? tunnelListen = null;
        if (config.Tunnel?.Listen is { } tunnel && !Endpoints.TryParseListen(tunnel, out tunnelListen))
        {
            Fail("$.tunnel.listen", $"expected \"HOST:PORT\", found \"{tunnel}\"");
        }

        if (config.Ports is null || config.Ports.Count == 0)
        {
            Fail("$.ports", "at least one port is required");
        }

        var ports = new List<PortSettings>(config.Ports!.Count);
        for (int i = 0; i < config.Ports.Count; i++)
        {
            PortSettings port = ValidatePort(config.Ports[i], i, $"$.ports[{i}]");
            foreach (PortSettings other in ports)
            {
                if (other.Listen.Port == port.Listen.Port && other.Protocol == port.Protocol)
                {
                    Fail($"$.ports[{i}].listen", $"duplicate listen port {port.Listen.Port} (also $.ports[{other.Index}])");
                }

                if (other.Name == port.Name)
                {
                    Fail($"$.ports[{i}].name", $"duplicate port name \"{port.Name}\" (also $.ports[{other.Index}])");
                }
            }

            ports.Add(port);
        }

        if (!IPAddress.IsLoopback(admin.Address) && token is null)
        {
            Fail("$.admin.tokenFile", $"required when admin.listen ({admin}) is not a loopback address: /v1/ would be open to the network");
        }

        var intercepts = new List<InterceptSettings>();
        for (int i = 0; i < (config.Intercepts?.Count ?? 0); i++)
        {
            intercepts.Add(ValidateIntercept(config.Intercepts![i], $"$.intercepts[{i}]", ports, intercepts, tunnel: tunnelListen is not null));
        }

        return new AgentSettings(file, fingerprint, admin, token, ports, intercepts) { TunnelListen = tunnelListen };
    }

    private PortSettings ValidatePort(PortConfig p, int index, string at)
    {
        string protocol = p.Protocol ?? "TCP";
        if (protocol is not ("TCP" or "UDP"))
        {
            Fail($"{at}.protocol", $"expected \"TCP\" or \"UDP\", found \"{protocol}\"");
        }

        if (p.Listen is null)
        {
            Fail($"{at}.listen", "required");
        }

        if (!Endpoints.TryParseListen(p.Listen, out IPEndPoint listen))
        {
            Fail($"{at}.listen", $"expected a port number or \"HOST:PORT\", found \"{p.Listen}\"");
        }

        if (p.App is null)
        {
            Fail($"{at}.app", "required");
        }

        if (!Endpoints.TryParseHostPort(p.App, out string appHost, out int appPort))
        {
            Fail($"{at}.app", $"expected \"HOST:PORT\", found \"{p.App}\"");
        }

        string name = p.Name ?? listen.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (p.Name is not null && ConfigLimits.CheckPortName(p.Name) is { } badName)
        {
            Fail($"{at}.name", badName);
        }

        TlsMode tls = p.Tls switch
        {
            null or "auto" => TlsMode.Auto,
            "on" => TlsMode.On,
            "off" => TlsMode.Off,
            _ => Fail<TlsMode>($"{at}.tls", $"expected \"auto\", \"on\" or \"off\", found \"{p.Tls}\""),
        };
        HttpMode http = p.Http switch
        {
            null or "auto" => HttpMode.Auto,
            "http1" => HttpMode.Http1,
            "http2" => HttpMode.Http2,
            "none" => HttpMode.None,
            _ => Fail<HttpMode>($"{at}.http", $"expected \"auto\", \"http1\", \"http2\" or \"none\", found \"{p.Http}\""),
        };
        InspectMode inspect = p.Inspect switch
        {
            null or "auto" => InspectMode.Auto,
            "always" => InspectMode.Always,
            "never" => InspectMode.Never,
            _ => Fail<InspectMode>($"{at}.inspect", $"expected \"auto\", \"always\" or \"never\", found \"{p.Inspect}\""),
        };

        TimeSpan probeTimeout = DefaultProbeTimeout;
        if (p.ProbeTimeout is not null && (!Duration.TryParse(p.ProbeTimeout, out probeTimeout) || probeTimeout <= TimeSpan.Zero))
        {
            Fail($"{at}.probeTimeout", $"expected a duration such as \"2s\" or \"500ms\", found \"{p.ProbeTimeout}\"");
        }

        DownstreamTlsSettings? downstream = p.DownstreamTls is null ? null : ValidateDownstream(p.DownstreamTls, $"{at}.downstreamTls");
        UpstreamTlsSettings? upstream = p.UpstreamTls is null ? null : ValidateUpstream(p.UpstreamTls, $"{at}.upstreamTls");
        if (tls == TlsMode.Off && downstream is not null)
        {
            Fail($"{at}.tls", "\"off\" contradicts downstreamTls");
        }

        if (protocol == "UDP")
        {
            // Datagrams are relayed as they are (per source address): nothing to decrypt or parse.
            if (downstream is not null || upstream is not null || tls == TlsMode.On)
            {
                Fail(downstream is not null ? $"{at}.downstreamTls" : upstream is not null ? $"{at}.upstreamTls" : $"{at}.tls", "not supported on a UDP port (datagrams are relayed as they are)");
            }

            tls = TlsMode.Off;
            http = HttpMode.None;
            inspect = InspectMode.Never;
        }

        if (upstream?.ClientCertificate is not null && downstream is not null && inspect != InspectMode.Never)
        {
            CheckCallersVerified(downstream.ClientAuth, $"{at}.downstreamTls.clientAuth");
        }

        TimeSpan udpIdle = DefaultUdpIdleTimeout;
        if (p.UdpIdleTimeout is not null)
        {
            if (protocol != "UDP")
            {
                Fail($"{at}.udpIdleTimeout", "only for UDP ports");
            }

            if (!Duration.TryParse(p.UdpIdleTimeout, out udpIdle) || udpIdle <= TimeSpan.Zero)
            {
                Fail($"{at}.udpIdleTimeout", $"expected a duration such as \"60s\", found \"{p.UdpIdleTimeout}\"");
            }
        }

        Http1.Http1Limits limits = Http1.Http1Limits.Default;
        int? maxHead = p.MaxRequestHeadBytes;
        string maxHeadAt = $"{at}.maxRequestHeadBytes";
        if (p.Limits?.MaxRequestHeadBytes is int inLimits)
        {
            if (maxHead is int top && top != inLimits)
            {
                Fail($"{at}.limits.maxRequestHeadBytes", $"{inLimits} contradicts {at}.maxRequestHeadBytes ({top}); set it in one place");
            }

            maxHead = inLimits;
            maxHeadAt = $"{at}.limits.maxRequestHeadBytes";
        }

        if (maxHead is int head)
        {
            if (head is < 1024 or > 1024 * 1024)
            {
                Fail(maxHeadAt, $"expected 1024 to 1048576 bytes, found {head}");
            }

            limits = limits with { MaxHeadBytes = head };
        }

        PortLimits portLimits = p.Limits is null ? PortLimits.Default : ValidateLimits(p.Limits, $"{at}.limits");
        return new PortSettings(index, name, protocol, p.AppProtocol, listen, appHost, appPort, tls, http, inspect, probeTimeout, downstream, upstream, limits)
        {
            UdpIdleTimeout = udpIdle,
            Limits = portLimits,
        };
    }

    private PortLimits ValidateLimits(PortLimitsConfig l, string at)
    {
        PortLimits d = PortLimits.Default;
        TimeSpan Positive(string? value, string field, TimeSpan fallback)
        {
            if (value is null)
            {
                return fallback;
            }

            if (!Duration.TryParse(value, out TimeSpan parsed) || parsed <= TimeSpan.Zero)
            {
                Fail($"{at}.{field}", $"expected a duration above zero such as \"30s\" or \"2m\", found \"{value}\"");
            }

            return parsed;
        }

        if (l.MaxConnections is < 1)
        {
            Fail($"{at}.maxConnections", $"expected 1 or more, found {l.MaxConnections}");
        }

        if (l.MaxBodyBytes is < 0 or > PortLimits.MaxBodyBytesLimit)
        {
            Fail($"{at}.maxBodyBytes", $"expected 0 to {PortLimits.MaxBodyBytesLimit} bytes (16 MiB), found {l.MaxBodyBytes}");
        }

        return new PortLimits
        {
            TlsHandshakeTimeout = Positive(l.TlsHandshakeTimeout, "tlsHandshakeTimeout", d.TlsHandshakeTimeout),
            RequestHeadTimeout = Positive(l.RequestHeadTimeout, "requestHeadTimeout", d.RequestHeadTimeout),
            IdleTimeout = Positive(l.IdleTimeout, "idleTimeout", d.IdleTimeout),
            StreamIdleTimeout = Positive(l.StreamIdleTimeout, "streamIdleTimeout", d.StreamIdleTimeout),
            WriteStallTimeout = Positive(l.WriteStallTimeout, "writeStallTimeout", d.WriteStallTimeout),
            AppResponseTimeout = l.AppResponseTimeout is null ? null : Positive(l.AppResponseTimeout, "appResponseTimeout", TimeSpan.Zero),
            MaxConnections = l.MaxConnections,
            MaxBodyBytes = l.MaxBodyBytes ?? d.MaxBodyBytes,
            BodyTimeout = Positive(l.BodyTimeout, "bodyTimeout", d.BodyTimeout),
        };
    }

    private DownstreamTlsSettings ValidateDownstream(DownstreamTlsConfig d, string at)
    {
        CertificateSource certificate = LoadPair(d.CertPem, d.KeyPem, at, required: true)!;
        var alpn = new List<SslApplicationProtocol>();
        foreach ((string protocol, int i) in (d.Alpn ?? ["h2", "http/1.1"]).Select((s, i) => (s, i)))
        {
            if (string.IsNullOrEmpty(protocol) || protocol.Length > 255)
            {
                Fail($"{at}.alpn[{i}]", "an ALPN protocol id is 1 to 255 bytes");
            }

            alpn.Add(new SslApplicationProtocol(protocol));
        }

        ClientAuthSettings? clientAuth = null;
        if (d.ClientAuth is { } c)
        {
            X509Certificate2Collection roots = LoadRoots(c.TrustRoots, $"{at}.clientAuth.trustRoots");
            if (roots.Count == 0 && !c.AcceptAnyCert && !c.AllowAnonymous)
            {
                Fail($"{at}.clientAuth.trustRoots", "no trust roots: no client certificate could ever be accepted (set trustRoots, acceptAnyCert or allowAnonymous)");
            }

            clientAuth = new ClientAuthSettings(roots, c.AllowAnonymous, c.AcceptAnyCert);
        }

        return new DownstreamTlsSettings(certificate, alpn, clientAuth);
    }

    /// <summary>
    /// SPEC "Client certificates": a port whose upstreamTls presents a client certificate talks to an app that requires
    /// mTLS. When the agent terminates the caller's TLS (an intercept or wiretap, inspect always) the app sees the
    /// agent's certificate, not the caller's, so the agent must refuse whom the app would refuse: verified callers
    /// (trustRoots) or an explicit allowAnonymous. Without downstreamTls, or with inspect never, the agent never
    /// terminates: the caller's handshake reaches the app, which verifies it itself.
    /// </summary>
    private void CheckCallersVerified(ClientAuthSettings? auth, string at)
    {
        const string Fix = "add clientAuth.trustRoots (the CA of the callers' certificates) or \"allowAnonymous\": true";
        if (auth is null)
        {
            Fail(at, $"required: upstreamTls presents a client certificate (the app requires mTLS), so an intercept would let anonymous callers in; {Fix}");
        }

        if (auth!.AllowAnonymous)
        {
            return; // the explicit opt-in
        }

        if (auth.AcceptAnyCert)
        {
            Fail($"{at}.acceptAnyCert", "lets any self-signed certificate in while upstreamTls presents a client certificate (the app requires mTLS); verify callers with trustRoots, or say \"allowAnonymous\": true");
        }
    }

    private UpstreamTlsSettings ValidateUpstream(UpstreamTlsConfig u, string at)
    {
        CertificateSource? client = LoadPair(u.CertPem, u.KeyPem, at, required: false);
        X509Certificate2Collection roots = LoadRoots(u.TrustRoots, $"{at}.trustRoots");
        if (u.ServerName is { Length: 0 })
        {
            Fail($"{at}.serverName", "must not be empty (use null for the default)");
        }

        return new UpstreamTlsSettings(client, roots, u.InsecureSkipVerify, u.ServerName);
    }

    private CertificateSource? LoadPair(string? certPath, string? keyPath, string at, bool required)
    {
        if (certPath is null && keyPath is null && !required)
        {
            return null;
        }

        if (certPath is null)
        {
            Fail($"{at}.certPem", keyPath is null ? "required" : "required when keyPem is set");
        }

        if (keyPath is null)
        {
            Fail($"{at}.keyPem", "required when certPem is set");
        }

        certPath = IstioFallback(certPath!, "tls.crt", "cert-chain.pem");
        keyPath = IstioFallback(keyPath!, "tls.key", "key.pem");
        foreach ((string file, string field) in new[] { (certPath, "certPem"), (keyPath, "keyPem") })
        {
            if (Directory.Exists(file))
            {
                Fail($"{at}.{field}", $"{file} is a directory, not a file");
            }

            if (!File.Exists(file))
            {
                Fail($"{at}.{field}", $"file not found: {file}");
            }
        }

        try
        {
            if (!_certificates.TryGetValue((certPath, keyPath), out CertificateSource? source))
            {
                source = CertificateSource.Load(certPath, keyPath);
                _certificates[(certPath, keyPath)] = source;
            }

            return source;
        }
        catch (PemException e)
        {
            string field = e.Message.Contains(keyPath!, StringComparison.Ordinal) ? "keyPem" : "certPem";
            Fail($"{at}.{field}", e.Message);
            return null;
        }
    }

    /// <summary>
    /// Istio's certificate volume names the pair cert-chain.pem / key.pem: a configured tls.crt (tls.key) that does
    /// not exist is read from cert-chain.pem (key.pem) in the same directory when that file is there.
    /// </summary>
    internal static string IstioFallback(string path, string configuredName, string istioName)
    {
        if (Path.GetFileName(path) != configuredName || File.Exists(path))
        {
            return path;
        }

        string istio = Path.Combine(Path.GetDirectoryName(path) ?? string.Empty, istioName);
        return File.Exists(istio) ? istio : path;
    }

    private X509Certificate2Collection LoadRoots(List<string>? paths, string at)
    {
        if (paths is null)
        {
            return [];
        }

        for (int i = 0; i < paths.Count; i++)
        {
            try
            {
                PemLoader.LoadTrustRoots([paths[i]]);
            }
            catch (PemException e)
            {
                Fail($"{at}[{i}]", e.Message);
            }
        }

        return PemLoader.LoadTrustRoots(paths);
    }

    internal static readonly TimeSpan DefaultUdpIdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// One intercept (config file or POST /v1/intercepts) against the ports and the intercepts already there. Without a
    /// target it is delivered through the developer tunnel, which needs <paramref name="tunnel"/> (tunnel.listen set).
    /// </summary>
    internal InterceptSettings ValidateIntercept(InterceptConfig c, string at, IReadOnlyList<PortSettings> ports, IEnumerable<InterceptSettings> earlier, bool tunnel = false)
    {
        if (string.IsNullOrEmpty(c.Id))
        {
            Fail($"{at}.id", "required");
        }

        CheckText(c.Id, $"{at}.id", ConfigLimits.MaxInterceptIdLength);

        if (earlier.Any(e => e.Id == c.Id))
        {
            Fail($"{at}.id", $"duplicate intercept id \"{c.Id}\"");
        }

        if (c.Port is null)
        {
            Fail($"{at}.port", "required");
        }

        if (!ports.Any(p => p.Name == c.Port || p.Listen.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) == c.Port))
        {
            Fail($"{at}.port", $"no port named or listening on \"{c.Port}\"");
        }

        string mode = c.Mode ?? "intercept";
        if (mode is not ("intercept" or "wiretap"))
        {
            Fail($"{at}.mode", $"expected \"intercept\" or \"wiretap\", found \"{mode}\"");
        }

        if (c.Target is not null && !Endpoints.TryParseHostPort(c.Target, out _, out _))
        {
            Fail($"{at}.target", $"expected \"HOST:PORT\", found \"{c.Target}\"");
        }

        Routing.Filter? filter = null;
        try
        {
            filter = Routing.FilterParser.ParseOptional(c.Match, $"{at}.match");
        }
        catch (Routing.FilterException e)
        {
            Fail(e.JsonPath, e.Reason);
        }

        PortSettings onPort = ports.First(p => p.Name == c.Port || p.Listen.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) == c.Port);
        string portName = onPort.Name;
        var rule = new Routing.InterceptRule(c.Id!, portName, mode == "wiretap" ? Routing.InterceptMode.Wiretap : Routing.InterceptMode.Intercept, filter, c.Target, c.FailOpen ?? true);
        if (onPort.Protocol == "UDP" && !(rule.IsGlobal && rule.Mode == Routing.InterceptMode.Intercept))
        {
            Fail(rule.IsGlobal ? $"{at}.mode" : $"{at}.match", $"port \"{portName}\" is UDP: only a global intercept (no match) applies to datagrams");
        }

        if (onPort.Protocol == "UDP" && c.Target is null)
        {
            Fail($"{at}.target", $"required on UDP port \"{portName}\" (datagrams are not carried through the developer tunnel)");
        }

        if (c.Target is null && !tunnel)
        {
            Fail($"{at}.target", "required when tunnel.listen is not set (without a target, delivery goes through the developer tunnel)");
        }

        if (Routing.GlobalIntercepts.Conflict(rule, earlier.Select(e => e.Rule)) is { } conflict)
        {
            Fail(at, conflict);
        }

        if (Routing.InterceptConflicts.Find(rule, earlier.Select(e => e.Rule)) is { } same)
        {
            Fail($"{at}.match", $"{Routing.InterceptConflicts.ReasonPrefix} \"{same.Id}\" (same headers and path)");
        }
        DeliveryTlsSettings? tls = null;
        if (c.Delivery is { } d && (d.TrustRoots is { Count: > 0 } || d.ServerName is not null || d.CertPem is not null || d.KeyPem is not null))
        {
            if (d.ServerName is { Length: 0 })
            {
                Fail($"{at}.delivery.serverName", "must not be empty (use null for the default)");
            }

            tls = new DeliveryTlsSettings(LoadRoots(d.TrustRoots, $"{at}.delivery.trustRoots"), d.ServerName, LoadPair(d.CertPem, d.KeyPem, $"{at}.delivery", required: false));
        }

        HttpMode deliveryHttp = c.Delivery?.Http switch
        {
            null or "auto" => HttpMode.Auto,
            "http1" => HttpMode.Http1,
            "http2" => HttpMode.Http2,
            _ => Fail<HttpMode>($"{at}.delivery.http", $"expected \"auto\", \"http1\" or \"http2\", found \"{c.Delivery?.Http}\""),
        };
        return new InterceptSettings(c.Id!, portName, mode, c.Target, c.FailOpen ?? true, rule, c.Delivery?.Plaintext ?? false, tls) { DeliveryHttp = deliveryHttp };
    }

    private string? ReadToken(string path)
    {
        try
        {
            string token = File.ReadAllText(path).Trim();
            if (token.Length == 0)
            {
                Fail("$.admin.tokenFile", $"token file is empty: {path}");
            }

            return token;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string reason = Diagnostics.ErrorText.FileReason(e, path);
            Fail("$.admin.tokenFile", reason == "file not found" ? $"file not found: {path}" : $"cannot read {path}: {reason}");
            return null;
        }
    }

    /// <summary>A free-form string: at most <paramref name="max"/> characters, no control characters.</summary>
    private void CheckText(string? value, string path, int max)
    {
        if (value is not null && ConfigLimits.CheckText(value, max) is { } reason)
        {
            Fail(path, reason);
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Fail(string path, string reason) => throw new ConfigException(file, path, reason);

    private T Fail<T>(string path, string reason) => throw new ConfigException(file, path, reason);
}
