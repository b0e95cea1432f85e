using Switchyard.NativeTests.Infrastructure;
using Switchyard.Tests.Cli;

namespace Switchyard.NativeTests.Cli;

/// <summary>
/// The documented command lines that need nothing but the repository (generate and inject of the example manifests,
/// version, completion, --help) run as written, from the repository root, with the published binary: exit 0, and a
/// documented output file is what the command writes. The others (an agent, a cluster) are checked by the parser
/// (src/Switchyard.Tests/Cli/DocumentedCommandLineTests).
/// </summary>
public sealed class DocumentedCommandTests
{
    private static readonly string[] Runnable = ["generate", "inject", "version", "completion"];

    public static TheoryData<string> RunnableExamples()
    {
        var data = new TheoryData<string>();
        foreach (DocumentedCommands.Example e in DocumentedCommands.Examples().Where(e => !DocumentedCommands.IsSynopsis(e.Text)))
        {
            List<string> words = DocumentedCommands.Words(e.Text);
            bool help = words.Contains("--help") || words.Contains("-h");
            // generate/inject named in prose (`switchyard generate`, `--base-port N`) are references; an example gives -f.
            bool input = words.Count > 1 && words[1] is not ("generate" or "inject") || words.Contains("-f") || words.Contains("--filename");
            bool runnable = words.Count > 1 && (help || Runnable.Contains(words[1])) && input && e.Output.Count == 0 && FilesExist(words);
            if (runnable)
            {
                data.Add(e.ToString());
            }
        }

        return data;
    }

    private static bool FilesExist(List<string> words)
    {
        string root = DocumentedCommands.RepositoryRoot();
        for (int i = 1; i < words.Count - 1; i++)
        {
            if (words[i] is "-f" or "--filename" && (words[i + 1] == "-" || !File.Exists(Path.Combine(root, words[i + 1]))))
            {
                return false; // stdin, or a file of the reader's own (app.yaml)
            }
        }

        return !words.Contains("-o") && !words.Contains("--output"); // never overwrite the repository's files
    }

    [Fact]
    public void The_example_manifests_commands_are_among_them()
    {
        var examples = ((IEnumerable<object[]>)RunnableExamples()).Select(row => (string)row[0]).ToList();

        Assert.Contains(examples, e => e.Contains("switchyard generate -f containers/k8s/echo.yaml", StringComparison.Ordinal));
        Assert.Contains(examples, e => e.Contains("switchyard inject -f containers/k8s/echo.yaml", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(RunnableExamples))]
    public async Task A_documented_command_runs_as_written(string example)
    {
        DocumentedCommands.Example e = DocumentedCommands.Examples().First(x => x.ToString() == example);
        List<string> words = DocumentedCommands.Words(e.Text);
        string root = DocumentedCommands.RepositoryRoot();

        ProcessResult result = await ProcessRunner.RunAsync(RepoPaths.RequireAgentBinary(), words.Skip(1).Select(w => File.Exists(Path.Combine(root, w)) ? Path.Combine(root, w) : w));

        Assert.True(result.ExitCode == 0, $"{e}\n{result}");
        Assert.NotEmpty(result.Stdout);
        if (words[1] == "generate" && words.Contains("containers/k8s/echo.yaml"))
        {
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(root, "containers/k8s/echo.config.json")), result.Stdout);
        }
    }
}
