namespace Switchyard.NativeTests.Infrastructure;

/// <summary>Every wait in the suite is bounded by one of these.</summary>
public static class Timeouts
{
    /// <summary>Agent start until /readyz answers 200.</summary>
    public static readonly TimeSpan AgentReady = TimeSpan.FromSeconds(20);

    /// <summary>A single request, a status poll, a log line to appear.</summary>
    public static readonly TimeSpan Short = TimeSpan.FromSeconds(15);

    /// <summary>Bulk transfers.</summary>
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    /// <summary>A child process (curl, openssl, the agent with a bad config) to exit.</summary>
    public static readonly TimeSpan Process = TimeSpan.FromSeconds(20);
}
