using System.Buffers;
using Switchyard.Http1;
using Switchyard.Routing;

namespace Switchyard.Proxy;

/// <summary>
/// Collects the copy of one request for the matching wiretaps, for HTTP/1.x and HTTP/2 callers alike: the body as it
/// passes (up to <see cref="Upstream.Wiretaps.MaxBodyCopy"/>), then the HTTP/1.1 head written for that body's
/// length. A body over the limit drops the copy for every tap (counted as body_too_large); offering never waits.
/// </summary>
/// <param name="writeHead">Writes the copy's request head, up to and including the blank line, for a body of the given length.</param>
internal sealed class WiretapCopier(string method, bool tls, string? sni, Action<IBufferWriter<byte>, int> writeHead) : IBodyObserver
{
    private ArrayBufferWriter<byte>? _body = new();

    public WiretapCopier(string method, ConnectionContext context, Action<IBufferWriter<byte>, int> writeHead)
        : this(method, context.DownstreamIsTls, context.Sni, writeHead)
    {
    }

    /// <summary>The body went over the copy limit: no copy will be made.</summary>
    public bool TooLarge => _body is null;

    public void OnData(in ReadOnlySequence<byte> data)
    {
        if (_body is null)
        {
            return;
        }

        if (_body.WrittenCount + data.Length > Upstream.Wiretaps.MaxBodyCopy)
        {
            _body = null;
            return;
        }

        foreach (ReadOnlyMemory<byte> segment in data)
        {
            _body.Write(segment.Span);
        }
    }

    /// <summary>The copy as the taps receive it (head and body), or null when the body was too large.</summary>
    public Upstream.WiretapCopy? Build()
    {
        if (_body is null)
        {
            return null;
        }

        var bytes = new ArrayBufferWriter<byte>(512 + _body.WrittenCount);
        writeHead(bytes, _body.WrittenCount);
        bytes.Write(_body.WrittenSpan);
        return new Upstream.WiretapCopy(method, bytes.WrittenSpan.ToArray(), tls, sni);
    }

    /// <summary>Hands each matching wiretap the copy of the request just forwarded (never waits for a tap).</summary>
    public void Offer(Upstream.Wiretaps taps, IReadOnlyList<InterceptRule> rules)
    {
        Upstream.WiretapCopy? copy = Build();
        foreach (InterceptRule tap in rules)
        {
            if (copy is null)
            {
                taps.Drop(tap.Id, "body_too_large");
            }
            else
            {
                taps.Offer(tap, copy);
            }
        }
    }
}
