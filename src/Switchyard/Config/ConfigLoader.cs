using System.IO.Hashing;
using System.Net;
using System.Text.Json;

namespace Switchyard.Config;

/// <summary>Reads, deserializes and validates a config file. Every failure is a <see cref="ConfigException"/>.</summary>
public static class ConfigLoader
{
    public const string DefaultPath = "/etc/switchyard/config.json";

    public static AgentSettings Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException(path, "$", "file not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, "$", $"cannot read file: {e.Message}");
        }

        return Parse(bytes, path);
    }

    public static AgentSettings Parse(ReadOnlySpan<byte> json, string path)
    {
        AgentConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, ConfigJsonContext.Default.AgentConfig);
        }
        catch (JsonException e)
        {
            throw new ConfigException(path, e.Path ?? "$", Describe(e));
        }

        if (config is null)
        {
            throw new ConfigException(path, "$", "expected a JSON object, found null");
        }

        return new ConfigValidator(path).Validate(config, Fingerprint(json));
    }

    /// <summary>XxHash3 of the file's bytes, shown by /v1/status so operators can tell which version is live.</summary>
    public static string Fingerprint(ReadOnlySpan<byte> json) => XxHash3.HashToUInt64(json).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(JsonException e)
    {
        // System.Text.Json messages end with "Path: $.x | LineNumber: 1 | BytePositionInLine: 2."; keep the reason only.
        string message = e.Message;
        int cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }

        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            int start = message.IndexOf('\'');
            int end = start >= 0 ? message.IndexOf('\'', start + 1) : -1;
            string name = end > start ? message[(start + 1)..end] : "?";
            message = $"unknown field '{name}'";
        }

        string where = e.LineNumber is long line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : string.Empty;
        return message.TrimEnd('.') + where;
    }

    internal static IPEndPoint DefaultAdmin => new(IPAddress.Loopback, 9901);
}
