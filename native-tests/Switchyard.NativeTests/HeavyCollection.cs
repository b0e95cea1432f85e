namespace Switchyard.NativeTests;

/// <summary>Bulk transfers and drain timing: run one after another so they do not starve each other of CPU.</summary>
[CollectionDefinition(Name)]
public sealed class HeavyCollection
{
    public const string Name = "Heavy";
}
