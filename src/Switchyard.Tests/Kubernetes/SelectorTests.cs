using Switchyard.Kubernetes;

namespace Switchyard.Tests.Kubernetes;

public sealed class SelectorTests
{
    private static readonly Dictionary<string, string> PodLabels = new() { ["app"] = "shop", ["tier"] = "front", ["track"] = "stable" };

    private static LabelSelector Parse(string yaml)
    {
        ManifestDocument document = ManifestReader.Read("sel.yaml", "kind: X\nselector:\n" + yaml)[0];
        return LabelSelector.Parse(document, ManifestDocument.Child(document.Root, "selector")!, "spec.selector");
    }

    [Theory]
    [InlineData("  matchLabels: {app: shop}", true)]
    [InlineData("  matchLabels: {app: shop, tier: front}", true)]
    [InlineData("  matchLabels: {app: shop, tier: back}", false)]
    [InlineData("  matchLabels: {other: x}", false)]
    [InlineData("  matchLabels: {}", true)]
    [InlineData("  matchExpressions: [{key: tier, operator: In, values: [front, back]}]", true)]
    [InlineData("  matchExpressions: [{key: tier, operator: In, values: [back]}]", false)]
    [InlineData("  matchExpressions: [{key: missing, operator: In, values: [x]}]", false)]
    [InlineData("  matchExpressions: [{key: tier, operator: NotIn, values: [back]}]", true)]
    [InlineData("  matchExpressions: [{key: tier, operator: NotIn, values: [front]}]", false)]
    [InlineData("  matchExpressions: [{key: missing, operator: NotIn, values: [x]}]", true)]
    [InlineData("  matchExpressions: [{key: track, operator: Exists}]", true)]
    [InlineData("  matchExpressions: [{key: missing, operator: Exists}]", false)]
    [InlineData("  matchExpressions: [{key: missing, operator: DoesNotExist}]", true)]
    [InlineData("  matchExpressions: [{key: app, operator: DoesNotExist}]", false)]
    [InlineData("  matchLabels: {app: shop}\n  matchExpressions: [{key: tier, operator: In, values: [front]}]", true)]
    [InlineData("  matchLabels: {app: shop}\n  matchExpressions: [{key: tier, operator: In, values: [back]}]", false)]
    [InlineData("  matchLabels: {app: other}\n  matchExpressions: [{key: tier, operator: In, values: [front]}]", false)]
    public void Labels_and_expressions_must_all_hold(string yaml, bool expected) =>
        Assert.Equal(expected, Parse(yaml).Matches(PodLabels));

    [Theory]
    [InlineData("  matchExpressions: [{key: tier, operator: Near, values: [x]}]", "sel.yaml: document 0: spec.selector.matchExpressions[0].operator: expected In, NotIn, Exists or DoesNotExist, found \"Near\"")]
    [InlineData("  matchExpressions: [{key: tier, operator: In}]", "sel.yaml: document 0: spec.selector.matchExpressions[0].values: In needs at least one value")]
    [InlineData("  matchExpressions: [{key: tier, operator: Exists, values: [x]}]", "sel.yaml: document 0: spec.selector.matchExpressions[0].values: Exists takes no values")]
    [InlineData("  matchExpressions: [{operator: Exists}]", "sel.yaml: document 0: spec.selector.matchExpressions[0].key: required")]
    [InlineData("  matchExpressions: {key: tier}", "sel.yaml: document 0: spec.selector.matchExpressions: expected a list")]
    [InlineData("  matchLabels: [a, b]", "sel.yaml: document 0: spec.selector.matchLabels: expected a mapping of strings")]
    public void A_malformed_selector_names_its_field(string yaml, string message) =>
        Assert.Equal(message, Assert.Throws<KubeInputException>(() => Parse(yaml)).Message);
}
