namespace Switchyard.Http1;

/// <summary>A parsed status line and header section (RFC 9112 §4, §5). Filled by <see cref="Http1Parser.TryReadResponseHead"/>.</summary>
public sealed class Http1ResponseHead : Http1MessageHead
{
    private byte[] _reason = [];
    private int _reasonLength;

    public int StatusCode { get; internal set; }

    /// <summary>The reason phrase as sent (may be empty).</summary>
    public ReadOnlySpan<byte> ReasonPhrase => _reason.AsSpan(0, _reasonLength);

    /// <summary>1xx other than 101: an interim response; the final response follows on the same connection.</summary>
    public bool IsInterim => StatusCode is >= 100 and < 200 and not 101;

    /// <summary>100 Continue.</summary>
    public bool IsContinue => StatusCode == 100;

    /// <summary>101 Switching Protocols: after this head the connection carries the upgraded protocol.</summary>
    public bool IsSwitchingProtocols => StatusCode == 101;

    public override void Reset()
    {
        base.Reset();
        StatusCode = 0;
        _reasonLength = 0;
    }

    internal void SetReason(ReadOnlySpan<byte> reason)
    {
        if (_reason.Length < reason.Length)
        {
            _reason = new byte[Math.Max(32, reason.Length)];
        }

        reason.CopyTo(_reason);
        _reasonLength = reason.Length;
    }
}
