using Switchyard.NativeTests.Infrastructure;
using Xunit.Abstractions;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// curl and nghttp as HTTP/2 callers: over TLS the agent selects ALPN h2, on a plaintext port it takes the h2c
/// preface; each stream with <c>x-dev: alice</c> reaches alice's server, the rest reach the app, and both upstreams
/// are spoken to in HTTP/2.
/// </summary>
public sealed class CommandLineClientTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task CurlHttp2RequestsAreRoutedByTheirHeader(FrontTransport transport)
    {
        await using var rig = await Http2Rig.StartAsync(output, transport);

        var toDeveloper = await rig.Front.CurlH2Async("/api/orders", "-H", "x-dev: alice", "--data-binary", "order-1");
        var toApp = await rig.Front.CurlH2Async("/api/orders?page=2", "-H", "x-dev: bob");

        Assert.True(toDeveloper.Succeeded, toDeveloper.ToString());
        Assert.Equal("2", toDeveloper.HttpVersion);
        Assert.StartsWith("app=alice-laptop\nmethod=POST\npath=/api/orders\n", toDeveloper.Body, StringComparison.Ordinal);
        Assert.Contains("protocol=HTTP/2\n", toDeveloper.Body, StringComparison.Ordinal);
        Assert.Contains("body=order-1\n", toDeveloper.Body, StringComparison.Ordinal);

        Assert.True(toApp.Succeeded, toApp.ToString());
        Assert.Equal("2", toApp.HttpVersion);
        Assert.StartsWith("app=the-app\nmethod=GET\npath=/api/orders?page=2\n", toApp.Body, StringComparison.Ordinal);
        Assert.Contains("protocol=HTTP/2\n", toApp.Body, StringComparison.Ordinal);
        Assert.Contains(transport == FrontTransport.Tls ? "scheme=https\n" : "scheme=http\n", toApp.Body, StringComparison.Ordinal);

        await rig.Front.WaitForCountAsync("switchyard_requests_total", 1, ("route", "alice"));
        await rig.Front.WaitForCountAsync("switchyard_requests_total", 1, ("route", "app"));
    }

    [Theory]
    [InlineData(FrontTransport.Tls)]
    [InlineData(FrontTransport.H2c)]
    public async Task NghttpStreamsOnOneConnectionAreRoutedByTheirHeader(FrontTransport transport)
    {
        await using var rig = await Http2Rig.StartAsync(output, transport);
        string Url(string path) => Nghttp.Url(rig.Front.Listen, rig.Front.IsTls, path);
        string body = rig.Front.Dir.File("body.txt");
        await File.WriteAllTextAsync(body, "hello from nghttp");

        // nghttp sends the same headers on every URI of a run: one run with alice's header, one without.
        var alice = await Nghttp.RunAsync(rig.Front.Dir, [Url("/api/a"), Url("/api/b"), Url("/api/c")], ["x-dev: alice"], body);
        var others = await Nghttp.RunAsync(rig.Front.Dir, [Url("/api/d"), Url("/api/e")]);

        Assert.True(alice.Process.ExitCode == 0, alice.ToString());
        Assert.Equal([200, 200, 200], alice.Entries.Select(e => e.Status));
        AssertAnswers(alice.Body, "alice-laptop", ["/api/a", "/api/b", "/api/c"]);
        Assert.Equal(3, Count(alice.Body, "body=hello from nghttp\n"));

        Assert.True(others.Process.ExitCode == 0, others.ToString());
        Assert.Equal([200, 200], others.Entries.Select(e => e.Status));
        AssertAnswers(others.Body, "the-app", ["/api/d", "/api/e"]);

        await rig.Front.WaitForCountAsync("switchyard_requests_total", 3, ("route", "alice"));
        await rig.Front.WaitForCountAsync("switchyard_requests_total", 2, ("route", "app"));
        // Two nghttp runs, two caller connections, however many streams.
        await rig.Front.WaitForCountAsync("switchyard_connections_total", 2);
    }

    /// <summary>Every echo in <paramref name="output"/> came from <paramref name="server"/> over HTTP/2, one per path.</summary>
    private static void AssertAnswers(string output, string server, string[] paths)
    {
        var answers = output.Split("app=", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(paths.Length, answers.Length);
        Assert.All(answers, a => Assert.StartsWith(server + "\n", a, StringComparison.Ordinal));
        Assert.All(answers, a => Assert.Contains("protocol=HTTP/2\n", a, StringComparison.Ordinal));
        Assert.Equal(paths.Order(), answers.Select(a => EchoText.Field(a, "path")).Order());
    }

    private static int Count(string text, string part) => text.Split(part).Length - 1;
}
