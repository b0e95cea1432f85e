using System.IO.Hashing;
using System.Net;
using System.Text.Json;

namespace Switchyard.Config;

/// <summary>Reads, deserializes and validates a config file. Every failure is a <see cref="ConfigException"/>.</summary>
public static class ConfigLoader
{
    public const string DefaultPath = "/etc/switchyard/config.json";

    public static AgentSettings Load(string path) => Parse(ReadFile(path), path);

    /// <summary>The file's bytes; a missing, unreadable or oversized file (or a directory) is a <see cref="ConfigException"/> at "$".</summary>
    internal static byte[] ReadFile(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                throw new ConfigException(path, "$", "is a directory, not a file");
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            if (stream.CanSeek && stream.Length > ConfigLimits.MaxFileBytes)
            {
                throw new ConfigException(path, "$", $"the file is {stream.Length} bytes; the limit is {ConfigLimits.MaxFileBytes} bytes (1 MiB)");
            }

            // Read at most one byte past the limit (a FIFO or /proc file has no length).
            byte[] buffer = new byte[ConfigLimits.MaxFileBytes + 1];
            int total = 0;
            int read;
            while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
            {
                total += read;
            }

            if (total > ConfigLimits.MaxFileBytes)
            {
                throw new ConfigException(path, "$", $"the file is larger than the limit of {ConfigLimits.MaxFileBytes} bytes (1 MiB)");
            }

            return buffer.AsSpan(0, total).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string reason = Diagnostics.ErrorText.FileReason(e, path);
            throw new ConfigException(path, "$", reason == "file not found" ? reason : $"cannot read the file: {reason}");
        }
    }

    /// <summary>
    /// Parses and validates config bytes (a UTF-8 byte order mark is skipped). Strict JSON is checked first by
    /// <see cref="ConfigJsonReader"/>, so that every error is written in our words with its JSON path.
    /// </summary>
    public static AgentSettings Parse(ReadOnlySpan<byte> json, string path)
    {
        ReadOnlySpan<byte> body = ConfigJsonReader.WithoutBom(json);
        ConfigJsonReader.Check(body, path);
        AgentConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(body, ConfigJsonContext.Default.AgentConfig);
        }
        catch (JsonException e)
        {
            // Not expected after the first pass; never show the serializer's message (a resource key in the AOT build).
            string where = e.LineNumber is long line ? $" (line {line + 1}, column {e.BytePositionInLine + 1})" : string.Empty;
            throw new ConfigException(path, e.Path ?? "$", $"invalid value{where}");
        }

        if (config is null)
        {
            throw new ConfigException(path, "$", "expected a JSON object, found null");
        }

        return new ConfigValidator(path).Validate(config, Fingerprint(json));
    }

    /// <summary>XxHash3 of the file's bytes, shown by /v1/status so operators can tell which version is live.</summary>
    public static string Fingerprint(ReadOnlySpan<byte> json) => XxHash3.HashToUInt64(json).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    internal static IPEndPoint DefaultAdmin => new(IPAddress.Loopback, 9901);
}
