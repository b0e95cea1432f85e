using Switchyard.Routing;

namespace Switchyard.Tests.Routing;

public sealed class RouteTableHolderTests
{
    private static InterceptRule Rule(string id, string? header = null) =>
        new(id, "https", InterceptMode.Intercept, header is null ? null : new HeaderFilter("x-dev", StringMatch.Exact(header)));

    [Fact]
    public void Adding_a_taken_id_fails_and_changes_nothing()
    {
        var holder = new RouteTableHolder();
        holder.Add(Rule("alice"));
        RouteTable before = holder.Snapshot;

        Assert.False(holder.TryAdd(Rule("alice", "x")));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => holder.Add(Rule("alice", "x")));
        Assert.Equal("duplicate intercept id \"alice\"", e.Message);
        Assert.Same(before, holder.Snapshot);
    }

    [Fact]
    public void Removing_says_whether_there_was_such_a_rule()
    {
        var holder = new RouteTableHolder(RouteTable.Create([Rule("alice")]));

        Assert.False(holder.Remove("bob"));
        Assert.True(holder.Remove("alice"));
        Assert.False(holder.Remove("alice"));
        Assert.Equal(0, holder.Snapshot.Count);
    }

    [Fact]
    public void A_snapshot_taken_before_a_change_keeps_routing_as_it_did()
    {
        var holder = new RouteTableHolder();
        holder.Add(Rule("alice", "alice"));
        RouteTable snapshot = holder.Snapshot;
        var request = new RequestView("GET", "/", [new("x-dev", "alice")]);

        holder.Remove("alice");
        RouteTable replaced = holder.Replace(RouteTable.Create([Rule("bob")]));

        Assert.Equal("alice", snapshot.Route(request, "https").Intercept?.Id);
        Assert.Equal("bob", holder.Snapshot.Route(request, "https").Intercept?.Id);
        Assert.Equal(0, replaced.Count);
    }

    [Fact]
    public async Task Concurrent_writers_lose_no_change_while_readers_always_see_a_whole_table()
    {
        var holder = new RouteTableHolder();
        const int Writers = 4;
        const int PerWriter = 300;
        using var done = new CancellationTokenSource();
        var request = new RequestView("GET", "/", [new("x-dev", "w0-0")]);
        long reads = 0;
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Task[] readers = [.. Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!done.IsCancellationRequested)
            {
                reading.TrySetResult();
                RouteTable table = holder.Snapshot;
                // A whole table: its per-port view and its rule list agree.
                Assert.Equal(table.Count, table.ForPort("https").Intercepts.Count);
                table.Route(request, "https");
                Interlocked.Increment(ref reads);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];

        await reading.Task; // writers start once a reader runs, so reads overlap writes

        Task[] writers = [.. Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                holder.Add(Rule($"w{w}-{i}", $"w{w}-{i}"));
                if (i % 3 == 0)
                {
                    Assert.True(holder.Remove($"w{w}-{i}"));
                }
            }
        }))];

        Task all = Task.WhenAll(writers);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60))));
        await all;
        await done.CancelAsync();
        await Task.WhenAll(readers);

        int kept = Writers * (PerWriter - ((PerWriter + 2) / 3));
        Assert.Equal(kept, holder.Snapshot.Count);
        Assert.True(Interlocked.Read(ref reads) > 0);
        Assert.Null(holder.Snapshot.Find("w0-0"));
        Assert.NotNull(holder.Snapshot.Find("w3-1"));
    }
}
