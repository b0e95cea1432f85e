using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Switchyard.Cli;

/// <summary>An answer of the agent's admin API: status code and the "error" text of a refusal.</summary>
internal sealed record AdminAnswer(HttpStatusCode Status, string Body)
{
    public bool Ok => (int)Status is >= 200 and < 300;

    /// <summary>The agent's message: the "error" field of its JSON error document, else the body.</summary>
    public string Message
    {
        get
        {
            try
            {
                using JsonDocument document = JsonDocument.Parse(Body);
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out JsonElement e) && e.GetString() is { } text)
                {
                    return text;
                }
            }
            catch (JsonException)
            {
            }

            return Body.Trim();
        }
    }
}

/// <summary>What `switchyard intercept` needs from GET /v1/status.</summary>
internal sealed record AgentStatus(IReadOnlyList<string> Ports, string? TunnelListen);

/// <summary>The admin API client of `switchyard intercept` (bearer token from --token-file). Transport failures throw <see cref="HttpRequestException"/>.</summary>
internal sealed class AgentClient(string agent, string? token) : IDisposable
{
    /// <summary>The User-Agent product the CLI sends; the agent's intercept log says "switchyard intercept from ..." for it.</summary>
    public const string UserAgentProduct = "switchyard-cli/";

    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(10),
        BaseAddress = new Uri($"http://{agent}"),
    };

    public async Task<(AdminAnswer Answer, AgentStatus? Status)> GetStatusAsync(CancellationToken cancellation)
    {
        AdminAnswer answer = await SendAsync(HttpMethod.Get, "/v1/status", null, cancellation).ConfigureAwait(false);
        if (!answer.Ok)
        {
            return (answer, null);
        }

        using JsonDocument document = JsonDocument.Parse(answer.Body);
        JsonElement root = document.RootElement;
        var ports = new List<string>();
        if (root.TryGetProperty("ports", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
        {
            ports.AddRange(list.EnumerateArray().Select(p => p.TryGetProperty("name", out JsonElement n) ? n.GetString() ?? "?" : "?"));
        }

        string? tunnel = root.TryGetProperty("tunnel", out JsonElement t) && t.ValueKind == JsonValueKind.Object && t.TryGetProperty("listen", out JsonElement l) ? l.GetString() : null;
        return (answer, new AgentStatus(ports, tunnel));
    }

    public Task<AdminAnswer> GetAsync(string path, CancellationToken cancellation) => SendAsync(HttpMethod.Get, path, null, cancellation);

    public Task<AdminAnswer> AddInterceptAsync(string body, CancellationToken cancellation) => SendAsync(HttpMethod.Post, "/v1/intercepts", body, cancellation);

    public Task<AdminAnswer> RemoveInterceptAsync(string id, CancellationToken cancellation) =>
        SendAsync(HttpMethod.Delete, "/v1/intercepts/" + Uri.EscapeDataString(id), null, cancellation);

    private async Task<AdminAnswer> SendAsync(HttpMethod method, string path, string? body, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgentProduct + Program.Version);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        try
        {
            using HttpResponseMessage response = await _http.SendAsync(request, cancellation).ConfigureAwait(false);
            return new AdminAnswer(response.StatusCode, await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false));
        }
        catch (TaskCanceledException e) when (!cancellation.IsCancellationRequested)
        {
            throw new HttpRequestException("no answer within 10 s", e);
        }
    }

    public void Dispose() => _http.Dispose();
}
