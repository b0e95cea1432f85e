using Switchyard.Kubernetes;

namespace Switchyard.Tests.Kubernetes;

public sealed class GlobTests
{
    [Theory]
    [InlineData("deploy/shop", "deploy/shop", true)]
    [InlineData("deploy/shop", "deploy/shopx", false)]
    [InlineData("deploy/shop", "xdeploy/shop", false)]
    [InlineData("deploy/*", "deploy/shop", true)]
    [InlineData("deploy/*", "deploy/", true)]
    [InlineData("deploy/*", "deploy/shop/container/app", true)]
    [InlineData("*", "pod/anything", true)]
    [InlineData("*", "", true)]
    [InlineData("deploy/sh?p", "deploy/shop", true)]
    [InlineData("deploy/sh?p", "deploy/shp", false)]
    [InlineData("deploy/sh?p", "deploy/shoop", false)]
    [InlineData("*/shop", "sts/shop", true)]
    [InlineData("*/shop", "sts/shop/container/app", false)]
    [InlineData("deploy/*/container/app", "deploy/shop/container/app", true)]
    [InlineData("deploy/*/container/app", "deploy/shop/container/sidecar", false)]
    [InlineData("d*p*/s*p", "deploy/shop", true)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("a*b*c", "aXbYbZ", false)]
    [InlineData("**", "x", true)]
    [InlineData("?", "", false)]
    [InlineData("", "", true)]
    [InlineData("", "x", false)]
    [InlineData("Deploy/shop", "deploy/shop", false)]
    public void A_pattern_matches_the_whole_text_with_star_and_question_mark(string pattern, string text, bool expected) =>
        Assert.Equal(expected, Glob.IsMatch(pattern, text));

    [Fact]
    public void Many_stars_against_a_long_miss_finish_quickly()
    {
        string pattern = string.Concat(Enumerable.Repeat("a*", 30)) + "b";
        string text = new('a', 5000);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        bool matched = Glob.IsMatch(pattern, text);

        Assert.False(matched);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }
}
