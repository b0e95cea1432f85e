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

        int failures = 0;
        foreach (string file in paths.SelectMany(Expand))
        {
            byte[] input = File.ReadAllBytes(file);
            var clock = Stopwatch.StartNew();
            Task run = Task.Factory.StartNew(() => target(input), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (!((IAsyncResult)run).AsyncWaitHandle.WaitOne(HangAfter))
            {
                // Left running: nothing can stop it. The process ends with Environment.Exit below.
                failures++;
                Console.WriteLine($"HANG   >{HangAfter.TotalMilliseconds,5} ms  {file}");
            }
            else if (run.Exception is { } error)
            {
                failures++;
                Console.WriteLine($"CRASH  {clock.ElapsedMilliseconds,6} ms  {file}");
                Console.WriteLine(error.InnerException ?? error);
            }
            else
            {
                Console.WriteLine($"ok     {clock.ElapsedMilliseconds,6} ms  {file}");
            }
        }

        Console.Out.Flush();
        Environment.Exit(failures == 0 ? 0 : 1);
        return 0;
    }

    /// <summary>How long a replayed input may run before it counts as a hang (afl-fuzz's -t is shorter; this is outside it).</summary>
    private static readonly TimeSpan HangAfter = TimeSpan.FromSeconds(10);

    private static IEnumerable<string> Expand(string path) =>
        Directory.Exists(path)
            ? Directory.EnumerateFiles(path).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            : [path];
}
