using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Admin;

/// <summary>
/// Issue 14 items 5-7: the intercept lifecycle in logs and the admin API (filter, source, time, requests), the
/// Prometheus metrics a user expects (request-duration histogram, build_info, process_*, known series at 0), and
/// wire bytes on a decrypted connection's end line.
/// </summary>
public sealed class InterceptVisibilityTests(ITestOutputHelper output)
{
    private static readonly HttpClient Admin = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<ProxiedApp> StartAsync(ITestOutputHelper output, Action<JsonObject>? configure = null) =>
        await ProxiedApp.StartAsync(output, new KestrelAppOptions { Certificate = TestPki.Shared.Server, Name = "the-app" }, "always", (port, pem) =>
        {
            port["downstreamTls"] = AgentConfig.DownstreamTls(pem.Server, ["http/1.1"]);
            port["upstreamTls"] = AgentConfig.UpstreamTls(pem.CaCert);
            configure?.Invoke(port);
        });

    private static Task<CurlResult> Get(ProxiedApp proxied, params string[] extra) =>
        Curl.HttpsAsync(proxied.ListenPort, "/api/cart", ["--cacert", proxied.Pem.CaCert, .. extra]);

    private static async Task<HttpStatusCode> PostIntercept(AgentProcess agent, JsonObject body)
    {
        using var response = await Admin.PostAsync(agent.AdminUri("/v1/intercepts"), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return response.StatusCode;
    }

    private static async Task<JsonObject> InterceptAsync(AgentProcess agent, string id)
    {
        var (status, body, _) = await agent.GetAsync("/v1/intercepts");
        Assert.Equal(HttpStatusCode.OK, status);
        return JsonNode.Parse(body)!.AsArray().Select(i => i!.AsObject()).Single(i => i["id"]!.GetValue<string>() == id);
    }

    [Fact]
    public async Task AddingRefusingAndRemovingAnInterceptIsLoggedAndTheApiShowsItsFilterSourceTimeAndRequests()
    {
        await using var proxied = await StartAsync(output);
        await using var developer = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "bob-laptop" });
        var agent = proxied.Agent;
        var body = new JsonObject
        {
            ["id"] = "bob",
            ["port"] = "web",
            ["match"] = new JsonObject { ["header"] = "x-dev", ["exact"] = "bob" },
            ["target"] = $"127.0.0.1:{developer.Port}",
            ["delivery"] = new JsonObject { ["plaintext"] = true },
        };
        DateTimeOffset before = DateTimeOffset.UtcNow.AddSeconds(-1);

        Assert.Equal(HttpStatusCode.Created, await PostIntercept(agent, body));

        var added = await agent.WaitForLogAsync(l => l.Message.StartsWith("intercept bob added on port web by admin API from 127.0.0.1:", StringComparison.Ordinal), "the intercept's added line");
        Assert.Contains("""match {"header":"x-dev","exact":"bob"}""", added.Message, StringComparison.Ordinal);
        Assert.Contains($"to 127.0.0.1:{developer.Port}", added.Message, StringComparison.Ordinal);
        Assert.Equal("Information", added.LogLevel);

        JsonObject shown = await InterceptAsync(agent, "bob");
        Assert.Equal("""{"header":"x-dev","exact":"bob"}""", shown["match"]!.ToJsonString());
        Assert.StartsWith("admin API from 127.0.0.1:", shown["source"]!.GetValue<string>(), StringComparison.Ordinal);
        DateTimeOffset at = DateTimeOffset.Parse(shown["added"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        Assert.InRange(at, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(0, shown["requests"]!.GetValue<long>());

        var status = await agent.GetStatusAsync();
        var inStatus = status["intercepts"]!.AsArray().Single()!;
        Assert.Equal(shown.ToJsonString(), inStatus.ToJsonString());

        var routed = await Get(proxied, "-H", "x-dev: bob");
        Assert.StartsWith("app=bob-laptop\n", routed.Body, StringComparison.Ordinal);
        Assert.StartsWith("app=the-app\n", (await Get(proxied)).Body, StringComparison.Ordinal);
        Assert.Equal(1, (await InterceptAsync(agent, "bob"))["requests"]!.GetValue<long>());

        Assert.Equal(HttpStatusCode.Conflict, await PostIntercept(agent, body));
        var refused = await agent.WaitForLogAsync(l => l.Message.StartsWith("intercept bob from admin API from 127.0.0.1:", StringComparison.Ordinal), "the refusal line");
        Assert.Contains("refused (409)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("duplicate intercept id", refused.Message, StringComparison.Ordinal);
        Assert.Equal("Warning", refused.LogLevel);

        using (var removed = await Admin.DeleteAsync(agent.AdminUri("/v1/intercepts/bob")))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }

        var gone = await agent.WaitForLogAsync(l => l.Message.StartsWith("intercept bob on port web removed by admin API from 127.0.0.1:", StringComparison.Ordinal), "the removal line");
        Assert.EndsWith("its requests go to the app", gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInterceptFromTheConfigFileShowsConfigAsItsSourceAndLogsNoAdminLine()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "the-app" });
        var port = AgentConfig.Port("web", Ports.GetFreeTcpPort(), app.Port, "always");
        port["tls"] = "off";
        var config = AgentConfig.Create(Ports.GetFreeTcpPort(), port);
        config["intercepts"] = new JsonArray(new JsonObject
        {
            ["id"] = "alice",
            ["port"] = "web",
            ["match"] = new JsonObject { ["path"] = new JsonObject { ["prefix"] = "/api/" } },
            ["target"] = "127.0.0.1:9",
        });
        await using var agent = await AgentProcess.StartAsync(output, dir, config);

        JsonObject shown = await InterceptAsync(agent, "alice");

        Assert.Equal("config", shown["source"]!.GetValue<string>());
        Assert.Equal("""{"path":{"prefix":"/api/"}}""", shown["match"]!.ToJsonString());
        Assert.Equal("127.0.0.1:9", shown["target"]!.GetValue<string>());
        string metrics = await agent.GetMetricsAsync();
        Assert.Contains("switchyard_requests_total{port=\"web\",route=\"alice\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("switchyard_intercept_fail_open_total{port=\"web\",intercept=\"alice\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(agent.Logs, l => l.Message.Contains("by admin API", StringComparison.Ordinal));
        Assert.Contains(agent.Logs, l => l.Message == """intercept alice on port web added by the config file: match {"path":{"prefix":"/api/"}}, to 127.0.0.1:9""");
    }

    [Fact]
    public async Task MetricsCarryARequestHistogramBuildInfoProcessMetricsAndKnownSeriesAtZero()
    {
        await using var proxied = await StartAsync(output);
        var agent = proxied.Agent;

        string initial = await agent.GetMetricsAsync();
        PrometheusText.Parse(initial); // well-formed, as Prometheus reads it
        Assert.Equal(0, PrometheusText.Sum(initial, "switchyard_requests_total", ("port", "web"), ("route", "app")));
        Assert.Contains("switchyard_requests_total{port=\"web\",route=\"app\"} 0\n", initial, StringComparison.Ordinal);
        Assert.Contains("switchyard_request_duration_seconds_count{port=\"web\",route=\"app\"} 0\n", initial, StringComparison.Ordinal);
        Assert.Contains("switchyard_connection_ends_total{port=\"web\",reason=\"idle_timeout\"} 0\n", initial, StringComparison.Ordinal);
        Assert.Contains("# TYPE switchyard_request_duration_seconds histogram\n", initial, StringComparison.Ordinal);

        var build = PrometheusText.Parse(initial).Single(s => s.Name == "switchyard_build_info");
        Assert.Equal(1, build.Value);
        var version = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), ["version"]);
        Assert.Contains($"switchyard {build.Labels["version"]} (commit {build.Labels["commit"]},", version.Stdout, StringComparison.Ordinal);
        Assert.Matches("^([0-9a-f]{7,40}|unknown)$", build.Labels["commit"]);

        var samples = PrometheusText.Parse(initial).Where(s => s.Name.StartsWith("process_", StringComparison.Ordinal)).ToDictionary(s => s.Name, s => s.Value);
        Assert.InRange(samples["process_resident_memory_bytes"], 1 << 20, 1L << 32);
        Assert.InRange(samples["process_open_fds"], 4, samples["process_max_fds"]);
        Assert.True(samples["process_cpu_seconds_total"] > 0, "process_cpu_seconds_total > 0");
        Assert.InRange(samples["process_start_time_seconds"], DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);

        for (int i = 0; i < 3; i++)
        {
            Assert.True((await Get(proxied)).Succeeded);
        }

        await agent.WaitForMetricAsync("switchyard_request_duration_seconds_count", [("port", "web"), ("route", "app")], v => v == 3, "== 3");
        string text = await agent.GetMetricsAsync();
        var buckets = PrometheusText.Parse(text)
            .Where(s => s.Name == "switchyard_request_duration_seconds_bucket" && s.Labels["route"] == "app")
            .ToList();
        Assert.Equal("+Inf", buckets[^1].Labels["le"]);
        Assert.Equal(3, buckets[^1].Value);
        for (int i = 1; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].Value >= buckets[i - 1].Value, $"buckets are cumulative: {buckets[i - 1].Labels["le"]} -> {buckets[i].Labels["le"]}");
            if (i < buckets.Count - 1)
            {
                Assert.True(double.Parse(buckets[i].Labels["le"], CultureInfo.InvariantCulture) > double.Parse(buckets[i - 1].Labels["le"], CultureInfo.InvariantCulture));
            }
        }

        double sum = PrometheusText.Sum(text, "switchyard_request_duration_seconds_sum", ("port", "web"), ("route", "app"));
        Assert.InRange(sum, 1e-6, 30);
        Assert.Equal(3, PrometheusText.Sum(text, "switchyard_requests_total", ("port", "web"), ("route", "app")));
    }

    [Fact]
    public async Task ADecryptedConnectionsEndLineCountsTheBytesOnTheWireNotOnlyTheBodies()
    {
        await using var proxied = await StartAsync(output);

        Assert.True((await Get(proxied)).Succeeded); // a GET: no request body, a short response body

        var ended = await proxied.Agent.WaitForLogAsync(l => l.Message.Contains(" ended: completed", StringComparison.Ordinal), "the connection's end line");
        using var line = JsonDocument.Parse(ended.Raw);
        long bytesIn = FindNumber(line.RootElement, "bytesIn");
        long bytesOut = FindNumber(line.RootElement, "bytesOut");
        Assert.True(bytesIn > 300, $"bytes in {bytesIn}: a ClientHello and a request head cross the wire ({ended.Message})");
        Assert.True(bytesOut > 1000, $"bytes out {bytesOut}: a certificate chain and a response ({ended.Message})");
    }

    private static long FindNumber(JsonElement element, string name)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty property in element.EnumerateObject())
            {
                if (property.Name == name && property.Value.ValueKind == JsonValueKind.Number)
                {
                    return property.Value.GetInt64();
                }

                if (property.Value.ValueKind == JsonValueKind.Object && FindNumber(property.Value, name) is var found and >= 0)
                {
                    return found;
                }
            }
        }

        return -1;
    }
}
