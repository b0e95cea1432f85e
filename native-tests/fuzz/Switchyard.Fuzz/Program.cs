using SharpFuzz;
using Switchyard.Fuzz;

// dotnet Switchyard.Fuzz.dll TARGET             run TARGET under afl-fuzz (input on stdin; once when not under afl-fuzz)
// dotnet Switchyard.Fuzz.dll --replay TARGET F  run TARGET on each file F, print the outcome and any crash's stack trace
// dotnet Switchyard.Fuzz.dll --list             the target names
if (args.Length == 1 && args[0] == "--list")
{
    foreach (string name in FuzzTargets.All.Keys)
    {
        Console.WriteLine(name);
    }

    return 0;
}

if (args.Length >= 2 && args[0] == "--replay")
{
    return Replay.Run(args[1], args[2..]);
}

if (args.Length != 1 || !FuzzTargets.All.TryGetValue(args[0], out Action<byte[]>? target))
{
    Console.Error.WriteLine($"usage: Switchyard.Fuzz TARGET | --replay TARGET FILE... | --list   (targets: {string.Join(", ", FuzzTargets.All.Keys)})");
    return 2;
}

// Out of process: the fork server survives what a child cannot (a stack overflow, a timeout) and restarts it.
Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    target(copy.ToArray());
});
return 0;
