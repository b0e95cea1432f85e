namespace Switchyard.Demo;

internal static class DemoCommand
{
    public static Task<int> RunAsync(string[] args) => Task.FromResult(args.Length);
}
