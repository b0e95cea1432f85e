namespace Switchyard.Kubernetes;

/// <summary><c>switchyard inject -f FILE [-f FILE...] [--image IMAGE]</c>: the injected YAML on stdout, warnings on stderr.</summary>
public static class InjectCommand
{
    /// <summary>Throws <see cref="UsageException"/> for command-line mistakes and <see cref="KubeInputException"/> for bad input (exit 2).</summary>
    internal static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var files = new List<string>();
        var options = new InjectOptions();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-f" or "--filename":
                    files.Add(Value(args, ref i));
                    break;
                case "--image":
                    string image = Value(args, ref i);
                    if (string.IsNullOrWhiteSpace(image) || image.Any(char.IsWhiteSpace))
                    {
                        throw new UsageException($"--image: expected an image reference such as ghcr.io/switchyard/switchyard:{Program.Version}, found \"{image}\"");
                    }

                    options = options with { Image = image };
                    break;
                default:
                    throw new UsageException($"inject: unknown option '{args[i]}'");
            }
        }

        ManifestReader.CheckFiles("inject", files);

        List<ManifestDocument> documents = ManifestReader.Read(files, stdin);
        InjectResult result = ManifestInjector.Inject(documents, options);
        foreach (string warning in result.Warnings)
        {
            stderr.WriteLine($"switchyard: warning: {warning}");
        }

        stdout.Write(result.Yaml);
        stdout.Flush();
        return 0;
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new UsageException($"{args[i]} needs a value");
        }

        return args[++i];
    }
}
