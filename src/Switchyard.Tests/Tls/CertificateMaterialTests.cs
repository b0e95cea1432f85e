using Switchyard.Tests.TestSupport;
using Switchyard.Tls;

namespace Switchyard.Tests.Tls;

public sealed class CertificateMaterialTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Loading_a_pair_does_not_build_its_TLS_context_the_first_use_does_and_sends_the_intermediate()
    {
        TestPki pki = TestPki.Shared;
        string cert = _dir.Write("tls.crt", pki.EcLeaf.CertificatePem + "\n" + pki.IntermediatePem);
        string key = _dir.Write("tls.key", pki.EcLeaf.KeyPem(KeyFormat.Pkcs8));

        CertificateSource source = CertificateSource.Load(cert, key);

        // Building the context builds a chain, and the first chain loads the system CA store: not while loading the config.
        Assert.False(source.Current.ContextBuilt);
        System.Net.Security.SslStreamCertificateContext context = source.Current.Context;
        Assert.True(source.Current.ContextBuilt);
        Assert.Same(context, source.Current.Context);
        Assert.Equal(pki.EcLeaf.Certificate.Thumbprint, context.TargetCertificate.Thumbprint);
        Assert.Contains(context.IntermediateCertificates, c => c.Thumbprint == pki.Intermediate.Thumbprint);
    }
}
