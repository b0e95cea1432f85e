using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Switchyard.Tests.TestSupport;
using Switchyard.Tls;

namespace Switchyard.Tests.Tls;

public sealed class PemLoaderTests : IDisposable
{
    // Blocks that may share a file with certificates and keys and must be passed over.
    private static readonly string CrlBlock = PemEncoding.WriteString("X509 CRL", RandomBytes(64, seed: 1)) + "\n";
    private static readonly string ParametersBlock = PemEncoding.WriteString("PARAMETERS", RandomBytes(24, seed: 2)) + "\n";
    private static readonly string EcParametersBlock = PemEncoding.WriteString("EC PARAMETERS", [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]) + "\n";

    private readonly TempDirectory _dir = new();
    private readonly TestPki _pki = TestPki.Shared;

    public void Dispose() => _dir.Dispose();

    public static TheoryData<bool, KeyFormat> KeyTypes() => new()
    {
        { true, KeyFormat.Pkcs1 },
        { true, KeyFormat.Pkcs8 },
        { false, KeyFormat.Sec1 },
        { false, KeyFormat.Pkcs8 },
    };

    public static TheoryData<bool, KeyFormat, int, bool> ChainLayouts()
    {
        var data = new TheoryData<bool, KeyFormat, int, bool>();
        foreach (object[] key in KeyTypes())
        {
            for (int intermediates = 0; intermediates <= 2; intermediates++)
            {
                data.Add((bool)key[0], (KeyFormat)key[1], intermediates, false);
                data.Add((bool)key[0], (KeyFormat)key[1], intermediates, true);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ChainLayouts))]
    public void A_chain_file_and_a_key_load_as_a_leaf_with_its_key_and_the_rest_as_intermediates(bool rsa, KeyFormat format, int intermediates, bool withOtherBlocks)
    {
        IssuedCertificate leaf = _pki.Leaf(rsa);
        var chain = new StringBuilder();
        if (withOtherBlocks)
        {
            chain.Append("subject=").Append(leaf.Subject).Append('\n').Append(CrlBlock); // openssl-style text and a CRL before the leaf
        }

        chain.Append(leaf.CertificatePem).Append('\n');
        if (withOtherBlocks)
        {
            chain.Append(ParametersBlock);
        }

        // leaf first, then the issuer, then (for two) the root
        X509Certificate2[] expectedIntermediates = [_pki.Intermediate, _pki.Root];
        for (int i = 0; i < intermediates; i++)
        {
            chain.Append(expectedIntermediates[i].ExportCertificatePem()).Append('\n');
            if (withOtherBlocks)
            {
                chain.Append(CrlBlock);
            }
        }

        string certPath = _dir.Write("tls.crt", chain.ToString());
        string keyPath = _dir.Write("tls.key", (withOtherBlocks ? ParametersBlock : string.Empty) + leaf.KeyPem(format));

        CertificateMaterial material = PemLoader.LoadCertificate(certPath, keyPath);

        Assert.Equal(leaf.Subject, material.Leaf.Subject);
        Assert.Equal(leaf.Certificate.Thumbprint, material.Leaf.Thumbprint);
        Assert.True(material.Leaf.HasPrivateKey);
        Assert.Equal(
            expectedIntermediates.Take(intermediates).Select(c => c.Thumbprint),
            material.Intermediates.Select(c => c.Thumbprint));
        Assert.Equal(certPath, material.CertPath);
        Assert.Equal(keyPath, material.KeyPath);
        Assert.True(SignsVerifiably(material.Leaf));
    }

    [Fact]
    public void A_sec1_key_file_as_openssl_ecparam_genkey_writes_it_loads()
    {
        // `openssl ecparam -genkey` puts an EC PARAMETERS block before the EC PRIVATE KEY block.
        string certPath = _dir.Write("tls.crt", _pki.EcLeaf.CertificatePem);
        string keyPath = _dir.Write("tls.key", EcParametersBlock + _pki.EcLeaf.KeyPem(KeyFormat.Sec1) + "\n");

        CertificateMaterial material = PemLoader.LoadCertificate(certPath, keyPath);

        Assert.True(material.Leaf.HasPrivateKey);
        Assert.NotNull(material.Leaf.GetECDsaPrivateKey());
    }

    [Fact]
    public void One_file_holding_the_chain_and_the_key_serves_as_both()
    {
        string combined = _pki.RsaLeaf.CertificatePem + "\n" + _pki.RsaLeaf.KeyPem(KeyFormat.Pkcs1) + "\n" + _pki.IntermediatePem + "\n";
        string path = _dir.Write("combined.pem", combined);

        CertificateMaterial material = PemLoader.LoadCertificate(path, path);

        Assert.Equal(_pki.RsaLeaf.Subject, material.Leaf.Subject);
        Assert.True(material.Leaf.HasPrivateKey);
        Assert.Equal(_pki.Intermediate.Thumbprint, Assert.Single(material.Intermediates).Thumbprint);
    }

    [Fact]
    public void Windows_line_endings_are_accepted()
    {
        string certPath = _dir.Write("tls.crt", (_pki.EcLeaf.CertificatePem + "\n" + _pki.IntermediatePem + "\n").ReplaceLineEndings("\r\n"));
        string keyPath = _dir.Write("tls.key", _pki.EcLeaf.KeyPem(KeyFormat.Pkcs8).ReplaceLineEndings("\r\n"));

        CertificateMaterial material = PemLoader.LoadCertificate(certPath, keyPath);

        Assert.True(material.Leaf.HasPrivateKey);
        Assert.Single(material.Intermediates);
    }

    [Fact]
    public void A_missing_certificate_file_is_named_in_the_error()
    {
        string certPath = _dir.File("absent.crt");
        string keyPath = _dir.Write("tls.key", _pki.EcLeaf.KeyPem(KeyFormat.Pkcs8));

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadCertificate(certPath, keyPath));

        Assert.Equal($"file not found: {certPath}", e.Message);
    }

    [Fact]
    public void A_missing_key_file_is_named_in_the_error()
    {
        string certPath = _dir.Write("tls.crt", _pki.EcLeaf.CertificatePem);
        string keyPath = _dir.File("absent.key");

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadCertificate(certPath, keyPath));

        Assert.Equal($"file not found: {keyPath}", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("just some text\n")]
    [InlineData("key")]
    [InlineData("crl")]
    public void A_certificate_file_without_a_certificate_block_is_rejected(string content)
    {
        string text = content switch
        {
            "key" => _pki.EcLeaf.KeyPem(KeyFormat.Pkcs8),
            "crl" => CrlBlock + ParametersBlock,
            _ => content,
        };
        string certPath = _dir.Write("tls.crt", text);
        string keyPath = _dir.Write("tls.key", _pki.EcLeaf.KeyPem(KeyFormat.Pkcs8));

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadCertificate(certPath, keyPath));

        Assert.Equal($"no CERTIFICATE block in {certPath}", e.Message);
    }

    [Fact]
    public void A_certificate_block_that_is_not_a_certificate_is_rejected()
    {
        string certPath = _dir.Write("tls.crt", PemEncoding.WriteString("CERTIFICATE", RandomBytes(200, seed: 3)));
        string keyPath = _dir.Write("tls.key", _pki.EcLeaf.KeyPem(KeyFormat.Pkcs8));

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadCertificate(certPath, keyPath));

        Assert.StartsWith($"invalid certificate in {certPath}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("certificate")]
    [InlineData("parameters")]
    public void A_key_file_without_a_private_key_is_rejected(string content)
    {
        string text = content switch
        {
            "certificate" => _pki.EcLeaf.CertificatePem,
            "parameters" => EcParametersBlock + ParametersBlock,
            _ => content,
        };
        string certPath = _dir.Write("tls.crt", _pki.EcLeaf.CertificatePem);
        string keyPath = _dir.Write("tls.key", text);

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadCertificate(certPath, keyPath));

        Assert.Equal($"no private key (PKCS#1, PKCS#8 or SEC1 PEM block) in {keyPath}", e.Message);
    }

    [Theory]
    [InlineData(KeyFormat.Sec1, KeyFormat.Pkcs8)]
    [InlineData(KeyFormat.Pkcs8, KeyFormat.Pkcs8)]
    public void A_key_file_with_two_keys_is_rejected(KeyFormat first, KeyFormat second)
    {
        // Even the same key twice: "exactly one key" is the rule.
        string certPath = _dir.Write("tls.crt", _pki.EcLeaf.CertificatePem);
        string keyPath = _dir.Write("tls.key", _pki.EcLeaf.KeyPem(first) + "\n" + _pki.EcLeaf.KeyPem(second));

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadCertificate(certPath, keyPath));

        Assert.Equal($"2 private keys in {keyPath}; exactly one is allowed", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_encrypted_key_is_rejected(bool rsa)
    {
        string certPath = _dir.Write("tls.crt", _pki.Leaf(rsa).CertificatePem);
        string keyPath = _dir.Write("tls.key", _pki.Leaf(rsa).KeyPem(KeyFormat.EncryptedPkcs8));

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadCertificate(certPath, keyPath));

        Assert.Equal($"encrypted private key in {keyPath} is not supported", e.Message);
    }

    public static TheoryData<string, string, KeyFormat> MismatchedPairs() => new()
    {
        { "ec", "other-ec", KeyFormat.Sec1 },
        { "ec", "other-ec", KeyFormat.Pkcs8 },
        { "rsa", "other-rsa", KeyFormat.Pkcs1 },
        { "rsa", "other-rsa", KeyFormat.Pkcs8 },
        { "ec", "rsa", KeyFormat.Pkcs1 },
        { "ec", "rsa", KeyFormat.Pkcs8 },
        { "rsa", "ec", KeyFormat.Sec1 },
        { "rsa", "ec", KeyFormat.Pkcs8 },
    };

    [Theory]
    [MemberData(nameof(MismatchedPairs))]
    public void A_key_that_belongs_to_another_certificate_is_rejected(string certificate, string keyOf, KeyFormat format)
    {
        string certPath = _dir.Write("tls.crt", Named(certificate).CertificatePem);
        string keyPath = _dir.Write("tls.key", Named(keyOf).KeyPem(format));

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadCertificate(certPath, keyPath));

        Assert.StartsWith($"the private key in {keyPath} does not match the certificate", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(KeyTypes))]
    public async Task A_loaded_certificate_and_key_complete_a_tls_handshake_that_verifies_up_to_the_root(bool rsa, KeyFormat format)
    {
        IssuedCertificate leaf = _pki.Leaf(rsa);
        string certPath = _dir.Write("tls.crt", leaf.CertificatePem + "\n" + _pki.IntermediatePem);
        string keyPath = _dir.Write("tls.key", leaf.KeyPem(format));
        CertificateMaterial material = PemLoader.LoadCertificate(certPath, keyPath);

        (Socket clientSocket, Socket serverSocket) = await Loopback.ConnectedPairAsync();
        await using var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: true));
        await using var server = new SslStream(new NetworkStream(serverSocket, ownsSocket: true));
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck, DisableCertificateDownloads = true };
        policy.CustomTrustStore.Add(_pki.Root); // the client knows the root only: the intermediate must come from the server
        SslPolicyErrors? clientSaw = null;
        int chainLength = 0;
        var clientOptions = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            CertificateChainPolicy = policy,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
            RemoteCertificateValidationCallback = (_, _, chain, errors) =>
            {
                clientSaw = errors;
                chainLength = chain?.ChainElements.Count ?? 0;
                return errors == SslPolicyErrors.None;
            },
        };
        var serverOptions = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = material.Context,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        };

        await Task.WhenAll(
            client.AuthenticateAsClientAsync(clientOptions),
            server.AuthenticateAsServerAsync(serverOptions)).WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(SslPolicyErrors.None, clientSaw);
        Assert.Equal(3, chainLength);
        Assert.Equal(leaf.Certificate.Thumbprint, client.RemoteCertificate is { } remote ? X509CertificateLoader.LoadCertificate(remote.GetRawCertData()).Thumbprint : null);

        // and data flows through the session both ways
        await client.WriteAsync("ping"u8.ToArray());
        await client.FlushAsync();
        byte[] received = new byte[4];
        await server.ReadExactlyAsync(received).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("ping"u8.ToArray(), received);
    }

    [Fact]
    public void Trust_roots_from_a_directory_take_every_certificate_of_its_pem_and_der_files_and_ignore_the_rest()
    {
        string roots = _dir.CreateSubdirectory("roots");
        File.WriteAllText(Path.Combine(roots, "root.pem"), _pki.RootPem);
        File.WriteAllText(Path.Combine(roots, "bundle.crt"), CrlBlock + _pki.IntermediatePem + "\n" + ParametersBlock + _pki.OtherRoot.ExportCertificatePem());
        File.WriteAllBytes(Path.Combine(roots, "leaf.der"), _pki.EcLeaf.Certificate.RawData);
        File.WriteAllText(Path.Combine(roots, "README"), "these are the roots\n");
        File.WriteAllBytes(Path.Combine(roots, "garbage.bin"), [0x30, 0x82, 0xff, 0x00, 0x01, 0x02]); // looks like DER, is not
        File.WriteAllText(Path.Combine(roots, "empty.pem"), string.Empty);
        File.WriteAllText(Path.Combine(roots, "..data"), _pki.RsaLeaf.CertificatePem); // Kubernetes volume internals: skipped
        Directory.CreateDirectory(Path.Combine(roots, "nested"));
        File.WriteAllText(Path.Combine(roots, "nested", "deeper.pem"), _pki.OtherRsaLeaf.CertificatePem); // not recursive

        X509Certificate2Collection loaded = PemLoader.LoadTrustRoots([roots]);

        Assert.Equal(
            Thumbprints(_pki.Root, _pki.Intermediate, _pki.OtherRoot, _pki.EcLeaf.Certificate),
            Thumbprints([.. loaded]));
    }

    [Fact]
    public void Trust_roots_in_a_kubernetes_configmap_mount_are_read_once_through_their_symlinks()
    {
        // The kubelet layout: ..2024_.../ca.crt, ..data -> ..2024_..., ca.crt -> ..data/ca.crt
        string mount = _dir.CreateSubdirectory("mount");
        string version = Directory.CreateDirectory(Path.Combine(mount, "..2024_05_01_10_00_00.000000001")).FullName;
        File.WriteAllText(Path.Combine(version, "ca.crt"), _pki.RootPem);
        File.CreateSymbolicLink(Path.Combine(mount, "..data"), Path.GetFileName(version));
        File.CreateSymbolicLink(Path.Combine(mount, "ca.crt"), Path.Combine("..data", "ca.crt"));

        X509Certificate2Collection loaded = PemLoader.LoadTrustRoots([mount]);

        Assert.Equal(_pki.Root.Thumbprint, Assert.Single(loaded).Thumbprint);
    }

    [Fact]
    public void Trust_roots_from_several_entries_are_combined()
    {
        string dir = _dir.CreateSubdirectory("ca");
        File.WriteAllText(Path.Combine(dir, "root.pem"), _pki.RootPem);
        string der = _dir.Write("other-root.cer", _pki.OtherRoot.RawData);

        X509Certificate2Collection loaded = PemLoader.LoadTrustRoots([dir, der]);

        Assert.Equal(Thumbprints(_pki.Root, _pki.OtherRoot), Thumbprints([.. loaded]));
    }

    [Fact]
    public void An_empty_directory_gives_no_trust_roots()
    {
        Assert.Empty(PemLoader.LoadTrustRoots([_dir.CreateSubdirectory("empty")]));
    }

    [Theory]
    [InlineData("not a certificate at all\n")]
    [InlineData("")]
    [InlineData("crl")]
    [InlineData("der-lookalike")]
    public void A_trust_root_file_named_explicitly_must_hold_a_certificate(string content)
    {
        string path = content switch
        {
            "crl" => _dir.Write("roots.pem", CrlBlock),
            "der-lookalike" => _dir.Write("roots.der", [0x30, 0x03, 0x02, 0x01, 0x00]),
            _ => _dir.Write("roots.pem", content),
        };

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadTrustRoots([path]));

        Assert.Equal($"no certificate in {path}", e.Message);
    }

    [Fact]
    public void A_trust_root_path_that_does_not_exist_is_rejected()
    {
        string path = _dir.File("nowhere");

        PemException e = Assert.Throws<PemException>(() => PemLoader.LoadTrustRoots([_dir.Path, path]));

        Assert.Equal($"file not found: {path}", e.Message);
    }

    private IssuedCertificate Named(string name) => name switch
    {
        "ec" => _pki.EcLeaf,
        "other-ec" => _pki.OtherEcLeaf,
        "rsa" => _pki.RsaLeaf,
        "other-rsa" => _pki.OtherRsaLeaf,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static bool SignsVerifiably(X509Certificate2 certificate)
    {
        byte[] data = RandomBytes(32, seed: 4);
        using RSA? rsa = certificate.GetRSAPrivateKey();
        if (rsa is not null)
        {
            byte[] signature = rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using RSA publicKey = certificate.GetRSAPublicKey()!;
            return publicKey.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }

        using ECDsa ecdsa = certificate.GetECDsaPrivateKey()!;
        byte[] ecSignature = ecdsa.SignData(data, HashAlgorithmName.SHA256);
        using ECDsa ecPublic = certificate.GetECDsaPublicKey()!;
        return ecPublic.VerifyData(data, ecSignature, HashAlgorithmName.SHA256);
    }

    private static string[] Thumbprints(params X509Certificate2[] certificates) => [.. certificates.Select(c => c.Thumbprint).Order(StringComparer.Ordinal)];

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
