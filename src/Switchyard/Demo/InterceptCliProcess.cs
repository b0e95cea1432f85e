using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Switchyard.Demo;

/// <summary>
/// The demo's developer: `switchyard intercept ...` run as a child process of this same binary, with stdout and
/// stderr inherited (its "GET /api/orders -> 200 (N ms)" lines show in the demo's output). Stopping sends SIGTERM
/// (the CLI deletes its intercept and exits 0) and kills it when it is still there after 3 s. An exit before
/// <see cref="StopAsync"/> is reported on stderr; the agent then fails open to the app.
/// </summary>
internal sealed class InterceptCliProcess : IDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(3);

    private readonly Process _process;
    private volatile bool _stopping;

    private InterceptCliProcess(Process process, string commandLine)
    {
        _process = process;
        CommandLine = commandLine;
    }

    /// <summary>The command line as a user would type it (quoted where needed).</summary>
    public string CommandLine { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="executable"/> intercept <paramref name="arguments"/>.</summary>
    public static InterceptCliProcess Start(string executable, IReadOnlyList<string> arguments)
    {
        var psi = new ProcessStartInfo(executable) { UseShellExecute = false };
        psi.ArgumentList.Add("intercept");
        foreach (string argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        string commandLine = string.Join(' ', psi.ArgumentList.Prepend(executable).Select(Quote));
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var cli = new InterceptCliProcess(process, commandLine);
        process.Exited += (_, _) => cli.OnExited();
        process.Start();
        return cli;
    }

    /// <summary>SIGTERM, then wait up to 3 s for the CLI to remove its intercept and exit; kill it after that.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        if (_process.HasExited)
        {
            return;
        }

        _ = Kill(_process.Id, SIGTERM);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(StopGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"switchyard demo: the intercept CLI did not exit within {StopGrace.TotalSeconds:0} s of SIGTERM; killing it");
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void OnExited()
    {
        if (!_stopping)
        {
            Console.Error.WriteLine($"switchyard demo: the intercept CLI exited early (code {_process.ExitCode}); the demo keeps serving, " +
                "requests with x-dev: alice now fail open to the demo app");
        }
    }

    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '=' or ',' or '@')
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private const int SIGTERM = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
