using System.Text;
using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

/// <summary>A view over header byte ranges, as an HTTP/1 head would provide, built only from <see cref="HeaderBytes"/>.</summary>
public sealed class ByteHeadViewTests
{
    private sealed class ByteHeadView(string method, string path, byte[] section, (int NameStart, int NameLength, int ValueStart, int ValueLength)[] ranges) : IRequestView
    {
        public string Method => method;

        public string Path => path;

        public HeaderLookup MatchHeader(string name, StringMatch match)
        {
            HeaderLookup result = HeaderLookup.Missing;
            foreach ((int nameStart, int nameLength, int valueStart, int valueLength) in ranges)
            {
                if (HeaderBytes.NameEquals(section.AsSpan(nameStart, nameLength), name))
                {
                    if (HeaderBytes.IsMatch(section.AsSpan(valueStart, valueLength), match))
                    {
                        return HeaderLookup.Matched;
                    }

                    result = HeaderLookup.NoValueMatched;
                }
            }

            return result;
        }

        public static ByteHeadView Parse(string method, string path, string head)
        {
            byte[] bytes = Encoding.Latin1.GetBytes(head);
            var ranges = new List<(int, int, int, int)>();
            int start = 0;
            while (start < bytes.Length)
            {
                int end = Array.IndexOf(bytes, (byte)'\n', start);
                int colon = Array.IndexOf(bytes, (byte)':', start);
                int valueStart = colon + 1;
                while (bytes[valueStart] == ' ')
                {
                    valueStart++;
                }

                ranges.Add((start, colon - start, valueStart, end - 1 - valueStart));
                start = end + 1;
            }

            return new ByteHeadView(method, path, bytes, [.. ranges]);
        }
    }

    [Theory]
    [InlineData("""{"header":"x-dev","exact":"alice"}""", true)]
    [InlineData("""{"header":"x-dev","exact":"bob"}""", true)]
    [InlineData("""{"header":"x-dev","exact":"carol"}""", false)]
    [InlineData("""{"header":"user-agent","regex":"^curl/8"}""", true)]
    [InlineData("""{"header":"x-name","exact":"Jos\u00e9"}""", true)]
    [InlineData("""{"header":"x-missing","prefix":""}""", false)]
    [InlineData("""{"not":{"header":"x-missing","prefix":""}}""", true)]
    public void A_view_over_header_bytes_matches_like_the_string_view(string json, bool expected)
    {
        const string head = "Host: shop\r\nX-Dev: alice\r\nUser-Agent: curl/8.5.0\r\nx-dev: bob\r\nX-Name: Jos\u00e9\r\n";
        Filter filter = FilterParser.Parse(json);

        var bytes = ByteHeadView.Parse("GET", "/", head);
        var strings = new RequestView("GET", "/",
        [
            new("Host", "shop"), new("X-Dev", "alice"), new("User-Agent", "curl/8.5.0"), new("x-dev", "bob"), new("X-Name", "Jos\u00e9"),
        ]);

        Assert.Equal(expected, filter.Matches(bytes));
        Assert.Equal(expected, filter.Matches(strings));
    }
}
