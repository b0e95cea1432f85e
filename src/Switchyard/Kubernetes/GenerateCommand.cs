using System.Globalization;
using System.Text;

namespace Switchyard.Kubernetes;

/// <summary>
/// <c>switchyard generate -f FILE [-f FILE...] [--workload KIND/NAME] [--base-port N] [-o OUT]</c>: prints (or writes)
/// the agent config for one workload. Warnings go to stderr; bad input throws <see cref="KubeInputException"/> (exit 2).
/// </summary>
public static class GenerateCommand
{
    /// <summary>The arguments after `generate`; a command-line mistake throws <see cref="UsageException"/>.</summary>
    public static int Run(IReadOnlyList<string> args, TextReader stdin, Stream stdout, TextWriter stderr) =>
        Run(Cli.CommandLine.ParseCommand("generate", args), stdin, stdout, stderr);

    internal static int Run(System.CommandLine.ParseResult args, TextReader stdin, Stream stdout, TextWriter stderr)
    {
        var files = new List<string>(args.GetValue(Cli.CommandLine.GenerateFiles) ?? []);
        var options = new GenerateOptions();
        if (Cli.CommandLine.Value(args, Cli.CommandLine.GenerateWorkload) is { } workload)
        {
            options = options with { Workload = workload };
        }

        string? output = Cli.CommandLine.Value(args, Cli.CommandLine.GenerateOutput);
        if (Cli.CommandLine.Value(args, Cli.CommandLine.GenerateBasePort) is { } text)
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int basePort) || basePort is < 1 or > 65535)
            {
                throw new UsageException($"--base-port: expected a port number 1-65535, found \"{text}\"");
            }

            options = options with { BasePort = basePort };
        }

        ManifestReader.CheckFiles("generate", files);

        Generation generation = ConfigGenerator.Generate(ManifestReader.Read(files, stdin), options);
        foreach (string warning in generation.Warnings)
        {
            stderr.WriteLine($"switchyard: warning: {warning}");
        }

        byte[] bytes = Encoding.UTF8.GetBytes(generation.ConfigJson);
        if (output is null)
        {
            stdout.Write(bytes);
            stdout.Flush();
        }
        else
        {
            try
            {
                File.WriteAllBytes(output, bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new KubeInputException(output, null, "-o", $"cannot write: {e.Message}");
            }
        }

        return 0;
    }
}
