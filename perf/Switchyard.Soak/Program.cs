using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Switchyard.Soak;

// make soak [SOAK_SECONDS=60]: see perf/README.md. Options (command line wins over the environment):
//   --seconds N       SOAK_SECONDS       load duration (default 60)
//   --max-requests N  SOAK_MAX_REQUESTS  cap on requests (default 1,000,000)
//   --concurrency N   SOAK_CONCURRENCY   requests in flight (default 16)
//   --seed N          SOAK_SEED          Bogus seed (default 12)
//   --fd-tolerance N  SOAK_FD_TOLERANCE  fds allowed above the baseline at the end (default 2)
//   --idle-wait N     SOAK_IDLE_WAIT     seconds to wait for the agent's fds to come back (default 90)
//   --keep                               keep the work directory (certs, config, agent.log) even on success
//   --rotate-first                       rotate the certificate before rewriting the config (default: rewrite first)
int seconds = Option(args, "--seconds", "SOAK_SECONDS", 60);
long maxRequests = Option(args, "--max-requests", "SOAK_MAX_REQUESTS", 1_000_000);
int concurrency = Option(args, "--concurrency", "SOAK_CONCURRENCY", 16);
int seed = Option(args, "--seed", "SOAK_SEED", 12);
int fdTolerance = Option(args, "--fd-tolerance", "SOAK_FD_TOLERANCE", 2);
int idleWait = Option(args, "--idle-wait", "SOAK_IDLE_WAIT", 90);
bool keep = args.Contains("--keep") || Environment.GetEnvironmentVariable("SOAK_KEEP") == "1";
bool rotateFirst = args.Contains("--rotate-first");

// Whatever happens, the soak ends: the load, two reloads with 20 s checks each, the idle wait and the shutdown.
var watchdog = TimeSpan.FromSeconds(seconds + idleWait + 180);
var watchdogTimer = new Timer(_ =>
{
    Console.Error.WriteLine($"soak: watchdog: still running after {watchdog.TotalSeconds}s, giving up");
    Environment.Exit(3);
}, null, watchdog, Timeout.InfiniteTimeSpan);

string binary = Agent.Binary();
if (!File.Exists(binary))
{
    Console.Error.WriteLine($"soak: no agent binary at {binary} (run `make publish` or set SWITCHYARD_BIN)");
    return 2;
}

DirectoryInfo work = Directory.CreateTempSubdirectory("switchyard-soak-");
var failures = new List<string>();
Console.WriteLine($"soak: {seconds}s, concurrency {concurrency}, seed {seed}, max {maxRequests} requests{(rotateFirst ? ", certificate rotation before the config rewrite" : "")}; agent {binary}; work dir {work.FullName}");

// PKI: CA, caller and agent client certificates, the agent's server certificate in a kubelet-style volume.
var pki = new Pki();
string caPath = Path.Combine(work.FullName, "ca.crt");
File.WriteAllText(caPath, pki.Ca.ExportCertificatePem() + "\n");
(string agentClientCert, string agentClientKey) = Pki.Pem(pki.AgentClient);
File.WriteAllText(Path.Combine(work.FullName, "agent-client.crt"), agentClientCert);
File.WriteAllText(Path.Combine(work.FullName, "agent-client.key"), agentClientKey);
(string clientCert, string clientKey) = Pki.Pem(pki.Client);
File.WriteAllText(Path.Combine(work.FullName, "caller.crt"), clientCert);
File.WriteAllText(Path.Combine(work.FullName, "caller.key"), clientKey);
(string serverCert, string serverKey) = Pki.Pem(pki.Server);
var certs = new KubeletVolume(Path.Combine(work.FullName, "certs"), new Dictionary<string, string> { ["tls.crt"] = serverCert, ["tls.key"] = serverKey });

await using Target app = await Target.StartAsync("app", pki.Server, requireClientCertFrom: pki, isTap: false);
await using Target developer = await Target.StartAsync("developer", pki.Server, requireClientCertFrom: null, isTap: false);
await using Target tap = await Target.StartAsync("tap", certificate: null, requireClientCertFrom: null, isTap: true);

int listen = Agent.FreePort();
int adminPort = Agent.FreePort();
string configPath = Path.Combine(work.FullName, "config.json");
KubeletVolume.WriteAtomically(configPath, Config(withBob: false).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"soak: app :{app.Port} (TLS, mTLS, h2+http/1.1), developer :{developer.Port} (TLS), tap :{tap.Port} (plaintext); agent :{listen}, admin :{adminPort}");

await using Agent agent = Agent.Start(binary, configPath, adminPort, Path.Combine(work.FullName, "agent.log"),
    new Dictionary<string, string> { ["SWITCHYARD_CONFIG_POLL"] = "200ms" });
agent.LocalPortNames[listen] = "caller";
agent.LocalPortNames[adminPort] = "admin";
agent.RemotePortNames[app.Port] = "app";
agent.RemotePortNames[developer.Port] = "developer";
agent.RemotePortNames[tap.Port] = "tap";
await agent.WaitReadyAsync(TimeSpan.FromSeconds(30));
string fingerprint0 = await agent.ConfigFingerprintAsync();
ProcessSample before = agent.Sample();
Console.WriteLine($"soak: agent pid {agent.Pid} ready; config fingerprint {fingerprint0}; before: RSS {before.RssKiB / 1024.0:F1} MiB, {before.Fds} fds (sockets: {before.States})");

// The load, with a sampler of RSS/fds and the two live changes in the middle.
await using var load = new Load(listen, seed, maxRequests, pki);
var clock = Stopwatch.StartNew();
double Progress() => Math.Max(clock.Elapsed.TotalSeconds / seconds, (double)load.Issued / maxRequests);
Task loadTask = load.RunAsync(concurrency);
ProcessSample peak = before;
string rotatedThumbprint = "";
string initialThumbprint = Pki.Thumbprint(pki.Server);
double nextReport = 10;
int step = 0;
while (Progress() < 1 && !loadTask.IsCompleted)
{
    await Task.WhenAny(loadTask, Task.Delay(500));
    if (agent.HasExited)
    {
        failures.Add($"the agent exited with code {agent.ExitCode} during the load");
        break;
    }

    ProcessSample now = agent.Sample();
    if (now.RssKiB > peak.RssKiB || now.Fds > peak.Fds)
    {
        peak = new ProcessSample(Math.Max(now.RssKiB, peak.RssKiB), Math.Max(now.Fds, peak.Fds), now.SocketStates);
    }

    if (clock.Elapsed.TotalSeconds >= nextReport)
    {
        nextReport += 10;
        Console.WriteLine($"soak: {clock.Elapsed.TotalSeconds,5:F0}s {load.Counters.Requests} requests, {load.Counters.Errors} errors, " +
                          $"{load.Counters.AlteredRequests + load.Counters.AlteredResponses} altered; agent RSS {now.RssKiB / 1024.0:F1} MiB, {now.Fds} fds");
    }

    if (step == 0 && Progress() >= 0.35)
    {
        step = 1;
        await (rotateFirst ? RotateCertificateAsync() : RewriteConfigAsync());
    }
    else if (step == 1 && Progress() >= 0.6)
    {
        step = 2;
        await (rotateFirst ? RewriteConfigAsync() : RotateCertificateAsync());
    }
}

load.Stop();
await loadTask;
double loadSeconds = clock.Elapsed.TotalSeconds;
if (step < 2)
{
    failures.Add("the load ended before the config rewrite and the certificate rotation could run");
}

ProcessSample end = agent.Sample();
Console.WriteLine($"soak: load done after {loadSeconds:F1}s; end of load: RSS {end.RssKiB / 1024.0:F1} MiB, {end.Fds} fds (sockets: {end.States})");

// The callers leave; the targets close idle upstream connections after their 5 s keep-alive; the agent's fds should
// come back to the baseline. Wiretap copies are asynchronous: wait for the tap to have them all.
await load.DisposeAsync();
var idleClock = Stopwatch.StartNew();
ProcessSample after = agent.Sample();
while (idleClock.Elapsed.TotalSeconds < idleWait && !agent.HasExited)
{
    after = agent.Sample();
    if (after.Fds <= before.Fds + fdTolerance)
    {
        break;
    }

    await Task.Delay(500);
}

double idleSeconds = idleClock.Elapsed.TotalSeconds;
string metrics = agent.HasExited ? "" : await agent.MetricsAsync();
double tapDrops = Agent.Sum(metrics, "switchyard_wiretap_drops_total");
long tapExpected = load.Counters.TapCompleted;
for (int i = 0; i < 100 && tap.Requests + tapDrops < tapExpected; i++)
{
    await Task.Delay(100);
    metrics = await agent.MetricsAsync();
    tapDrops = Agent.Sum(metrics, "switchyard_wiretap_drops_total");
}

Counters c = load.Counters;
long altered = c.AlteredRequests + c.AlteredResponses + tap.Altered;
Console.WriteLine();
Console.WriteLine("## Soak summary");
Console.WriteLine($"duration            {loadSeconds:F1} s load, concurrency {concurrency}, seed {seed}");
Console.WriteLine($"requests            {c.Requests} ({c.Requests - c.Http2} HTTP/1.1, {c.Http2} HTTP/2; app {c.ByRoute(Route.App)}, alice {c.ByRoute(Route.Alice)}, wiretap {c.ByRoute(Route.Tap)}, bob {c.ByRoute(Route.Bob)}), {c.Requests / loadSeconds:F0} req/s");
Console.WriteLine($"completed           {c.Completed}, {c.Bytes / 1048576.0:F0} MiB of bodies both ways; latency p50 {load.Percentile(0.5)} ms, p99 {load.Percentile(0.99)} ms");
Console.WriteLine($"errors              {c.Errors}");
Console.WriteLine($"altered bodies      {altered} (request {c.AlteredRequests}, response {c.AlteredResponses}, wiretap copies {tap.Altered})");
Console.WriteLine($"served by           app {c.ServedBy("app")} (app saw {app.Requests}), developer {c.ServedBy("developer")} (developer saw {developer.Requests})");
Console.WriteLine($"wiretap copies      {tap.Requests} received of {tapExpected} tapped requests answered, {tapDrops} dropped (agent: {string.Join("; ", Agent.Samples(metrics, "switchyard_wiretap_drops_total").DefaultIfEmpty("none"))})");
Console.WriteLine($"handshakes          {string.Join(", ", load.HandshakesByCertificate.Select(p => $"{(p.Key == initialThumbprint ? "initial" : p.Key == rotatedThumbprint ? "rotated" : p.Key[..12])} cert {p.Value}"))}");
Console.WriteLine($"reloads             config {Agent.Sum(metrics, "switchyard_config_reloads_total", ("result", "ok"))} ok / {Agent.Sum(metrics, "switchyard_config_reloads_total", ("result", "failed"))} failed; certificate {Agent.Sum(metrics, "switchyard_certificate_reloads_total", ("result", "ok"))} ok / {Agent.Sum(metrics, "switchyard_certificate_reloads_total", ("result", "failed"))} failed");
Console.WriteLine($"agent RSS           before {before.RssKiB / 1024.0:F1} MiB, peak {peak.RssKiB / 1024.0:F1} MiB, end of load {end.RssKiB / 1024.0:F1} MiB, after {after.RssKiB / 1024.0:F1} MiB");
Console.WriteLine($"agent fds           before {before.Fds}, peak {peak.Fds}, end of load {end.Fds}, after {after.Fds} ({idleSeconds:F0} s after the callers left; tolerance +{fdTolerance})");
Console.WriteLine($"agent sockets       before: {before.States}; after: {after.States}");
Console.WriteLine($"agent connection ends: {string.Join("; ", Agent.Samples(metrics, "switchyard_connection_ends_total").DefaultIfEmpty("none"))}");
foreach (string line in load.ErrorSamples)
{
    Console.WriteLine($"  sample: {line}");
}

if (c.Errors != 0)
{
    failures.Add($"{c.Errors} requests failed");
}

if (altered != 0)
{
    failures.Add($"{altered} bodies were altered");
}

if (after.Fds > before.Fds + fdTolerance)
{
    failures.Add($"the agent holds {after.Fds} fds {idleSeconds:F0} s after the load, baseline {before.Fds} (+{fdTolerance} allowed); sockets: {after.States}");
}

if (c.Errors == 0 && (app.Requests != c.ServedBy("app") || developer.Requests != c.ServedBy("developer")))
{
    failures.Add($"the targets saw other request counts than the callers got answers for (app {app.Requests} vs {c.ServedBy("app")}, developer {developer.Requests} vs {c.ServedBy("developer")}): a replay or a lost answer");
}

if (tap.Requests + tapDrops != tapExpected)
{
    failures.Add($"wiretap: {tap.Requests} copies received + {tapDrops} counted drops != {tapExpected} tapped requests");
}

int? exit = await agent.StopAsync(TimeSpan.FromSeconds(30));
Console.WriteLine($"agent exit          {(exit is null ? "did not exit within 30 s of SIGTERM" : exit.Value.ToString(CultureInfo.InvariantCulture))} after SIGTERM");
if (exit != 0)
{
    failures.Add($"the agent's exit after SIGTERM: {(exit is null ? "none within 30 s" : exit.Value.ToString(CultureInfo.InvariantCulture))}");
}

await watchdogTimer.DisposeAsync();
if (failures.Count == 0)
{
    Console.WriteLine("soak: PASS");
    if (!keep)
    {
        await agent.DisposeAsync();
        work.Delete(recursive: true);
    }

    return 0;
}

foreach (string failure in failures)
{
    Console.WriteLine($"soak: FAIL: {failure}");
}

Console.WriteLine($"soak: work dir kept: {work.FullName} (agent.log, config.json, certs/)");
return 1;

// The config: one TLS port (caller certificates required, mTLS to the app), alice's intercept, a wiretap, and after
// the rewrite bob's intercept too.
JsonObject Config(bool withBob)
{
    var intercepts = new JsonArray
    {
        new JsonObject
        {
            ["id"] = "alice",
            ["port"] = "https",
            ["mode"] = "intercept",
            ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "alice" },
            ["target"] = $"127.0.0.1:{developer.Port}",
        },
        new JsonObject
        {
            ["id"] = "tap",
            ["port"] = "https",
            ["mode"] = "wiretap",
            ["match"] = new JsonObject { ["header"] = "x-tap", ["exact"] = "yes" },
            ["target"] = $"127.0.0.1:{tap.Port}",
            ["delivery"] = new JsonObject { ["plaintext"] = true },
        },
    };
    if (withBob)
    {
        intercepts.Add(new JsonObject
        {
            ["id"] = "bob",
            ["port"] = "https",
            ["mode"] = "intercept",
            ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "bob" },
            ["target"] = $"127.0.0.1:{developer.Port}",
        });
    }

    return new JsonObject
    {
        ["version"] = 1,
        ["admin"] = new JsonObject { ["listen"] = $"127.0.0.1:{adminPort}" },
        ["ports"] = new JsonArray
        {
            new JsonObject
            {
                ["name"] = "https",
                ["protocol"] = "TCP",
                ["listen"] = $"127.0.0.1:{listen}",
                ["app"] = $"127.0.0.1:{app.Port}",
                ["inspect"] = "auto",
                ["downstreamTls"] = new JsonObject
                {
                    ["certPem"] = certs.PathOf("tls.crt"),
                    ["keyPem"] = certs.PathOf("tls.key"),
                    ["alpn"] = new JsonArray("h2", "http/1.1"),
                    ["clientAuth"] = new JsonObject { ["trustRoots"] = new JsonArray(caPath) },
                },
                ["upstreamTls"] = new JsonObject
                {
                    ["certPem"] = Path.Combine(work.FullName, "agent-client.crt"),
                    ["keyPem"] = Path.Combine(work.FullName, "agent-client.key"),
                    ["trustRoots"] = new JsonArray(caPath),
                },
            },
        },
        ["intercepts"] = intercepts,
    };
}

// Adds bob's intercept; waits for /v1/status to show the new fingerprint; then bob's requests must reach the developer.
async Task RewriteConfigAsync()
{
    Console.WriteLine($"soak: {clock.Elapsed.TotalSeconds,5:F0}s rewriting the config (adding intercept bob)");
    var sw = Stopwatch.StartNew();
    load.BobPhase = 1;
    KubeletVolume.WriteAtomically(configPath, Config(withBob: true).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    string now = fingerprint0;
    while (sw.Elapsed < TimeSpan.FromSeconds(20) && now == fingerprint0)
    {
        await Task.Delay(100);
        now = await agent.ConfigFingerprintAsync();
    }

    if (now == fingerprint0)
    {
        failures.Add("config rewrite: /v1/status kept the old fingerprint for 20 s");
        return;
    }

    load.BobPhase = 2;
    Console.WriteLine($"soak: {clock.Elapsed.TotalSeconds,5:F0}s config applied in {sw.ElapsedMilliseconds} ms: fingerprint {fingerprint0} -> {now}");
}

// Swaps the certificate volume to a new server certificate; waits until a new handshake presents it.
async Task RotateCertificateAsync()
{
    var rotated = pki.IssueServer();
    rotatedThumbprint = Pki.Thumbprint(rotated);
    Console.WriteLine($"soak: {clock.Elapsed.TotalSeconds,5:F0}s rotating the server certificate ({initialThumbprint[..12]}... -> {rotatedThumbprint[..12]}...)");
    (string cert, string key) = Pki.Pem(rotated);
    var sw = Stopwatch.StartNew();
    certs.Swap(new Dictionary<string, string> { ["tls.crt"] = cert, ["tls.key"] = key });
    string presented = "";
    string status = "";
    while (sw.Elapsed < TimeSpan.FromSeconds(20))
    {
        try
        {
            (presented, status) = await load.ProbeAsync();
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            status = e.Message;
        }

        if (presented == rotatedThumbprint)
        {
            break;
        }

        await Task.Delay(100);
    }

    if (presented != rotatedThumbprint)
    {
        failures.Add($"certificate rotation: new handshakes still get {(presented.Length >= 12 ? presented[..12] : presented)}... after 20 s (last: {status})");
        return;
    }

    if (!status.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
    {
        failures.Add($"certificate rotation: a request on the new handshake got '{status}'");
    }

    Console.WriteLine($"soak: {clock.Elapsed.TotalSeconds,5:F0}s rotated certificate presented after {sw.ElapsedMilliseconds} ms (probe: {status})");
}

static int Option(string[] args, string flag, string env, int fallback)
{
    int i = Array.IndexOf(args, flag);
    string? text = i >= 0 && i + 1 < args.Length ? args[i + 1] : Environment.GetEnvironmentVariable(env);
    return string.IsNullOrWhiteSpace(text) ? fallback : int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
}
