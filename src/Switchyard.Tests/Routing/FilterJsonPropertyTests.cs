using CsCheck;
using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

/// <summary>
/// Property test (CsCheck, shrinking to the smallest failing tree): any filter tree within the limits, with any
/// strings in its operands (quotes, backslashes, control characters, non-ASCII, surrogate pairs), is written by
/// <see cref="FilterWriter"/> and read back by <see cref="FilterParser"/> to an equal tree, compact or indented.
/// </summary>
public sealed class FilterJsonPropertyTests
{
    private static readonly Gen<string> Token = Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"].Array[1, 12].Select(c => new string(c));

    /// <summary>Any text: printable ASCII with JSON's special characters, controls, Latin-1, CJK and emoji.</summary>
    private static readonly Gen<string> Text = Gen.Frequency(
        (3, Gen.Char[' ', '~'].Array[0, 20].Select(c => new string(c))),
        (1, Gen.Char["\"\\/\b\f\n\r\t\u0000\u001f\u007f\u00e9\u2028\u4e2d<>&'"].Array[0, 10].Select(c => new string(c))),
        (1, Gen.OneOf("caf\u00e9", "\ud83d\ude00", "\u00ff\u0100", "")));

    private static readonly Gen<StringMatch> Literal = Gen.Select(Gen.Bool, Text, (exact, text) => exact ? StringMatch.Exact(text) : StringMatch.Prefix(text));

    private static readonly Gen<StringMatch> Regex = Gen.OneOf("^al(ice|an)$", "[0-9a-f]{8}", "(?i)curl/", "\\d+$", "a|b|c", "^\"q\\\\\"", "caf\u00e9", "x+y*z?", "[\\u0000-\\u001f]")
        .Select(StringMatch.Regex);

    private static readonly Gen<Filter> Leaf = Gen.Frequency(
        (3, Gen.Select(Token, Gen.Frequency((3, Literal), (1, Regex)), (name, match) => (Filter)new HeaderFilter(name, match))),
        (2, Gen.Frequency(
            (3, Gen.Select(Gen.Bool, Text, (exact, text) => exact ? StringMatch.Exact("/" + text) : StringMatch.Prefix("/" + text))),
            (1, Regex)).Select(match => (Filter)new PathFilter(match))),
        (1, Token.Select(method => (Filter)new MethodFilter(method))),
        (1, Gen.Select(Gen.OneOf("$", "$.customer.id", "$['a b'][3]", "$.items[0]['it\\'s']", "$['caf\u00e9'].x"), Gen.Frequency((3, Literal), (1, Regex)), (path, match) => (Filter)new BodyFilter(JsonBodyPath.Parse(path), match))));

    /// <summary>Trees up to 5 levels deep with at most 4 children per list: within MaxDepth (16) and MaxConditions (256).</summary>
    private static readonly Gen<Filter> Tree = Gen.Recursive<Filter>((depth, tree) => depth >= 4
        ? Leaf
        : Gen.Frequency(
            (3, Leaf),
            (1, tree.Array[1, 4].Select(children => (Filter)new AllFilter(children))),
            (1, tree.Array[1, 4].Select(children => (Filter)new AnyFilter(children))),
            (1, tree.Select(inner => (Filter)new NotFilter(inner)))));

    [Fact]
    public void Any_filter_tree_survives_writing_and_parsing_json()
    {
        Gen.Select(Tree, Gen.Bool).Sample((filter, indented) =>
        {
            string json = FilterWriter.ToJson(filter, indented);
            Filter back = FilterParser.Parse(json, "$");

            Assert.Equal(filter, back);
            Assert.Equal(filter.GetHashCode(), back.GetHashCode());
            Assert.Equal(filter.ConditionCount, back.ConditionCount);
            Assert.Equal(filter.Depth, back.Depth);
            Assert.Equal(FilterWriter.ToJson(filter), FilterWriter.ToJson(back));
        }, iter: 500, print: filter => FilterWriter.ToJson(filter.Item1));
    }
}
