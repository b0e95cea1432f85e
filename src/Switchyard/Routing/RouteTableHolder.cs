namespace Switchyard.Routing;

/// <summary>
/// The current <see cref="RouteTable"/>. Readers take <see cref="Snapshot"/> (a volatile read, no lock)
/// and route a whole request with it; writers build a new table and swap it in with a compare-exchange,
/// retrying when another writer got there first (copy-on-write).
/// </summary>
public sealed class RouteTableHolder(RouteTable? initial = null)
{
    private RouteTable _table = initial ?? RouteTable.Empty;

    public RouteTable Snapshot => Volatile.Read(ref _table);

    /// <summary>Adds <paramref name="rule"/>; throws <see cref="InvalidOperationException"/> when its id is taken.</summary>
    public void Add(InterceptRule rule)
    {
        if (!TryAdd(rule))
        {
            throw new InvalidOperationException($"duplicate intercept id {FilterText.Quote(rule.Id)}");
        }
    }

    /// <summary>Adds <paramref name="rule"/>; false (and no change) when its id is taken.</summary>
    public bool TryAdd(InterceptRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        while (true)
        {
            RouteTable current = Snapshot;
            if (current.Contains(rule.Id))
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _table, current.With(rule), current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Removes rule <paramref name="id"/>; false when there was none.</summary>
    public bool Remove(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        while (true)
        {
            RouteTable current = Snapshot;
            RouteTable next = current.Without(id);
            if (ReferenceEquals(next, current))
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _table, next, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Replaces every rule at once (a config reload); returns the table it replaced.</summary>
    public RouteTable Replace(RouteTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return Interlocked.Exchange(ref _table, table);
    }
}
