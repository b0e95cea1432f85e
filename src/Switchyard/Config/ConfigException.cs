namespace Switchyard.Config;

/// <summary>A config error: the file, the JSON path inside it and the reason, printed as one line.</summary>
public sealed class ConfigException(string file, string jsonPath, string reason) : Exception($"{file}: {jsonPath}: {reason}")
{
    public string File { get; } = file;
    public string JsonPath { get; } = jsonPath;
    public string Reason { get; } = reason;
}
