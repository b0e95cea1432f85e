using System.IO.Hashing;

namespace Switchyard.Tls;

/// <summary>
/// One certificate/key file pair and the material currently loaded from it. Shared by every port, upstream and
/// delivery of a config that names the same files; handshakes read <see cref="Current"/> each time, so a
/// successful <see cref="Refresh"/> applies to the next handshake and never to one already done.
/// </summary>
public sealed class CertificateSource
{
    private CertificateMaterial _current;
    private ulong _lastSeen;
    private int _generation;

    private CertificateSource(CertificateMaterial material, ulong fingerprint)
    {
        _current = material;
        _lastSeen = fingerprint;
        CertPath = material.CertPath;
        KeyPath = material.KeyPath;
    }

    public string CertPath { get; }

    public string KeyPath { get; }

    /// <summary>The material the next handshake uses.</summary>
    public CertificateMaterial Current => Volatile.Read(ref _current);

    /// <summary>Incremented on every rotation: pooled upstream connections made with an older generation are not reused.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Loads the pair; throws <see cref="PemException"/> with the reason.</summary>
    public static CertificateSource Load(string certPath, string keyPath)
    {
        (CertificateMaterial material, ulong fingerprint) = Read(certPath, keyPath);
        return new CertificateSource(material, fingerprint);
    }

    /// <summary>Wraps material loaded elsewhere (tests, the demo); it is still refreshed from its files.</summary>
    public static CertificateSource Of(CertificateMaterial material) => new(material, 0);

    /// <summary>
    /// Re-reads both files. Unchanged bytes (including a pair that already failed) do nothing; a valid new pair
    /// becomes <see cref="Current"/>; an invalid one (unreadable, half-written, key not matching) leaves the old
    /// material in force and is reported once.
    /// </summary>
    public RefreshResult Refresh(out string? error)
    {
        error = null;
        byte[] cert;
        byte[] key;
        string reading = CertPath;
        try
        {
            cert = File.ReadAllBytes(CertPath);
            reading = KeyPath;
            key = File.ReadAllBytes(KeyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Missing for a moment during a swap, or gone: keep serving; report once per distinct reason.
            string why = Diagnostics.ErrorText.FileReason(e, reading);
            string reason = why == "file not found" ? $"file not found: {reading}" : $"cannot read {reading}: {why}";
            ulong marker = XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(reason));
            if (Interlocked.Exchange(ref _lastSeen, marker) == marker)
            {
                return RefreshResult.Unchanged;
            }

            error = reason;
            return RefreshResult.Failed;
        }

        ulong fingerprint = Fingerprint(cert, key);
        if (Interlocked.Exchange(ref _lastSeen, fingerprint) == fingerprint)
        {
            return RefreshResult.Unchanged;
        }

        try
        {
            CertificateMaterial material = PemLoader.ParseCertificate(PemLoader.Text(cert), CertPath, PemLoader.Text(key), KeyPath);
            if (material.Leaf.Thumbprint == Current.Leaf.Thumbprint && material.Intermediates.Count == Current.Intermediates.Count)
            {
                return RefreshResult.Unchanged; // rewritten with the same certificate (e.g. a re-mount)
            }

            Volatile.Write(ref _current, material);
            Interlocked.Increment(ref _generation);
            return RefreshResult.Rotated;
        }
        catch (PemException e)
        {
            error = e.Message;
            return RefreshResult.Failed;
        }
    }

    private static (CertificateMaterial Material, ulong Fingerprint) Read(string certPath, string keyPath)
    {
        byte[] cert = PemLoader.ReadBytes(certPath);
        byte[] key = PemLoader.ReadBytes(keyPath);
        return (PemLoader.ParseCertificate(PemLoader.Text(cert), certPath, PemLoader.Text(key), keyPath), Fingerprint(cert, key));
    }

    private static ulong Fingerprint(byte[] cert, byte[] key)
    {
        var hash = new XxHash3();
        hash.Append(cert);
        hash.Append([0]);
        hash.Append(key);
        return hash.GetCurrentHashAsUInt64();
    }

}

public enum RefreshResult : byte { Unchanged, Rotated, Failed }
