using System.Collections.Concurrent;
using Switchyard.Config;
using Switchyard.Diagnostics;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Reload;

public sealed class ConfigWatcherTests : IDisposable
{
    private static readonly TimeSpan FastPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan NoPoll = TimeSpan.FromHours(1); // only file events can trigger a reload
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ClockPoll = TimeSpan.FromSeconds(2); // the poll on the manual clock

    private readonly ManualClock _clock = new();

    private readonly TempDirectory _dir = new();
    private readonly CapturingLogger _log = new();
    private readonly Metrics _metrics = new();
    private readonly ConcurrentQueue<AgentSettings> _applied = new();

    public void Dispose() => _dir.Dispose();

    private ConfigWatcher Watch(string path, TimeSpan poll, Func<AgentSettings, string?>? apply = null, TimeProvider? time = null) =>
        new(path, ConfigLoader.Load(path).Fingerprint, s =>
        {
            string? error = apply?.Invoke(s);
            if (error is null)
            {
                _applied.Enqueue(s);
            }

            return (error, "test");
        }, _metrics, _log, poll, time);

    /// <summary>A watcher whose polls (and debounced file events) run only when <see cref="Poll"/> moves the clock.</summary>
    private ConfigWatcher WatchOnClock(string path) => Watch(path, ClockPoll, time: _clock);

    /// <summary>Runs <paramref name="count"/> polls: each check has completed when this returns (the clock fires timers on this thread).</summary>
    private void Poll(ConfigWatcher watcher, int count = 1)
    {
        long before = watcher.Checks;
        for (int i = 0; i < count; i++)
        {
            _clock.Advance(ClockPoll);
        }

        Assert.True(watcher.Checks >= before + count, $"{count} polls ran {watcher.Checks - before} checks");
    }

    private static string One(string name, int listen, params string[] intercepts) => ReloadFiles.Config([(name, listen)], intercepts);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_rewritten_file_is_applied_once_with_its_new_fingerprint(bool fileEventsOnly)
    {
        string path = _dir.Write("config.json", One("web", 18001));
        using ConfigWatcher watcher = Watch(path, fileEventsOnly ? NoPoll : FastPoll);

        string next = One("web", 18001, "alice@web");
        File.WriteAllText(path, next);

        Assert.True(await Eventually.TrueAsync(() => _metrics.ConfigReloadsOk == 1, Wait));
        AgentSettings applied = Assert.Single(_applied);
        Assert.Equal("alice", Assert.Single(applied.Intercepts).Id);
        Assert.Equal(ConfigLoader.Fingerprint(System.Text.Encoding.UTF8.GetBytes(next)), applied.Fingerprint);
        Assert.Equal(applied.Fingerprint, watcher.Fingerprint);
        Assert.Contains(_log.Messages(7001), m => m.Contains(applied.Fingerprint, StringComparison.Ordinal));
        Assert.Equal(0, _metrics.ConfigReloadsFailed);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_kubelet_data_symlink_swap_is_applied(bool fileEventsOnly)
    {
        string path = ReloadFiles.KubeletLayout(_dir.Path, new Dictionary<string, string> { ["config.json"] = One("web", 18002) });
        using ConfigWatcher watcher = Watch(path, fileEventsOnly ? NoPoll : FastPoll);

        ReloadFiles.KubeletSwap(_dir.Path, new Dictionary<string, string> { ["config.json"] = One("web", 18002, "bob@web") });

        Assert.True(await Eventually.TrueAsync(() => _metrics.ConfigReloadsOk == 1, Wait));
        Assert.Equal("bob", Assert.Single(Assert.Single(_applied).Intercepts).Id);

        // The watch survives the swap: a second swap is seen too.
        ReloadFiles.KubeletSwap(_dir.Path, new Dictionary<string, string> { ["config.json"] = One("web", 18002, "carol@web") });
        Assert.True(await Eventually.TrueAsync(() => _metrics.ConfigReloadsOk == 2, Wait));
        Assert.Equal("carol", Assert.Single(_applied.Last().Intercepts).Id);
    }

    [Fact]
    public void An_invalid_rewrite_keeps_the_old_config_logs_file_and_path_and_counts_failed_once()
    {
        string good = One("web", 18003);
        string path = _dir.Write("config.json", good);
        using ConfigWatcher watcher = WatchOnClock(path);
        string before = watcher.Fingerprint;

        File.WriteAllText(path, good.Replace("\"tls\":\"off\"", "\"tls\":\"sometimes\"", StringComparison.Ordinal));

        Poll(watcher);
        Assert.Equal(1, _metrics.ConfigReloadsFailed);
        Poll(watcher, count: 5); // several polls of the same bad bytes
        Assert.Equal(1, _metrics.ConfigReloadsFailed);
        Assert.Empty(_applied);
        Assert.Equal(before, watcher.Fingerprint);
        string error = Assert.Single(_log.Messages(7002));
        Assert.Contains($"{path}: $.ports[0].tls", error, StringComparison.Ordinal);
        Assert.Contains(before, error, StringComparison.Ordinal);

        // Fixing the file applies it.
        File.WriteAllText(path, One("web", 18003, "dave@web"));
        Poll(watcher);
        Assert.Equal(1, _metrics.ConfigReloadsOk);
        Assert.Equal("dave", Assert.Single(Assert.Single(_applied).Intercepts).Id);
        Assert.Equal(1, _metrics.ConfigReloadsFailed);
    }

    [Fact]
    public void A_config_naming_a_certificate_that_appears_later_is_applied_then_without_the_file_changing()
    {
        string path = _dir.Write("config.json", One("web", 18006));
        using ConfigWatcher watcher = WatchOnClock(path);
        string certs = _dir.CreateSubdirectory("later");
        string cert = Path.Combine(certs, "tls.crt");
        string key = Path.Combine(certs, "tls.key");

        // The ConfigMap changed before the Secret it names was mounted.
        File.WriteAllText(path, One("web", 18006).Replace("\"tls\":\"off\"", $$"""
            "tls":"auto","downstreamTls":{"certPem":"{{cert}}","keyPem":"{{key}}"}
            """.Trim(), StringComparison.Ordinal));
        Poll(watcher);
        Assert.Equal(1, _metrics.ConfigReloadsFailed);
        Poll(watcher, count: 4); // retried on every poll, reported once
        Assert.Equal(1, _metrics.ConfigReloadsFailed);
        Assert.Contains("file not found", Assert.Single(_log.Messages(7002)), StringComparison.Ordinal);

        File.WriteAllText(key, TestPki.Shared.EcLeaf.KeyPem(KeyFormat.Pkcs8));
        File.WriteAllText(cert, TestPki.Shared.EcLeaf.CertificatePem);

        Poll(watcher);
        Assert.Equal(1, _metrics.ConfigReloadsOk);
        Assert.NotNull(Assert.Single(_applied).Ports[0].DownstreamTls);
        Assert.Equal(1, _metrics.ConfigReloadsFailed);
    }

    [Fact]
    public async Task A_config_the_agent_rejected_is_applied_once_the_agent_accepts_it()
    {
        string path = _dir.Write("config.json", One("web", 18007));
        int refusals = 3;
        using ConfigWatcher watcher = Watch(path, FastPoll, _ => Interlocked.Decrement(ref refusals) >= 0 ? "config.json: $.ports[1].listen: cannot listen on 127.0.0.1:18008: address in use" : null);

        File.WriteAllText(path, ReloadFiles.Config([("web", 18007), ("extra", 18008)]));

        Assert.True(await Eventually.TrueAsync(() => _metrics.ConfigReloadsOk == 1, Wait));
        Assert.Equal(1, _metrics.ConfigReloadsFailed); // the same reason three times is one failure
        Assert.Equal(2, Assert.Single(_applied).Ports.Count);
    }

    [Fact]
    public void Rewriting_the_same_bytes_does_not_reload()
    {
        string text = One("web", 18004);
        string path = _dir.Write("config.json", text);
        using ConfigWatcher watcher = WatchOnClock(path);

        File.WriteAllText(path, text);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Poll(watcher, count: 3); // checks that read the same bytes

        // A later, different rewrite is applied, and it is the only reload: the same bytes reloaded nothing.
        File.WriteAllText(path, One("web", 18004, "frank@web"));
        Poll(watcher);

        Assert.Equal("frank", Assert.Single(Assert.Single(_applied).Intercepts).Id);
        Assert.Equal(1, _metrics.ConfigReloadsOk);
        Assert.Equal(0, _metrics.ConfigReloadsFailed);
    }

    [Fact]
    public async Task A_config_the_agent_rejects_counts_as_failed_and_keeps_the_fingerprint()
    {
        string path = _dir.Write("config.json", One("web", 18005));
        using ConfigWatcher watcher = Watch(path, FastPoll, _ => "config.json: $.ports[1].listen: cannot listen on 127.0.0.1:1: denied");
        string before = watcher.Fingerprint;

        File.WriteAllText(path, ReloadFiles.Config([("web", 18005), ("extra", 1)]));

        Assert.True(await Eventually.TrueAsync(() => _metrics.ConfigReloadsFailed == 1, Wait));
        Assert.Equal(before, watcher.Fingerprint);
        Assert.Contains("$.ports[1].listen", Assert.Single(_log.Messages(7002)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_deleted_file_is_reported_once_and_its_return_is_applied()
    {
        string path = _dir.Write("config.json", One("web", 18006));
        using ConfigWatcher watcher = WatchOnClock(path);

        File.Delete(path);
        Poll(watcher);
        Assert.Equal(1, _metrics.ConfigReloadsFailed);
        Poll(watcher, count: 4); // still missing on every poll, reported once
        Assert.Equal(1, _metrics.ConfigReloadsFailed);
        Assert.Contains("file not found", Assert.Single(_log.Messages(7002)), StringComparison.Ordinal);

        File.WriteAllText(path, One("web", 18006, "erin@web"));
        Poll(watcher);
        Assert.Equal(1, _metrics.ConfigReloadsOk);
        Assert.Equal("erin", Assert.Single(Assert.Single(_applied).Intercepts).Id);
    }
}
