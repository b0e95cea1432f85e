using System.Buffers;
using Switchyard.Http1;
using Switchyard.Routing;
using Switchyard.Upstream;

namespace Switchyard.Proxy;

/// <summary>
/// The copy of one request for the matching wiretaps, for HTTP/1.x and HTTP/2 callers alike, streamed: once the
/// request head is known (and its destination reached) <see cref="Start"/> queues a copy for every tap, then the
/// body goes to each of them as it passes (<see cref="OnData"/>) until <see cref="End"/> (the body ended in full) or
/// <see cref="Fail"/> (the request broke off). Every step only copies bytes into a bounded per-tap buffer
/// (<see cref="Wiretaps.TapBuffer"/>): it never waits, and a tap that falls behind loses its copy, not the caller's time.
/// </summary>
/// <param name="head">The copy's HTTP/1.1 request head, up to and including the blank line, framed for <paramref name="contentLength"/>.</param>
/// <param name="contentLength">The caller's announced body length (0: none), or -1 when unknown: the copy goes chunked.</param>
internal sealed class WiretapCopier(string method, bool tls, string? sni, byte[] head, long contentLength) : IBodyObserver
{
    private WiretapBody[] _bodies = [];
    private bool _started;

    public WiretapCopier(string method, ConnectionContext context, byte[] head, long contentLength)
        : this(method, context.DownstreamIsTls, context.Sni, head, contentLength)
    {
    }

    /// <summary>The copies under way, one per tap (for tests).</summary>
    internal IReadOnlyList<WiretapBody> Bodies => _bodies;

    /// <summary>Feeds these bodies instead of queuing copies (tests that look at the copy without a tap).</summary>
    internal void StartWith(params WiretapBody[] bodies)
    {
        _started = true;
        _bodies = bodies;
    }

    /// <summary>Queues a copy for each tap (the request head goes out as soon as the tap's sender gets to it).</summary>
    public void Start(Wiretaps taps, IReadOnlyList<InterceptRule> rules)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        var bodies = new WiretapBody[rules.Count];
        for (int i = 0; i < rules.Count; i++)
        {
            InterceptRule tap = rules[i];
            bodies[i] = new WiretapBody(contentLength, taps.BufferFor(tap.Id), reason => taps.Drop(tap.Id, reason));
            taps.Offer(tap, new WiretapCopy(method, head, bodies[i], tls, sni));
        }

        _bodies = bodies;
        if (contentLength == 0)
        {
            End(); // no body: the copy is whole now
        }
    }

    public void OnData(in ReadOnlySequence<byte> data)
    {
        foreach (WiretapBody body in _bodies)
        {
            body.Write(data);
        }
    }

    /// <summary>The caller's body ended in full: so do the copies.</summary>
    public void End()
    {
        foreach (WiretapBody body in _bodies)
        {
            body.End();
        }
    }

    /// <summary>The request broke off before its body ended: copies still under way are dropped (request_failed).</summary>
    public void Fail()
    {
        foreach (WiretapBody body in _bodies)
        {
            body.Drop("request_failed");
        }
    }

    /// <summary>Ends the copies when <paramref name="body"/> (the task moving the caller's body) ends: in full, or failed.</summary>
    public void EndWith(Task body)
    {
        if (body.IsCompletedSuccessfully)
        {
            End();
            return;
        }

        _ = body.ContinueWith(static (t, state) =>
        {
            var copier = (WiretapCopier)state!;
            if (t.IsCompletedSuccessfully)
            {
                copier.End();
            }
            else
            {
                copier.Fail();
            }
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The copy's head for an HTTP/1 request: as forwarded, framed with the caller's length or chunked.</summary>
    public static byte[] Http1Head(Http1RequestHead request, out long contentLength)
    {
        (BodyKind framing, contentLength) = request.BodyKind switch
        {
            BodyKind.None => (BodyKind.None, 0L),
            BodyKind.ContentLength => (BodyKind.ContentLength, request.ContentLength),
            _ => (BodyKind.Chunked, -1L),
        };
        var bytes = new ArrayBufferWriter<byte>(512);
        Http1HeadWriter.WriteRequestHead(bytes, request, framing, contentLength);
        return bytes.WrittenSpan.ToArray();
    }
}
