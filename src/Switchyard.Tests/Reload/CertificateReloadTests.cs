using System.Text;
using Switchyard.Config;
using Switchyard.Diagnostics;
using Switchyard.Tests.TestSupport;
using Switchyard.Tls;

namespace Switchyard.Tests.Reload;

public sealed class CertificateReloadTests : IDisposable
{
    private static readonly TimeSpan FastPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan NoPoll = TimeSpan.FromHours(1);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ClockPoll = TimeSpan.FromSeconds(2); // the poll on the manual clock

    private readonly ManualClock _clock = new();

    private readonly TempDirectory _dir = new();
    private readonly CapturingLogger _log = new();
    private readonly LabeledCounter _reloads = new();
    private readonly IssuedCertificate _first = TestPki.Shared.EcLeaf;
    private readonly IssuedCertificate _second = TestPki.Shared.OtherEcLeaf;

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, string> Pair(IssuedCertificate c) =>
        new() { ["tls.crt"] = c.CertificatePem, ["tls.key"] = c.KeyPem(KeyFormat.Pkcs8) };

    private (CertificateSource Source, CertificateWatcher Watcher) Watch(string cert, string key, TimeSpan poll, TimeProvider? time = null)
    {
        CertificateSource source = CertificateSource.Load(cert, key);
        var watcher = new CertificateWatcher(_log, _reloads, poll, time);
        watcher.Watch([source]);
        return (source, watcher);
    }

    /// <summary>Runs <paramref name="count"/> polls on the manual clock: each check has completed when this returns.</summary>
    private void Poll(CertificateWatcher watcher, int count = 1)
    {
        long before = watcher.Checks;
        for (int i = 0; i < count; i++)
        {
            _clock.Advance(ClockPoll);
        }

        Assert.True(watcher.Checks >= before + count, $"{count} polls ran {watcher.Checks - before} checks");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_kubelet_swap_of_the_pair_rotates_the_certificate(bool fileEventsOnly)
    {
        string cert = ReloadFiles.KubeletLayout(_dir.Path, Pair(_first));
        (CertificateSource source, CertificateWatcher watcher) = Watch(cert, _dir.File("tls.key"), fileEventsOnly ? NoPoll : FastPoll);
        using (watcher)
        {
            Assert.Equal(_first.Certificate.Thumbprint, source.Current.Leaf.Thumbprint);

            ReloadFiles.KubeletSwap(_dir.Path, Pair(_second));

            // The new pair, then its count and its log line (written just after the swap): wait for the last of them.
            Assert.True(await Eventually.TrueAsync(() => source.Current.Leaf.Thumbprint == _second.Certificate.Thumbprint
                && _reloads.Get("ok") == 1 && _log.Messages(7005).Any(m => m.Contains(_second.Certificate.SerialNumber, StringComparison.Ordinal)), Wait));
            Assert.True(source.Current.Leaf.HasPrivateKey);
            Assert.Equal(1, source.Generation);
            Assert.Equal(1, _reloads.Get("ok"));
            Assert.Contains(_log.Messages(7005), m => m.Contains(_second.Certificate.SerialNumber, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_certificate_that_does_not_match_the_key_keeps_the_old_pair_and_is_logged_once()
    {
        string cert = _dir.Write("tls.crt", _first.CertificatePem);
        string key = _dir.Write("tls.key", _first.KeyPem(KeyFormat.Pkcs8));
        (CertificateSource source, CertificateWatcher watcher) = Watch(cert, key, ClockPoll, _clock);
        using (watcher)
        {
            File.WriteAllText(cert, _second.CertificatePem); // the key file is not rotated

            Poll(watcher);
            Assert.Equal(1, _reloads.Get("failed"));
            Poll(watcher, count: 5); // the same mismatched pair on every poll
            Assert.Equal(1, _reloads.Get("failed"));
            Assert.Equal(_first.Certificate.Thumbprint, source.Current.Leaf.Thumbprint);
            Assert.Equal(0, source.Generation);
            string line = Assert.Single(_log.Messages(7006));
            Assert.Contains(cert, line, StringComparison.Ordinal);
            Assert.Contains("does not match", line, StringComparison.Ordinal);
            Assert.Contains(_first.Certificate.SerialNumber, line, StringComparison.Ordinal);

            // The matching key arrives: the pair is taken.
            File.WriteAllText(key, _second.KeyPem(KeyFormat.Pkcs8));
            Poll(watcher);
            Assert.Equal(_second.Certificate.Thumbprint, source.Current.Leaf.Thumbprint);
            Assert.Equal(1, source.Generation);
            Assert.Equal(1, _reloads.Get("ok"));
            Assert.Equal(1, _reloads.Get("failed"));
        }
    }

    [Fact]
    public async Task A_half_written_certificate_keeps_the_old_pair_until_the_file_is_complete()
    {
        string cert = _dir.Write("tls.crt", _first.CertificatePem);
        string key = _dir.Write("tls.key", _first.KeyPem(KeyFormat.Pkcs8));
        (CertificateSource source, CertificateWatcher watcher) = Watch(cert, key, FastPoll);
        using (watcher)
        {
            File.WriteAllText(key, _second.KeyPem(KeyFormat.Pkcs8));
            File.WriteAllText(cert, _second.CertificatePem[..(_second.CertificatePem.Length / 2)]);

            Assert.True(await Eventually.TrueAsync(() => _reloads.Get("failed") >= 1, Wait));
            Assert.Equal(_first.Certificate.Thumbprint, source.Current.Leaf.Thumbprint);
            Assert.Contains(_log.Messages(7006), m => m.Contains(cert, StringComparison.Ordinal));

            File.WriteAllText(cert, _second.CertificatePem);
            Assert.True(await Eventually.TrueAsync(() => source.Current.Leaf.Thumbprint == _second.Certificate.Thumbprint, Wait));
        }
    }

    [Fact]
    public void Unchanged_files_do_not_rotate()
    {
        string cert = _dir.Write("tls.crt", _first.CertificatePem);
        string key = _dir.Write("tls.key", _first.KeyPem(KeyFormat.Pkcs8));
        CertificateSource source = CertificateSource.Load(cert, key);
        CertificateMaterial before = source.Current;

        Assert.Equal(RefreshResult.Unchanged, source.Refresh(out string? error));
        Assert.Null(error);
        Assert.Same(before, source.Current);
    }

    [Fact]
    public void Ports_naming_the_same_files_share_one_source()
    {
        string cert = _dir.Write("tls.crt", _first.CertificatePem);
        string key = _dir.Write("tls.key", _first.KeyPem(KeyFormat.Pkcs8));
        string tls = $$"""{"certPem":"{{cert}}","keyPem":"{{key}}"}""";
        string anonymous = tls[..^1] + ""","clientAuth":{"allowAnonymous":true}}"""; // the upstream client certificate needs clientAuth
        string json = $$"""
            {"version":1,"ports":[
              {"name":"a","listen":"127.0.0.1:1","app":"127.0.0.1:2","downstreamTls":{{tls}}},
              {"name":"b","listen":"127.0.0.1:3","app":"127.0.0.1:4","downstreamTls":{{anonymous}},"upstreamTls":{{tls}}}]}
            """;

        AgentSettings settings = ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "config.json");

        CertificateSource shared = settings.Ports[0].DownstreamTls!.Certificate;
        Assert.Same(shared, settings.Ports[1].DownstreamTls!.Certificate);
        Assert.Same(shared, settings.Ports[1].UpstreamTls!.ClientCertificate);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Istio_file_names_are_used_when_tls_crt_and_tls_key_are_missing(bool kubernetesNamesPresent)
    {
        _dir.Write("cert-chain.pem", _first.CertificatePem);
        _dir.Write("key.pem", _first.KeyPem(KeyFormat.Pkcs8));
        if (kubernetesNamesPresent)
        {
            _dir.Write("tls.crt", _second.CertificatePem);
            _dir.Write("tls.key", _second.KeyPem(KeyFormat.Pkcs8));
        }

        string json = IstioConfig();

        CertificateSource source = ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "config.json").Ports[0].DownstreamTls!.Certificate;

        IssuedCertificate expected = kubernetesNamesPresent ? _second : _first;
        Assert.Equal(expected.Certificate.Thumbprint, source.Current.Leaf.Thumbprint);
        Assert.Equal(_dir.File(kubernetesNamesPresent ? "tls.crt" : "cert-chain.pem"), source.CertPath);
        Assert.Equal(_dir.File(kubernetesNamesPresent ? "tls.key" : "key.pem"), source.KeyPath);
    }

    [Fact]
    public void A_missing_tls_crt_without_istio_files_is_still_reported_under_its_configured_name()
    {
        string json = IstioConfig();

        ConfigException e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Encoding.UTF8.GetBytes(json), "config.json"));

        Assert.Equal("$.ports[0].downstreamTls.certPem", e.JsonPath);
        Assert.Equal($"file not found: {_dir.File("tls.crt")}", e.Reason);
    }

    private string IstioConfig()
    {
        string tls = $$"""{"certPem":"{{_dir.File("tls.crt")}}","keyPem":"{{_dir.File("tls.key")}}"}""";
        return $$"""{"version":1,"ports":[{"name":"a","listen":"127.0.0.1:1","app":"127.0.0.1:2","downstreamTls":{{tls}} }]}""";
    }
}
