using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Switchyard.Tls;

/// <summary>An error in a certificate, key or trust-root file; the message is the reason shown to users.</summary>
public sealed class PemException(string message) : Exception(message);

/// <summary>
/// Loads certificates and keys from PEM files: a chain (leaf first; other PEM blocks ignored), exactly one
/// private key (PKCS#1 "RSA PRIVATE KEY", PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY"), and trust roots
/// from files or directories (not recursive; PEM or DER).
/// </summary>
public static class PemLoader
{
    private const string CertificateLabel = "CERTIFICATE";

    public static CertificateMaterial LoadCertificate(string certPath, string keyPath) =>
        ParseCertificate(ReadText(certPath), certPath, ReadText(keyPath), keyPath);

    /// <summary>A certificate pair from text already read (the rotation watcher fingerprints the same bytes it loads).</summary>
    public static CertificateMaterial ParseCertificate(string certText, string certPath, string keyText, string keyPath)
    {
        List<X509Certificate2> chain = ReadCertificates(certText, certPath);
        if (chain.Count == 0)
        {
            throw new PemException($"no CERTIFICATE block in {certPath}");
        }

        X509Certificate2 leaf = AttachKey(chain[0], certPath, keyText, keyPath);
        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        return new CertificateMaterial(leaf, intermediates, certPath, keyPath);
    }

    /// <summary>Every certificate in the given files and directories. A named file must hold at least one.</summary>
    public static X509Certificate2Collection LoadTrustRoots(IEnumerable<string> paths)
    {
        var roots = new X509Certificate2Collection();
        foreach (string path in paths)
        {
            if (Directory.Exists(path))
            {
                foreach (string file in Directory.EnumerateFiles(path).Order(StringComparer.Ordinal))
                {
                    // Kubernetes volume internals (..data, ..2024_01_01...) are not certificates.
                    if (Path.GetFileName(file).StartsWith("..", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    TryAddCertificates(file, roots);
                }
            }
            else if (File.Exists(path))
            {
                if (!TryAddCertificates(path, roots))
                {
                    throw new PemException($"no certificate in {path}");
                }
            }
            else
            {
                throw new PemException($"file not found: {path}");
            }
        }

        return roots;
    }

    private static bool TryAddCertificates(string file, X509Certificate2Collection into)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PemException($"cannot read {file}: {Diagnostics.ErrorText.FileReason(e, file)}");
        }

        List<X509Certificate2> found = ReadCertificates(System.Text.Encoding.ASCII.GetString(bytes), file);
        if (found.Count == 0 && bytes.Length > 0 && bytes[0] == 0x30)
        {
            try
            {
                found.Add(X509CertificateLoader.LoadCertificate(bytes));
            }
            catch (CryptographicException)
            {
                // not DER either: a directory may hold other files
            }
        }

        into.AddRange(found.ToArray());
        return found.Count > 0;
    }

    private static List<X509Certificate2> ReadCertificates(string text, string path)
    {
        var result = new List<X509Certificate2>();
        ReadOnlySpan<char> rest = text;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            if (rest[fields.Label].SequenceEqual(CertificateLabel))
            {
                byte[] der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out int written))
                {
                    throw new PemException($"bad base64 in a CERTIFICATE block of {path}");
                }

                try
                {
                    result.Add(X509CertificateLoader.LoadCertificate(der.AsSpan(0, written)));
                }
                catch (CryptographicException)
                {
                    throw new PemException($"invalid certificate in {path}: a CERTIFICATE block does not hold an X.509 certificate");
                }
            }

            rest = rest[fields.Location.End..];
        }

        return result;
    }

    private static X509Certificate2 AttachKey(X509Certificate2 leaf, string certPath, string keyText, string keyPath)
    {
        string? keyLabel = null;
        int keyCount = 0;
        ReadOnlySpan<char> rest = keyText;
        string keyBlock = string.Empty;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            string label = rest[fields.Label].ToString();
            if (label is "PRIVATE KEY" or "RSA PRIVATE KEY" or "EC PRIVATE KEY" or "ENCRYPTED PRIVATE KEY")
            {
                keyCount++;
                keyLabel = label;
                keyBlock = rest[fields.Location].ToString();
            }

            rest = rest[fields.Location.End..];
        }

        if (keyCount == 0)
        {
            throw new PemException($"no private key (PKCS#1, PKCS#8 or SEC1 PEM block) in {keyPath}");
        }

        if (keyCount > 1)
        {
            throw new PemException($"{keyCount} private keys in {keyPath}; exactly one is allowed");
        }

        if (keyLabel == "ENCRYPTED PRIVATE KEY")
        {
            throw new PemException($"encrypted private key in {keyPath} is not supported");
        }

        string algorithm = leaf.GetKeyAlgorithm();
        if (algorithm is not ("1.2.840.113549.1.1.1" or "1.2.840.10045.2.1"))
        {
            throw new PemException($"unsupported certificate key algorithm {algorithm} in {certPath} (RSA and ECDSA are supported)");
        }

        try
        {
            if (algorithm == "1.2.840.113549.1.1.1") // rsaEncryption
            {
                using RSA rsa = RSA.Create();
                Import(() => rsa.ImportFromPem(keyBlock), certPath, keyPath, leafIsRsa: true, keyLabel);
                return leaf.CopyWithPrivateKey(rsa);
            }

            using ECDsa ecdsa = ECDsa.Create(); // id-ecPublicKey
            Import(() => ecdsa.ImportFromPem(keyBlock), certPath, keyPath, leafIsRsa: false, keyLabel);
            return leaf.CopyWithPrivateKey(ecdsa);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // CopyWithPrivateKey: the key's public half is not the certificate's (Cryptography_PrivateKey_DoesNotMatch).
            throw new PemException($"the private key in {keyPath} does not match the certificate in {certPath}");
        }
    }

    /// <summary>Imports the key; a key of the other algorithm is a mismatch, a damaged one says so.</summary>
    private static void Import(Action import, string certPath, string keyPath, bool leafIsRsa, string? keyLabel)
    {
        try
        {
            import();
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            string certificate = leafIsRsa ? "RSA" : "ECDSA";
            if ((leafIsRsa && keyLabel == "EC PRIVATE KEY") || (!leafIsRsa && keyLabel == "RSA PRIVATE KEY"))
            {
                throw new PemException($"the private key in {keyPath} does not match the certificate in {certPath}: the key is {(leafIsRsa ? "ECDSA" : "RSA")}, the certificate {certificate}");
            }

            if (keyLabel == "PRIVATE KEY")
            {
                throw new PemException($"the private key in {keyPath} does not match the certificate in {certPath}: the key is not {certificate} or it is damaged");
            }

            throw new PemException($"the private key in {keyPath} cannot be read: the PEM block is damaged");
        }
    }

    private static string ReadText(string path) => Text(ReadBytes(path));

    /// <summary>UTF-8 text of a PEM file's bytes (a byte order mark is skipped).</summary>
    internal static string Text(byte[] bytes) =>
        System.Text.Encoding.UTF8.GetString(bytes.AsSpan().StartsWith(System.Text.Encoding.UTF8.Preamble) ? bytes.AsSpan(3) : bytes);

    /// <summary>A PEM file's bytes; a missing or unreadable file is a <see cref="PemException"/> naming it.</summary>
    internal static byte[] ReadBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new PemException($"file not found: {path}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PemException($"cannot read {path}: {Diagnostics.ErrorText.FileReason(e, path)}");
        }
    }
}
