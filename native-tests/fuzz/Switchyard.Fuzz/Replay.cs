using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Switchyard.Fuzz;

/// <summary>Runs a target on saved inputs (crashes, hangs, the corpus) outside afl-fuzz, printing what each did.</summary>
internal static class Replay
{
    public static int Run(string targetName, string[] paths)
    {
        if (!FuzzTargets.All.TryGetValue(targetName, out Action<byte[]>? target))
        {
            Console.Error.WriteLine($"unknown target '{targetName}' (targets: {string.Join(", ", FuzzTargets.All.Keys)})");
            return 2;
        }

        // The instrumented switchyard.dll records coverage in SharpFuzz's map: give it one outside afl-fuzz too.
        unsafe
        {
            SharpFuzz.Common.Trace.SharedMem = (byte*)NativeMemory.AllocZeroed(1 << 16);
        }

        int crashes = 0;
        foreach (string file in paths.SelectMany(Expand))
        {
            byte[] input = File.ReadAllBytes(file);
            var clock = Stopwatch.StartNew();
            try
            {
                target(input);
                Console.WriteLine($"ok     {clock.ElapsedMilliseconds,6} ms  {file}");
            }
            catch (Exception e)
            {
                crashes++;
                Console.WriteLine($"CRASH  {clock.ElapsedMilliseconds,6} ms  {file}");
                Console.WriteLine(e.ToString());
            }
        }

        return crashes == 0 ? 0 : 1;
    }

    private static IEnumerable<string> Expand(string path) =>
        Directory.Exists(path)
            ? Directory.EnumerateFiles(path).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            : [path];
}
