using Switchyard.Proxy;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Proxy;

public sealed class ConnectionBudgetTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("memory.max", "268435456\n", 268435456L)]
    [InlineData("memory.max", "max\n", null)]
    [InlineData("memory/memory.limit_in_bytes", "100663296\n", 100663296L)]
    [InlineData("memory/memory.limit_in_bytes", "9223372036854771712\n", null)] // cgroup v1's "no limit"
    [InlineData("memory.max", "garbage", null)]
    public void The_cgroup_limit_is_read_from_v2_then_v1(string file, string content, long? expected)
    {
        string path = Path.Combine(_root.Path, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);

        Assert.Equal(expected, ConnectionBudget.CgroupMemoryLimit(_root.Path));
    }

    [Fact]
    public void Without_a_cgroup_file_system_there_is_no_limit() =>
        Assert.Null(ConnectionBudget.CgroupMemoryLimit(Path.Combine(_root.Path, "absent")));

    [Theory]
    [InlineData(256L << 20, 3072)] // the injected sidecar's limit: docs/inject.md
    [InlineData(72L << 20, 128)]
    [InlineData((64L << 20) + (64L << 10) * 64, 64)]
    [InlineData(32L << 20, ConnectionBudget.Minimum)] // below the base: still a few
    public void The_budget_is_what_fits_above_the_base(long limit, int connections) =>
        Assert.Equal(connections, ConnectionBudget.MaxConnections(limit));

    [Fact]
    public void No_limit_no_bound() => Assert.Null(ConnectionBudget.MaxConnections(null));
}
