using BenchmarkDotNet.Attributes;
using Switchyard.Config;

namespace Switchyard.Benchmarks;

/// <summary>The small parsers the config and the command line go through, over a mix of valid and invalid input.</summary>
[MemoryDiagnoser]
public class ParsingBenchmarks
{
    private static readonly string[] Durations = ["2s", "500ms", "1.5m", "25s", "100ms", "10", "-1s", "ms"];
    private static readonly string[] Listens = ["9900", "127.0.0.1:9901", "0.0.0.0:9902", "[::1]:9903", "localhost:9904", "*:9905", "::1:9906", "host:99999"];

    [GlobalSetup]
    public void Setup()
    {
        // Keep the descriptions honest if the parsers' rules change.
        if (DurationTryParse() != 5 || EndpointsTryParseListen() != 6)
        {
            throw new InvalidOperationException($"expected 5 valid durations and 6 valid listens, found {DurationTryParse()} and {EndpointsTryParseListen()}");
        }
    }

    [Benchmark(Description = "Duration.TryParse x8 (5 valid, 3 invalid)")]
    public int DurationTryParse()
    {
        int valid = 0;
        foreach (string text in Durations)
        {
            if (Duration.TryParse(text, out _))
            {
                valid++;
            }
        }

        return valid;
    }

    [Benchmark(Description = "Endpoints.TryParseListen x8 (6 valid, 2 invalid)")]
    public int EndpointsTryParseListen()
    {
        int valid = 0;
        foreach (string text in Listens)
        {
            if (Endpoints.TryParseListen(text, out _))
            {
                valid++;
            }
        }

        return valid;
    }
}
