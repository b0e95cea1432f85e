using System.Text;
using System.Text.Json;

namespace Switchyard.Routing;

/// <summary>Writes a <see cref="Filter"/> in the SPEC.md `match` form; <see cref="FilterParser.Parse(JsonElement, string)"/> reads it back to an equal filter.</summary>
public static class FilterWriter
{
    public static void Write(Utf8JsonWriter writer, Filter filter)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(filter);
        writer.WriteStartObject();
        switch (filter)
        {
            case HeaderFilter header:
                writer.WriteString("header"u8, header.Name);
                writer.WriteString(StringMatch.KindName(header.Match.Kind), header.Match.Value);
                break;
            case PathFilter path:
                writer.WriteStartObject("path"u8);
                writer.WriteString(StringMatch.KindName(path.Match.Kind), path.Match.Value);
                writer.WriteEndObject();
                break;
            case BodyFilter body:
                writer.WriteStartObject("body"u8);
                writer.WriteString("json"u8, body.Path.Text);
                writer.WriteString(StringMatch.KindName(body.Match.Kind), body.Match.Value);
                writer.WriteEndObject();
                break;
            case MethodFilter method:
                writer.WriteString("method"u8, method.Method);
                break;
            case CompositeFilter composite:
                writer.WriteStartArray(composite is AllFilter ? "all"u8 : "any"u8);
                foreach (Filter child in composite.Filters)
                {
                    Write(writer, child);
                }

                writer.WriteEndArray();
                break;
            case NotFilter not:
                writer.WritePropertyName("not"u8);
                Write(writer, not.Inner);
                break;
            default:
                throw new ArgumentException($"unknown filter type {filter.GetType().Name}", nameof(filter));
        }

        writer.WriteEndObject();
    }

    /// <summary>The filter as compact JSON text.</summary>
    public static string ToJson(Filter filter, bool indented = false)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            Write(writer, filter);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
