using System.Diagnostics;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>The outcome of a finished child process.</summary>
public sealed record ProcessResult(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() =>
        $"`{CommandLine}` exited {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs curl, openssl and the agent's short commands with a hard timeout.</summary>
public static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string? stdin = null,
        TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        var commandLine = fileName + " " + string.Join(' ', psi.ArgumentList.Select(Quote));
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {commandLine}");
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
                await process.StandardInput.FlushAsync();
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The child exited before reading its input; its exit code and output tell the story.
        }

        var limit = timeout ?? Timeouts.Process;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            var partialOut = await stdoutTask.WaitAsync(TimeSpan.FromSeconds(5));
            var partialErr = await stderrTask.WaitAsync(TimeSpan.FromSeconds(5));
            throw new TimeoutException(
                $"`{commandLine}` did not exit within {limit.TotalSeconds}s and was killed\n" +
                $"--- stdout ---\n{partialOut}\n--- stderr ---\n{partialErr}");
        }

        var stdout = await stdoutTask.WaitAsync(TimeSpan.FromSeconds(5));
        var stderr = await stderrTask.WaitAsync(TimeSpan.FromSeconds(5));
        return new ProcessResult(commandLine, process.ExitCode, stdout, stderr);
    }

    private static string Quote(string argument) =>
        argument.Length == 0 || argument.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '*')
            ? "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'"
            : argument;
}
