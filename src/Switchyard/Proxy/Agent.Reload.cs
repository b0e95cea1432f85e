using System.Net;
using System.Net.Sockets;
using Switchyard.Config;
using Switchyard.Diagnostics;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>Applying a new valid config to the running agent (a live reload).</summary>
internal sealed partial class Agent
{
    /// <summary>
    /// Makes <paramref name="next"/> the config in force. Ports are matched by listen address: a kept port keeps
    /// its listener and open connections (which finish with the settings they started with) and new connections
    /// use the new settings; a new address is bound before anything changes, so a port that cannot be bound
    /// rejects the whole reload and the old config stays; a removed port stops accepting while its open
    /// connections finish. The config's intercepts replace the previous config's; intercepts added through the
    /// admin API stay unless the new config uses their id.
    /// </summary>
    /// <returns>null and a summary of the changes, or the reason the reload was rejected (one line: file: $.path: reason).</returns>
    public (string? Error, string Changes) Apply(AgentSettings next)
    {
        lock (_applyLock)
        {
            if (_draining)
            {
                return ($"{next.FilePath}: $: the agent is draining", string.Empty);
            }

            AgentSettings current = _settings;
            next = ReuseCertificateSources(next);
            List<PortRuntime> before = _ports;
            // A TCP and a UDP port may share a number: ports are matched by protocol and listen address.
            var byListen = new Dictionary<(string, IPEndPoint), PortRuntime>();
            foreach (PortRuntime port in before)
            {
                byListen[(port.Settings.Protocol, port.Settings.Listen)] = port;
            }

            // Bind every new address first: nothing changes unless all of them can be bound.
            var added = new List<PortRuntime>();
            foreach (PortSettings settings in next.Ports.Where(p => !byListen.ContainsKey((p.Protocol, p.Listen))))
            {
                var port = new PortRuntime(settings, _detectionLogger);
                try
                {
                    if (settings.Protocol == "UDP")
                    {
                        port.Udp = UdpRelay.Bind(port, Routes, _udpLogger);
                    }
                    else
                    {
                        port.Listener = Listener.Bind(settings.Listen);
                    }
                }
                catch (SocketException e)
                {
                    foreach (PortRuntime bound in added)
                    {
                        bound.Listener?.Dispose();
                        bound.Udp?.Dispose();
                    }

                    string address = ConfigException.Address(settings.Listen) + (settings.Protocol == "UDP" ? "/udp" : string.Empty);
                    return (ConfigException.Listen(next.FilePath, $"$.ports[{settings.Index}].listen", address, e).Message, string.Empty);
                }

                added.Add(port);
            }

            var changes = new List<string>();
            var ports = new List<PortRuntime>(next.Ports.Count);
            foreach (PortSettings settings in next.Ports)
            {
                if (byListen.Remove((settings.Protocol, settings.Listen), out PortRuntime? kept))
                {
                    if (kept.Update(settings))
                    {
                        changes.Add($"port {settings.Name} changed");
                    }

                    ports.Add(kept);
                }
                else
                {
                    ports.Add(added.First(p => p.Settings == settings));
                    changes.Add($"port {settings.Name} added on {Endpoints.Format(settings.Listen)}");
                }
            }

            _ports = ports;
            _settings = next;
            foreach (PortRuntime port in added)
            {
                if (port.Udp is not null)
                {
                    StartRelaying(port);
                }
                else
                {
                    StartAccepting(port);
                }
            }

            foreach (PortRuntime removed in byListen.Values)
            {
                removed.Listener?.Dispose(); // open connections finish; the tracker still drains them
                removed.Udp?.Dispose();
                changes.Add($"port {removed.Settings.Name} on {Endpoints.Format(removed.Settings.Listen)} removed");
            }

            ReplaceConfigIntercepts(next.Intercepts, changes);
            if (!next.AdminListen.Equals(current.AdminListen))
            {
                _logger.AdminListenNotApplied(Endpoints.Format(next.AdminListen), Endpoints.Format(current.AdminListen));
            }

            if (next.AdminToken != current.AdminToken)
            {
                changes.Add("admin token changed");
            }

            WatchCertificates();
            CheckCertificates();
            return (null, changes.Count == 0 ? "no effective change" : string.Join(", ", changes));
        }
    }

    /// <summary>
    /// Every certificate source in force: the settings each port actually uses (a kept, unchanged port keeps its
    /// previous settings object), the config's, and the live intercepts'. One entry per object.
    /// </summary>
    private List<Tls.CertificateSource> SourcesInForce()
    {
        var sources = new List<Tls.CertificateSource>();
        foreach (PortSettings port in _ports.Select(p => p.Settings).Concat(_settings.Ports))
        {
            Add(port.DownstreamTls?.Certificate);
            Add(port.UpstreamTls?.ClientCertificate);
        }

        foreach (InterceptSettings intercept in Intercepts.Values)
        {
            Add(intercept.Tls?.ClientCertificate);
        }

        return sources;

        void Add(Tls.CertificateSource? source)
        {
            if (source is not null && !sources.Contains(source))
            {
                sources.Add(source);
            }
        }
    }

    /// <summary>
    /// <paramref name="next"/> with each certificate pair that is already in force (same files, same certificate
    /// loaded) replaced by the source in force, so that one file pair keeps one source across reloads: a kept,
    /// unchanged port goes on reading the source that the watcher refreshes, and a rotation counts once.
    /// </summary>
    private AgentSettings ReuseCertificateSources(AgentSettings next)
    {
        Func<Tls.CertificateSource?, Tls.CertificateSource?> reuse = SourceReuser();
        PortSettings[] ports = [.. next.Ports.Select(p =>
            reuse(p.DownstreamTls?.Certificate) == p.DownstreamTls?.Certificate && reuse(p.UpstreamTls?.ClientCertificate) == p.UpstreamTls?.ClientCertificate
                ? p
                : p with
                {
                    DownstreamTls = p.DownstreamTls is { } d ? d with { Certificate = reuse(d.Certificate)! } : null,
                    UpstreamTls = p.UpstreamTls is { } u ? u with { ClientCertificate = reuse(u.ClientCertificate) } : null,
                })];
        InterceptSettings[] intercepts = [.. next.Intercepts.Select(i => ReuseCertificateSource(i, reuse))];
        return ports.SequenceEqual(next.Ports) && intercepts.SequenceEqual(next.Intercepts)
            ? next // nothing in force to share: the settings object stays the one given
            : next with { Ports = ports, Intercepts = intercepts };
    }

    private static InterceptSettings ReuseCertificateSource(InterceptSettings intercept, Func<Tls.CertificateSource?, Tls.CertificateSource?> reuse) =>
        intercept.Tls is { } t && reuse(t.ClientCertificate) != t.ClientCertificate ? intercept with { Tls = t with { ClientCertificate = reuse(t.ClientCertificate) } } : intercept;

    /// <summary>Maps a freshly loaded source to the one in force for the same files when both hold the same certificate.</summary>
    private Func<Tls.CertificateSource?, Tls.CertificateSource?> SourceReuser()
    {
        var inForce = new Dictionary<(string, string), Tls.CertificateSource>();
        foreach (Tls.CertificateSource source in SourcesInForce())
        {
            inForce.TryAdd((source.CertPath, source.KeyPath), source);
        }

        return source =>
            source is not null && inForce.TryGetValue((source.CertPath, source.KeyPath), out Tls.CertificateSource? kept)
                && kept.Current.Leaf.Thumbprint == source.Current.Leaf.Thumbprint
                && kept.Current.Intermediates.Count == source.Current.Intermediates.Count
                ? kept
                : source;
    }

    /// <summary>Swaps the previous config's intercepts for <paramref name="intercepts"/> in one route-table snapshot; admin API ones stay.</summary>
    private void ReplaceConfigIntercepts(IReadOnlyList<InterceptSettings> intercepts, List<string> changes)
    {
        lock (_interceptsLock)
        {
            var ids = new HashSet<string>(intercepts.Select(i => i.Id), StringComparer.Ordinal);
            var rules = intercepts.Select(i => i.Rule).ToList();
            foreach (Routing.InterceptRule rule in Routes.Snapshot.Rules.Where(r => !_configIntercepts.Contains(r.Id)))
            {
                if (ids.Contains(rule.Id))
                {
                    _logger.AdminInterceptReplaced(rule.Id);
                }
                else
                {
                    rules.Add(rule);
                }
            }

            // Delivery settings first, so that a request routed by the new table finds them; then the one swap.
            DateTimeOffset now = TimeProvider.System.GetUtcNow();
            foreach (InterceptSettings intercept in intercepts)
            {
                if (!Intercepts.TryGetValue(intercept.Id, out InterceptSettings? old) || !SameIntercept(old, intercept))
                {
                    string change = _configIntercepts.Contains(intercept.Id) ? "changed" : "added";
                    changes.Add($"intercept {intercept.Id} {change}");
                    _logger.InterceptFromConfig(intercept.Mode, intercept.Id, intercept.Port, change, MatchText(intercept.Rule), TargetText(intercept));
                    Origins[intercept.Id] = new InterceptOrigin(InterceptOrigin.Config, now);
                }

                Intercepts[intercept.Id] = intercept;
            }

            Routes.Replace(Routing.RouteTable.Create(rules));
            foreach (string gone in _configIntercepts.Where(id => !ids.Contains(id)))
            {
                Intercepts.TryRemove(gone, out InterceptSettings? removed);
                Origins.TryRemove(gone, out _);
                changes.Add($"intercept {gone} removed");
                _logger.InterceptRemoved(removed?.Mode ?? "intercept", gone, removed?.Port ?? "?", "the config file");
            }

            _configIntercepts.Clear();
            _configIntercepts.UnionWith(ids);
        }
    }

    /// <summary>Same rule and delivery (the loaded certificate and root objects are recreated by every reload, so they are compared by file and thumbprint).</summary>
    private static bool SameIntercept(InterceptSettings a, InterceptSettings b) =>
        a.Rule.Equals(b.Rule) && a.Plaintext == b.Plaintext && a.DeliveryHttp == b.DeliveryHttp && (a.Tls is null) == (b.Tls is null)
        && (a.Tls is null || (a.Tls.ServerName == b.Tls!.ServerName && a.Tls.ClientCertificate?.CertPath == b.Tls.ClientCertificate?.CertPath
            && a.Tls.TrustRoots.Count == b.Tls.TrustRoots.Count));
}
