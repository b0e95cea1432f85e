namespace Switchyard.Http1;

/// <summary>A parsed request line and header section (RFC 9112 §3, §5). Filled by <see cref="Http1Parser.TryReadRequestHead"/>.</summary>
public sealed class Http1RequestHead : Http1MessageHead
{
    private int _pathStart;
    private int _pathLength;
    private string? _path;
    private int _hostIndex = -1;
    private int _authorityStart;
    private int _authorityLength;

    /// <summary>The method token; the common methods are shared string instances (no allocation).</summary>
    public string Method { get; internal set; } = string.Empty;

    /// <summary>The request-target as sent (origin-, absolute-, authority- or asterisk-form).</summary>
    public string Target { get; internal set; } = string.Empty;

    /// <summary>Which of the four forms (RFC 9112 §3.2) the target has.</summary>
    public RequestTargetForm TargetForm { get; internal set; }

    /// <summary>The path without the query: for origin-form the part before '?', for absolute-form the path of the URI
    /// ("/" when it has none), "*" for asterisk-form, empty for CONNECT's authority-form. No allocation.</summary>
    public ReadOnlySpan<char> PathSpan =>
        TargetForm == RequestTargetForm.Absolute && _pathLength == 0 ? "/" : Target.AsSpan(_pathStart, _pathLength);

    /// <summary><see cref="PathSpan"/> as a string (allocated once per request, only when asked for).</summary>
    public string Path => _path ??= _pathStart == 0 && _pathLength == Target.Length ? Target : PathSpan.ToString();

    /// <summary>The authority of an absolute-form target (RFC 9112 §3.2.2), else empty.</summary>
    public ReadOnlySpan<char> Authority => TargetForm == RequestTargetForm.Absolute ? Target.AsSpan(_authorityStart, _authorityLength) : default;

    /// <summary>
    /// The target as an origin server expects it: an absolute-form target becomes origin-form (its path, "/" when
    /// empty, and its query); the other forms as they were sent.
    /// </summary>
    public string OriginFormTarget
    {
        get
        {
            if (TargetForm != RequestTargetForm.Absolute)
            {
                return Target;
            }

            string rest = Target[(_authorityStart + _authorityLength)..];
            return rest.Length == 0 || rest[0] != '/' ? "/" + rest : rest;
        }
    }

    /// <summary>The Host field value, empty when absent (only HTTP/1.0 may omit it).</summary>
    public ReadOnlySpan<byte> Host => _hostIndex >= 0 ? Headers.Value(_hostIndex) : default;

    public bool HasHost => _hostIndex >= 0;

    /// <summary><c>Expect: 100-continue</c> on an HTTP/1.1 request (RFC 9110 §10.1.1: ignored on HTTP/1.0).</summary>
    public bool Expect100Continue { get; internal set; }

    /// <summary>The request asks to upgrade to h2c (RFC 9113 §3.1 removed it): the proxy never forwards that upgrade.</summary>
    public bool IsH2cUpgrade { get; internal set; }

    public bool IsHead => Method == Http1Methods.Head;

    public bool IsConnect => Method == Http1Methods.Connect;

    public override void Reset()
    {
        base.Reset();
        Method = string.Empty;
        Target = string.Empty;
        TargetForm = RequestTargetForm.Origin;
        _pathStart = 0;
        _pathLength = 0;
        _path = null;
        _hostIndex = -1;
        _authorityStart = 0;
        _authorityLength = 0;
        Expect100Continue = false;
        IsH2cUpgrade = false;
    }

    internal void SetPath(int start, int length)
    {
        _pathStart = start;
        _pathLength = length;
    }

    internal void SetAuthority(int start, int length)
    {
        _authorityStart = start;
        _authorityLength = length;
    }

    internal void SetHostIndex(int index) => _hostIndex = index;
}

/// <summary>RFC 9112 §3.2.</summary>
public enum RequestTargetForm : byte
{
    Origin,
    Absolute,
    Authority,
    Asterisk,
}
