using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchyard.Config;

/// <summary>Accepts a JSON number or string and keeps its text ("9900" or "127.0.0.1:9900").</summary>
internal sealed class ListenJsonConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Number when reader.TryGetInt64(out long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Null => null,
            _ => throw new JsonException("expected a port number or a \"HOST:PORT\" string"),
        };

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out int n))
        {
            writer.WriteNumberValue(n);
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
