namespace Switchyard.Kubernetes;

/// <summary><c>switchyard inject -f FILE [-f FILE...] [--image IMAGE]</c>: the injected YAML on stdout, warnings on stderr.</summary>
public static class InjectCommand
{
    /// <summary>Throws <see cref="UsageException"/> for command-line mistakes and <see cref="KubeInputException"/> for bad input (exit 2).</summary>
    internal static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr) =>
        Run(Cli.CommandLine.ParseCommand("inject", args), stdin, stdout, stderr);

    internal static int Run(System.CommandLine.ParseResult args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var files = new List<string>(args.GetValue(Cli.CommandLine.InjectFiles) ?? []);
        var options = new InjectOptions();
        if (Cli.CommandLine.Value(args, Cli.CommandLine.InjectImage) is { } image)
        {
            if (string.IsNullOrWhiteSpace(image) || image.Any(char.IsWhiteSpace))
            {
                throw new UsageException($"--image: expected an image reference such as ghcr.io/switchyard/switchyard:{Program.Version}, found \"{image}\"");
            }

            options = options with { Image = image };
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
}
