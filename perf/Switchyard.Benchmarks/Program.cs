using BenchmarkDotNet.Running;

namespace Switchyard.Benchmarks;

/// <summary>
/// Micro benchmarks of Switchyard product code (JIT, not the AOT binary; use perf/load/compare.sh for the
/// process as a whole). Run all:  dotnet run -c Release --project perf/Switchyard.Benchmarks -- --filter '*'
/// Quick check:                   dotnet run -c Release --project perf/Switchyard.Benchmarks -- --filter '*' --job short
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
