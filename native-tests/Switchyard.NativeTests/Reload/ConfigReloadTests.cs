using System.Globalization;
using System.IO.Hashing;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Reload;

/// <summary>The agent follows its config file in a kubelet ConfigMap volume (..data symlink swaps).</summary>
public sealed class ConfigReloadTests(ITestOutputHelper output)
{
    private const long BodyLength = 32L * 1024 * 1024;
    private static readonly (string, string)[] Ok = [("result", "ok")];
    private static readonly (string, string)[] Failed = [("result", "failed")];

    /// <summary>The environment every reload test gives the agent: a fast periodic check keeps the tests short.</summary>
    internal static Dictionary<string, string> FastPoll => new() { ["SWITCHYARD_CONFIG_POLL"] = "200ms" };

    internal static JsonObject Intercept(string id, string port, int target) => new()
    {
        ["id"] = id,
        ["port"] = port,
        ["mode"] = "intercept",
        ["match"] = new JsonObject { ["all"] = new JsonArray(new JsonObject { ["header"] = "x-dev", ["exact"] = id }) },
        ["target"] = Ports.Loopback(target),
    };

    private static string Fingerprint(string text) =>
        XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(text)).ToString("x16", CultureInfo.InvariantCulture);

    private static Dictionary<string, string> ConfigFile(JsonObject config) => new() { ["config.json"] = config.ToJsonString() };

    [Fact]
    public async Task A_swapped_config_applies_to_new_connections_while_a_streaming_keep_alive_connection_loses_no_byte()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync(new KestrelAppOptions
        {
            ConfigureServer = k => k.Limits.MaxRequestBodySize = null,
            Pipeline = a => a.Map("/bulk", b => b.Run(async context =>
            {
                Digest received = await Payload.ReadToEndAsync(context.Request.Body, context.RequestAborted);
                await context.Response.WriteAsync(received.ToString(), context.RequestAborted);
            })),
        });
        await using var dev = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "dev" });
        int admin = Ports.GetFreeTcpPort();
        int web = Ports.GetFreeTcpPort();
        int api = Ports.GetFreeTcpPort();

        JsonObject first = AgentConfig.Create(admin, AgentConfig.Port("web", web, app.Port));
        JsonObject second = AgentConfig.Create(admin, AgentConfig.Port("web", web, app.Port), AgentConfig.Port("api", api, app.Port));
        second["intercepts"]!.AsArray().Add(Intercept("alice", "web", dev.Port));
        var volume = new KubeletVolume(Path.Combine(dir.Path, "config"), ConfigFile(first));
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, volume.PathOf("config.json"), admin, FastPoll);
        string before = (await agent.GetStatusAsync())["config"]!["fingerprint"]!.GetValue<string>();
        Assert.Equal(Fingerprint(first.ToJsonString()), before);

        // One keep-alive connection streams a large body; the config changes half-way through.
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 1 }) { Timeout = Timeouts.Long };
        var body = new GatedContent(BodyLength, seed: 11);
        Task<HttpResponseMessage> sending = client.PostAsync($"http://127.0.0.1:{web}/bulk", body);
        await body.HalfWritten.WaitAsync(Timeouts.Short);

        volume.Swap(ConfigFile(second));
        await agent.WaitForMetricAsync("switchyard_config_reloads_total", Ok, v => v == 1, "1");
        body.Release();

        using HttpResponseMessage response = await sending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Payload.Expected(BodyLength, seed: 11).ToString(), await response.Content.ReadAsStringAsync());

        // New connections get the new config: the new port answers and the new intercept routes.
        CurlResult viaApi = await Curl.HttpAsync(api, "/on-the-new-port");
        Assert.True(viaApi.Succeeded, viaApi.ToString());
        Assert.Contains("app=app\n", viaApi.Body, StringComparison.Ordinal);
        CurlResult intercepted = await Curl.HttpAsync(web, "/x", "-H", "x-dev: alice");
        Assert.True(intercepted.Succeeded, intercepted.ToString());
        Assert.Contains("app=dev\n", intercepted.Body, StringComparison.Ordinal);
        CurlResult other = await Curl.HttpAsync(web, "/x", "-H", "x-dev: bob");
        Assert.Contains("app=app\n", other.Body, StringComparison.Ordinal);

        JsonNode status = await agent.GetStatusAsync();
        Assert.Equal(Fingerprint(second.ToJsonString()), status["config"]!["fingerprint"]!.GetValue<string>());
        Assert.Equal(["alice"], status["intercepts"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
        Assert.Equal(2, status["ports"]!.AsArray().Count);
        string metrics = await agent.GetMetricsAsync();
        Assert.Equal(1, PrometheusText.Sum(metrics, "switchyard_config_reloads_total", Ok));
        Assert.Equal(0, PrometheusText.Sum(metrics, "switchyard_config_reloads_total", Failed));
        Assert.Contains(agent.Logs, l => l.Message.Contains($"fingerprint {before} -> {Fingerprint(second.ToJsonString())}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_invalid_rewrite_is_logged_with_file_and_path_and_the_old_config_keeps_serving()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync();
        int admin = Ports.GetFreeTcpPort();
        int web = Ports.GetFreeTcpPort();
        JsonObject good = AgentConfig.Create(admin, AgentConfig.Port("web", web, app.Port));
        var volume = new KubeletVolume(Path.Combine(dir.Path, "config"), ConfigFile(good));
        string configPath = volume.PathOf("config.json");
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, configPath, admin, FastPoll);

        JsonObject bad = JsonNode.Parse(good.ToJsonString())!.AsObject();
        bad["ports"]![0]!["tls"] = "sometimes";
        volume.Swap(ConfigFile(bad));

        await agent.WaitForMetricAsync("switchyard_config_reloads_total", Failed, v => v == 1, "1");
        AgentLogEntry error = await agent.WaitForLogAsync(l => l.Message.Contains("config reload rejected", StringComparison.Ordinal), "the rejection");
        Assert.Contains($"{configPath}: $.ports[0].tls:", error.Message, StringComparison.Ordinal);
        Assert.Equal("Error", error.LogLevel);

        // Several periodic checks of the same bad file later, it is still counted and logged once.
        double checks = PrometheusText.Sum(await agent.GetMetricsAsync(), "switchyard_config_checks_total", []);
        await agent.WaitForMetricAsync("switchyard_config_checks_total", [], v => v >= checks + 3, $">= {checks + 3}");
        string metrics = await agent.GetMetricsAsync();
        Assert.Equal(1, PrometheusText.Sum(metrics, "switchyard_config_reloads_total", Failed));
        Assert.Equal(0, PrometheusText.Sum(metrics, "switchyard_config_reloads_total", Ok));
        Assert.Single(agent.Logs, l => l.Message.Contains("config reload rejected", StringComparison.Ordinal));

        CurlResult result = await Curl.HttpAsync(web, "/still-here");
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(Fingerprint(good.ToJsonString()), (await agent.GetStatusAsync())["config"]!["fingerprint"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync("/readyz")).Status);
    }

    [Fact]
    public async Task File_events_alone_pick_up_a_swap_without_the_periodic_check()
    {
        using var dir = new TempDir();
        await using var app = await KestrelApp.StartAsync();
        await using var dev = await KestrelApp.StartAsync(new KestrelAppOptions { Name = "dev" });
        int admin = Ports.GetFreeTcpPort();
        int web = Ports.GetFreeTcpPort();
        JsonObject config = AgentConfig.Create(admin, AgentConfig.Port("web", web, app.Port));
        var volume = new KubeletVolume(Path.Combine(dir.Path, "config"), ConfigFile(config));
        await using var agent = await AgentProcess.StartWithConfigFileAsync(output, dir, volume.PathOf("config.json"), admin,
            new Dictionary<string, string> { ["SWITCHYARD_CONFIG_POLL"] = "10m" });

        config["intercepts"]!.AsArray().Add(Intercept("carol", "web", dev.Port));
        volume.Swap(ConfigFile(config));

        await agent.WaitForMetricAsync("switchyard_config_reloads_total", Ok, v => v == 1, "1", TimeSpan.FromSeconds(5));
        CurlResult intercepted = await Curl.HttpAsync(web, "/x", "-H", "x-dev: carol");
        Assert.Contains("app=dev\n", intercepted.Body, StringComparison.Ordinal);
    }

    /// <summary>A request body that stops after half its bytes until <see cref="Release"/>: the connection stays open meanwhile.</summary>
    private sealed class GatedContent(long length, int seed) : HttpContent
    {
        private readonly TaskCompletionSource _half = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task HalfWritten => _half.Task;

        public void Release() => _gate.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            // The same chunks as Payload.WriteAsync, so Payload.Expected(length, seed) is the digest.
            var random = new Random(seed);
            var buffer = new byte[Payload.ChunkSize];
            long written = 0;
            while (written < length)
            {
                if (written >= length / 2 && !_half.Task.IsCompleted)
                {
                    await stream.FlushAsync();
                    _half.TrySetResult();
                    await _gate.Task.WaitAsync(Timeouts.Long);
                }

                int count = (int)Math.Min(buffer.Length, length - written);
                random.NextBytes(buffer.AsSpan(0, count));
                await stream.WriteAsync(buffer.AsMemory(0, count));
                written += count;
            }
        }

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            return true;
        }
    }
}
