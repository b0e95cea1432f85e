using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// <c>/hold?id=ID[&amp;first=1]</c>: records that the request arrived, optionally sends a first chunk of the response,
/// then waits (up to a minute) for <see cref="HttpContext.RequestAborted"/> and records whether it fired. Shared by
/// several servers; entries are keyed "SERVER/ID".
/// </summary>
public sealed class HoldEndpoint
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _arrived = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _aborted = new();

    /// <summary>Requests to /hold that reached any server so far.</summary>
    public int Arrivals => _arrived.Count;

    public Action<IApplicationBuilder> Pipeline(string server) => app => app.Map("/hold", branch => branch.Run(async context =>
    {
        string key = $"{server}/{context.Request.Query["id"]}";
        Signal(_arrived, key);
        if (context.Request.Query["first"] == "1")
        {
            await context.Response.WriteAsync($"first chunk from {server}\n");
            await context.Response.Body.FlushAsync();
        }

        try
        {
            await Task.Delay(TimeSpan.FromMinutes(1), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            Signal(_aborted, key);
        }
    }));

    public Task ArrivedAsync(string server, string id, TimeSpan timeout) =>
        Wait(_arrived, $"{server}/{id}", timeout, "the held request to arrive");

    public Task AbortedAsync(string server, string id, TimeSpan timeout) =>
        Wait(_aborted, $"{server}/{id}", timeout, "RequestAborted to fire");

    private static void Signal(ConcurrentDictionary<string, TaskCompletionSource> map, string key) =>
        map.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private static async Task Wait(ConcurrentDictionary<string, TaskCompletionSource> map, string key, TimeSpan timeout, string what)
    {
        var source = map.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await source.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{key}: waited {timeout.TotalSeconds}s for {what}");
        }
    }
}

/// <summary>
/// <c>/slow?id=ID</c>: counts the arrival, waits until the test opens the gate, then answers 200 with a body of
/// several flushed chunks ("slow ID from SERVER" + filler, <see cref="BodyLength"/> bytes in all).
/// </summary>
public sealed class SlowEndpoint
{
    public const int BodyLength = 64 * 1024;

    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _arrivals;

    public int Arrivals => Volatile.Read(ref _arrivals);

    public void Open() => _gate.TrySetResult();

    public static string ExpectedBody(string server, string id)
    {
        string head = $"slow {id} from {server}\n";
        return head + new string('s', BodyLength - head.Length);
    }

    public Action<IApplicationBuilder> Pipeline(string server) => app => app.Map("/slow", branch => branch.Run(async context =>
    {
        Interlocked.Increment(ref _arrivals);
        await _gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
        string body = ExpectedBody(server, context.Request.Query["id"].ToString());
        context.Response.ContentType = "text/plain";
        for (int offset = 0; offset < body.Length; offset += body.Length / 4)
        {
            await context.Response.WriteAsync(body.Substring(offset, Math.Min(body.Length / 4, body.Length - offset)));
            await context.Response.Body.FlushAsync();
            await Task.Delay(20);
        }
    }));

    /// <summary>Waits until <paramref name="count"/> requests arrived; a request of <paramref name="senders"/> that already failed fails the wait at once.</summary>
    public async Task WaitForArrivalsAsync(int count, TimeSpan timeout, params Task[] senders)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Arrivals < count)
        {
            if (senders.FirstOrDefault(t => t.IsFaulted || t.IsCanceled) is { } failed)
            {
                await failed; // throws the sender's own exception
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"only {Arrivals} of {count} slow requests arrived within {timeout.TotalSeconds}s");
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>
/// <c>/bulk</c>: hashes the whole request body, then answers with <see cref="Payload.SixtyFourMiB"/> seeded bytes;
/// headers x-received (digest of what arrived) and x-served-by. <see cref="SmallWindows"/> gives Kestrel the smallest
/// HTTP/2 windows it allows, so flow control is exercised on every few frames.
/// </summary>
public static class BulkEndpoint
{
    public static Action<IApplicationBuilder> Pipeline(string server, long responseLength, int responseSeed) =>
        app => app.Map("/bulk", branch => branch.Run(async context =>
        {
            var received = await Payload.ReadToEndAsync(context.Request.Body, context.RequestAborted);
            context.Response.Headers["x-received"] = received.ToString();
            context.Response.Headers["x-served-by"] = server;
            context.Response.Headers["x-protocol"] = context.Request.Protocol;
            context.Response.ContentLength = responseLength;
            await Payload.WriteAsync(context.Response.Body, responseLength, responseSeed, context.RequestAborted);
        }));

    public static void SmallWindows(KestrelServerOptions kestrel)
    {
        kestrel.Limits.MaxRequestBodySize = null;
        kestrel.Limits.Http2.InitialConnectionWindowSize = 65535;
        kestrel.Limits.Http2.InitialStreamWindowSize = 65535;
    }
}

/// <summary>Counts the requests under the path <paramref name="prefix"/> that reached the server (the echo still answers them).</summary>
public sealed class PathCounter(string prefix)
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public Action<IApplicationBuilder> Pipeline => app => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(prefix, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _count);
        }

        await next(context);
    });
}
