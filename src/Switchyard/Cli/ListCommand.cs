using System.CommandLine;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Switchyard.Routing;

namespace Switchyard.Cli;

/// <summary>
/// `switchyard list --agent HOST:PORT [--token-file F]`: the intercepts and wiretaps of an agent as a table (GET
/// /v1/status): id, port, mode, filter in the intercept flag grammar, where it delivers (a target, or the tunnel and
/// whether the developer is connected) and the requests it took. Exit 0; 1 when the agent cannot be reached; 2 when
/// it refuses (token) or the flags are wrong.
/// </summary>
internal static class ListCommand
{
    /// <summary>One row of the table.</summary>
    internal sealed record Row(string Id, string Port, string Mode, string Filter, string Delivery, string Requests);

    public static async Task<int> RunAsync(ParseResult args)
    {
        string agent = CommandLine.Value(args, CommandLine.ListAgent)
            ?? throw new UsageException("list: --agent HOST:PORT is required (the agent's admin address, e.g. through kubectl port-forward)");
        if (!Config.Endpoints.TryParseHostPort(agent, out _, out _))
        {
            throw new UsageException($"--agent: expected HOST:PORT, found \"{agent}\"");
        }

        string? token = null;
        if (CommandLine.Value(args, CommandLine.ListTokenFile) is { } tokenFile)
        {
            try
            {
                token = (await File.ReadAllTextAsync(tokenFile).ConfigureAwait(false)).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return InterceptCommand.Fail(2, $"--token-file: cannot read {tokenFile}: {(e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message)}");
            }
        }

        using var client = new AgentClient(agent, token);
        AdminAnswer answer;
        try
        {
            answer = await client.GetAsync("/v1/status", CancellationToken.None).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            return InterceptCommand.Fail(1, $"cannot reach the agent at {agent}: {InterceptCommand.Innermost(e)}");
        }

        if (!answer.Ok)
        {
            return InterceptCommand.Fail(2, $"the agent at {agent} refused: {answer.Message}{(answer.Status == System.Net.HttpStatusCode.Unauthorized ? " (check --token-file)" : string.Empty)}");
        }

        List<Row> rows;
        try
        {
            rows = Rows(answer.Body);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FilterException)
        {
            return InterceptCommand.Fail(1, $"the agent at {agent} answered /v1/status with a document this CLI cannot read");
        }

        TextWriter output = args.InvocationConfiguration.Output;
        output.Write(rows.Count == 0 ? $"no intercepts or wiretaps on the agent at {agent}\n" : Table(rows));
        output.Flush();
        return 0;
    }

    /// <summary>The rows of a /v1/status document: its intercepts, with the tunnel's connected ids for delivery.</summary>
    internal static List<Row> Rows(string statusJson)
    {
        using JsonDocument document = JsonDocument.Parse(statusJson);
        JsonElement root = document.RootElement;
        var connected = new HashSet<string>(StringComparer.Ordinal);
        if (root.TryGetProperty("tunnel", out JsonElement tunnel) && tunnel.ValueKind == JsonValueKind.Object
            && tunnel.TryGetProperty("connected", out JsonElement ids) && ids.ValueKind == JsonValueKind.Array)
        {
            connected.UnionWith(ids.EnumerateArray().Select(i => i.GetString() ?? string.Empty));
        }

        var rows = new List<Row>();
        foreach (JsonElement intercept in root.GetProperty("intercepts").EnumerateArray())
        {
            string id = intercept.GetProperty("id").GetString() ?? string.Empty;
            string mode = intercept.GetProperty("mode").GetString() ?? string.Empty;
            Filter? filter = intercept.TryGetProperty("match", out JsonElement match) && match.ValueKind == JsonValueKind.Object
                ? FilterParser.Parse(match.GetRawText())
                : null;
            string? target = intercept.TryGetProperty("target", out JsonElement t) ? t.GetString() : null;
            string delivery = target ?? (connected.Contains(id) ? "tunnel (connected)" : "tunnel (waiting)");
            long requests = Number(intercept, "requests");
            long connections = Number(intercept, "connections");
            string count = filter is null && mode == "intercept"
                ? $"{connections} conn"
                : requests.ToString(System.Globalization.CultureInfo.InvariantCulture);
            rows.Add(new Row(id, intercept.GetProperty("port").GetString() ?? string.Empty, mode, filter is null ? "(global: whole port)" : Flags(filter), delivery, count));
        }

        return rows;
    }

    /// <summary>The table: a header line, then one line per row; columns as wide as their longest cell.</summary>
    internal static string Table(IReadOnlyList<Row> rows)
    {
        string[][] cells =
        [
            ["ID", "PORT", "MODE", "FILTER", "TARGET", "REQUESTS"],
            .. rows.Select(r => new[] { r.Id, r.Port, r.Mode, r.Filter, r.Delivery, r.Requests }),
        ];
        int[] widths = Enumerable.Range(0, 6).Select(c => cells.Max(row => row[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (string[] row in cells)
        {
            for (int c = 0; c < row.Length; c++)
            {
                text.Append(c == row.Length - 1 ? row[c] : row[c].PadRight(widths[c] + 2));
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// A filter in the intercept flag grammar (`--header x-dev=alice --path-prefix /api/`) when the flags can say it
    /// (an AND of header, path, method and body conditions; a header or body prefix becomes an anchored regex flag), else its
    /// config `match` JSON.
    /// </summary>
    internal static string Flags(Filter filter)
    {
        IEnumerable<Filter> conditions = filter is AllFilter all ? all.Filters : [filter];
        var flags = new List<string>();
        foreach (Filter condition in conditions)
        {
            string? flag = condition switch
            {
                HeaderFilter { Match.Kind: MatchKind.Exact } h => $"--header {Quote(h.Name + "=" + h.Match.Value)}",
                HeaderFilter { Match.Kind: MatchKind.Regex } h => $"--header-regex {Quote(h.Name + "=" + h.Match.Value)}",
                HeaderFilter { Match.Kind: MatchKind.Prefix } h => $"--header-regex {Quote(h.Name + "=^" + Regex.Escape(h.Match.Value))}",
                PathFilter { Match.Kind: MatchKind.Exact } p => $"--path-equal {Quote(p.Match.Value)}",
                PathFilter { Match.Kind: MatchKind.Prefix } p => $"--path-prefix {Quote(p.Match.Value)}",
                PathFilter { Match.Kind: MatchKind.Regex } p => $"--path-regex {Quote(p.Match.Value)}",
                MethodFilter m => $"--method {Quote(m.Method)}",
                BodyFilter { Match.Kind: MatchKind.Exact } b => $"--body-json {Quote(b.Path.Text + "=" + b.Match.Value)}",
                BodyFilter { Match.Kind: MatchKind.Regex } b => $"--body-json-regex {Quote(b.Path.Text + "=" + b.Match.Value)}",
                BodyFilter { Match.Kind: MatchKind.Prefix } b => $"--body-json-regex {Quote(b.Path.Text + "=^" + Regex.Escape(b.Match.Value))}",
                _ => null,
            };
            if (flag is null)
            {
                return MatchJson(filter);
            }

            flags.Add(flag);
        }

        return string.Join(' ', flags);
    }

    private static string MatchJson(Filter filter)
    {
        var output = new MemoryStream();
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            FilterWriter.Write(writer, filter);
        }

        return Encoding.UTF8.GetString(output.ToArray());
    }

    /// <summary>A value as a shell would need it: as it is when it holds only safe characters, else in single quotes.</summary>
    internal static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or '=' or ':' or ',' or '+' or '@' or '%')
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static long Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
}
