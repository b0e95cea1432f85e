using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Switchyard.Transport;

/// <summary>
/// Lets an idle TLS connection hold no OpenSSL record buffers. OpenSSL allocates a ~17 KiB read buffer and a ~17 KiB
/// write buffer per connection at the handshake and keeps both for the connection's whole life unless the SSL object
/// has <c>SSL_MODE_RELEASE_BUFFERS</c>, which frees each buffer once it is empty and allocates it again for the next
/// record (nginx, HAProxy and CPython all set it). SslStream (OpenSSL on Linux) neither sets it nor exposes its SSL
/// objects, so the mode is set through OpenSSL's own extension point: an ex_data index for SSL objects whose "new"
/// callback runs inside every <c>SSL_new</c> of the process, after the SSL took its context's mode, and adds the
/// flag. That was ~33 KiB of the ~62 KiB an idle TLS connection cost (perf/RESULTS.md, "Issue 16: idle memory per
/// connection"); the cost is a malloc and a free per record burst, which nginx pays too.
/// <para>
/// <see cref="Enable"/> checks the result on an SSL object of its own before relying on it: with an OpenSSL where the
/// callback runs before the mode is copied (3.2 and later build SSL objects differently), or any other surprise, the
/// callback is unregistered and connections keep their buffers, as before.
/// </para>
/// </summary>
internal static unsafe class OpenSslBuffers
{
    private const string LibSsl = "libssl.so.3";
    private const string LibCrypto = "libcrypto.so.3";
    private const int CryptoExIndexSsl = 0; // CRYPTO_EX_INDEX_SSL (openssl/crypto.h)
    private const int SslCtrlMode = 33; // SSL_CTRL_MODE (openssl/ssl.h): larg ORed into the mode, the new mode returned
    private const nint SslModeReleaseBuffers = 0x10; // SSL_MODE_RELEASE_BUFFERS
    private const int RtldLazy = 0x1;
    private const int RtldNoLoad = 0x4; // find a library only when it is loaded already

    private static readonly Lock Gate = new();
    private static bool _tried;

    /// <summary>Whether every SSL object created since <see cref="Enable"/> releases its buffers while they are empty.</summary>
    public static bool Enabled { get; private set; }

    /// <summary>Why not, when <see cref="Enable"/> found it could not (for the startup log and tests).</summary>
    public static string? Unavailable { get; private set; }

    /// <summary>
    /// Registers the callback once per process; later calls return the first answer. Call it before the first TLS
    /// handshake that should benefit (at agent start): SSL objects created earlier keep their buffers.
    /// </summary>
    public static bool Enable()
    {
        lock (Gate)
        {
            if (!_tried)
            {
                _tried = true;
                Unavailable = TryEnable();
                Enabled = Unavailable is null;
            }

            return Enabled;
        }
    }

    private static string? TryEnable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux: SslStream does not use OpenSSL here";
        }

        if (Environment.GetEnvironmentVariable("CLR_OPENSSL_VERSION_OVERRIDE") is { Length: > 0 } ||
            Environment.GetEnvironmentVariable("DOTNET_OPENSSL_VERSION_OVERRIDE") is { Length: > 0 })
        {
            return "an OpenSSL version override is set: the runtime may use another libssl than " + LibSsl;
        }

        try
        {
            // The runtime's OpenSSL shim opens libssl.so.3 when it first needs it (the certificates loaded at start do).
            // Refuse when it has not: SSL objects of another libssl (1.1) must never reach this one's functions.
            if (DlOpen(ref MemoryMarshal.GetReference("libssl.so.3\0"u8), RtldLazy | RtldNoLoad) == IntPtr.Zero)
            {
                return "the runtime has not loaded " + LibSsl;
            }

            int index = CryptoGetExNewIndex(CryptoExIndexSsl, 0, IntPtr.Zero, &OnSslNew, IntPtr.Zero, IntPtr.Zero);
            if (index < 0)
            {
                return "CRYPTO_get_ex_new_index failed";
            }

            if (!NewSslReleasesBuffers())
            {
                _ = CryptoFreeExIndex(CryptoExIndexSsl, index);
                return "this OpenSSL runs the SSL_new callback before the mode is set";
            }

            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>An SSL object of our own, created after the registration: does it carry the mode?</summary>
    private static bool NewSslReleasesBuffers()
    {
        IntPtr context = SslCtxNew(TlsMethod());
        if (context == IntPtr.Zero)
        {
            return false;
        }

        try
        {
            IntPtr ssl = SslNew(context);
            if (ssl == IntPtr.Zero)
            {
                return false;
            }

            nint mode = SslCtrl(ssl, SslCtrlMode, 0, IntPtr.Zero);
            SslFree(ssl);
            return (mode & SslModeReleaseBuffers) != 0;
        }
        finally
        {
            SslCtxFree(context);
        }
    }

    /// <summary>CRYPTO_EX_new: runs inside SSL_new on the thread creating the object, which nothing else uses yet.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnSslNew(IntPtr parent, IntPtr ptr, IntPtr exData, int index, nint argl, IntPtr argp)
    {
        if (parent != IntPtr.Zero)
        {
            _ = SslCtrl(parent, SslCtrlMode, SslModeReleaseBuffers, IntPtr.Zero);
        }
    }

    [DllImport("libc.so.6", EntryPoint = "dlopen")] // the soname: "libc" makes the loader probe libc.so (a linker script) and a dozen paths first
    private static extern IntPtr DlOpen(ref byte file, int mode);

    [DllImport(LibCrypto, EntryPoint = "CRYPTO_get_ex_new_index")]
    private static extern int CryptoGetExNewIndex(int classIndex, nint argl, IntPtr argp,
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int, nint, IntPtr, void> newFunc, IntPtr dupFunc, IntPtr freeFunc);

    [DllImport(LibCrypto, EntryPoint = "CRYPTO_free_ex_index")]
    private static extern int CryptoFreeExIndex(int classIndex, int index);

    [DllImport(LibSsl, EntryPoint = "TLS_method")]
    private static extern IntPtr TlsMethod();

    [DllImport(LibSsl, EntryPoint = "SSL_CTX_new")]
    private static extern IntPtr SslCtxNew(IntPtr method);

    [DllImport(LibSsl, EntryPoint = "SSL_CTX_free")]
    private static extern void SslCtxFree(IntPtr context);

    [DllImport(LibSsl, EntryPoint = "SSL_new")]
    private static extern IntPtr SslNew(IntPtr context);

    [DllImport(LibSsl, EntryPoint = "SSL_free")]
    private static extern void SslFree(IntPtr ssl);

    [DllImport(LibSsl, EntryPoint = "SSL_ctrl")]
    private static extern nint SslCtrl(IntPtr ssl, int cmd, nint larg, IntPtr parg);
}
