using System.Globalization;
using System.Text;

namespace Switchyard.Kubernetes;

/// <summary>
/// <c>switchyard generate -f FILE [-f FILE...] [--workload KIND/NAME] [--base-port N] [-o OUT]</c>: prints (or writes)
/// the agent config for one workload. Warnings go to stderr; bad input throws <see cref="KubeInputException"/> (exit 2).
/// </summary>
public static class GenerateCommand
{

    public static int Run(IReadOnlyList<string> args, TextReader stdin, Stream stdout, TextWriter stderr)
    {
        var files = new List<string>();
        var options = new GenerateOptions();
        string? output = null;
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "-f" or "--filename":
                    files.Add(Value(args, ref i));
                    break;
                case "--workload" or "-w":
                    options = options with { Workload = Value(args, ref i) };
                    break;
                case "-o" or "--output":
                    output = Value(args, ref i);
                    break;
                case "--base-port":
                    string text = Value(args, ref i);
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int basePort) || basePort is < 1 or > 65535)
                    {
                        throw new UsageException($"--base-port: expected a port number 1-65535, found \"{text}\"");
                    }

                    options = options with { BasePort = basePort };
                    break;
                default:
                    throw new UsageException($"generate: unknown option '{args[i]}'");
            }
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

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count)
        {
            throw new UsageException($"{args[i]} needs a value");
        }

        return args[++i];
    }
}
