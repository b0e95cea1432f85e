using System.Text;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>Splits a printed command line (such as the demo's curl lines) into arguments the way sh would.</summary>
public static class ShellWords
{
    public static IReadOnlyList<string> Split(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        var inWord = false;
        char quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote == '\'')
            {
                if (c == '\'')
                {
                    quote = '\0';
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (quote == '"')
            {
                if (c == '"')
                {
                    quote = '\0';
                }
                else if (c == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '$' or '`')
                {
                    current.Append(line[++i]);
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                inWord = true;
                if (c is '\'' or '"')
                {
                    quote = c;
                }
                else if (c == '\\' && i + 1 < line.Length)
                {
                    current.Append(line[++i]);
                }
                else
                {
                    current.Append(c);
                }
            }
        }

        if (quote != '\0')
        {
            throw new FormatException($"unterminated quote in: {line}");
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return words;
    }
}
