namespace Switchyard.Http1;

/// <summary>
/// What request and response heads share: the version, the field lines (offsets into one pooled copy of the head)
/// and the framing facts the proxy acts on. Instances are reused per connection: the parser resets them.
/// </summary>
public abstract class Http1MessageHead : IDisposable
{
    /// <summary>The header field lines, in order.</summary>
    public Http1Fields Headers { get; } = new();

    public Http1Version Version { get; internal set; }

    /// <summary>How the body that follows the head is delimited.</summary>
    public BodyKind BodyKind { get; internal set; }

    /// <summary>The body length when <see cref="BodyKind"/> is <see cref="BodyKind.ContentLength"/>, else 0.</summary>
    public long ContentLength { get; internal set; }

    /// <summary>
    /// Whether the connection may carry another message after this one (RFC 9112 §9.3): HTTP/1.1 unless
    /// <c>Connection: close</c>; HTTP/1.0 only with <c>Connection: keep-alive</c>.
    /// </summary>
    public bool KeepAlive { get; internal set; }

    /// <summary>
    /// Transfer-Encoding listed codings other than chunked (e.g. <c>gzip, chunked</c>): the body is chunked, and what
    /// the chunks carry is still coded. The head writer then forwards the Transfer-Encoding lines as they were.
    /// </summary>
    public bool HasOtherTransferCodings { get; internal set; }

    /// <summary>Requests: an upgrade was asked for (<c>Upgrade</c> plus the <c>upgrade</c> connection option, HTTP/1.1).
    /// Responses: a 101 Switching Protocols.</summary>
    public bool IsUpgrade { get; internal set; }

    /// <summary>The <c>Upgrade</c> field value (first line), or null.</summary>
    public string? UpgradeProtocol { get; internal set; }

    /// <summary>Number of field lines (same as <c>Headers.Count</c>).</summary>
    public int Count => Headers.Count;

    public ReadOnlySpan<byte> Name(int index) => Headers.Name(index);

    public ReadOnlySpan<byte> Value(int index) => Headers.Value(index);

    public bool TryGetValue(ReadOnlySpan<byte> nameCaseInsensitive, out ReadOnlySpan<byte> value) =>
        Headers.TryGetValue(nameCaseInsensitive, out value);

    public IEnumerable<string> Values(string name) => Headers.Values(name);

    /// <summary>Forgets the previous message; the pooled buffers stay.</summary>
    public virtual void Reset()
    {
        Headers.Reset();
        Version = Http1Version.Http11;
        BodyKind = BodyKind.None;
        ContentLength = 0;
        KeepAlive = false;
        HasOtherTransferCodings = false;
        IsUpgrade = false;
        UpgradeProtocol = null;
    }

    public void Dispose()
    {
        Headers.Dispose();
        GC.SuppressFinalize(this);
    }
}
