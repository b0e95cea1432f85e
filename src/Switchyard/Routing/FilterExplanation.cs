using System.Text.Json;

namespace Switchyard.Routing;

/// <summary>One evaluated condition for POST /v1/explain: what it tests, whether it matched, what was seen, and its children.</summary>
public sealed record FilterExplanation(string Condition, bool Matched, string Detail, IReadOnlyList<FilterExplanation> Children)
{
    /// <summary>Indented lines such as `+ header "x-dev" exact "alice": a value matched` (`+` matched, `-` failed).</summary>
    public IReadOnlyList<string> ToLines()
    {
        var lines = new List<string>();
        AppendLines(lines, 0);
        return lines;
    }

    public override string ToString() => string.Join('\n', ToLines());

    /// <summary>`{"condition":..,"matched":..,"detail":..,"children":[..]}` (children omitted for leaves).</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("condition"u8, Condition);
        writer.WriteBoolean("matched"u8, Matched);
        writer.WriteString("detail"u8, Detail);
        if (Children.Count > 0)
        {
            writer.WriteStartArray("children"u8);
            foreach (FilterExplanation child in Children)
            {
                child.WriteTo(writer);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private void AppendLines(List<string> lines, int indent)
    {
        lines.Add($"{new string(' ', indent * 2)}{(Matched ? '+' : '-')} {Condition}: {Detail}");
        foreach (FilterExplanation child in Children)
        {
            child.AppendLines(lines, indent + 1);
        }
    }
}
