using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Hashing;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bogus;
using Bogus.DataSets;

namespace Switchyard.Soak;

internal enum Route
{
    /// <summary>No filter matches: the app answers.</summary>
    App,

    /// <summary>x-dev: alice, the intercept of the initial config: the developer target answers.</summary>
    Alice,

    /// <summary>x-tap: yes: the app answers and the wiretap target gets a copy.</summary>
    Tap,

    /// <summary>x-dev: bob: the app before the config rewrite, the developer target after it (the rewrite adds that intercept).</summary>
    Bob,
}

/// <summary>One request, drawn from Bogus with the run's seed and the request's number (the same seed replays the same run).</summary>
internal sealed record Plan(long Id, bool Http2, HttpMethod Method, Route Route, int BodyLength, bool Chunked, string ContentType, int ResponseLength, int ResponseSeed);

/// <summary>
/// The load: <c>concurrency</c> workers, each sending one request at a time through the agent over TLS (HTTP/1.1 or
/// HTTP/2 by ALPN, one HttpClient pool per protocol, connections recycled every 10 s so handshakes keep happening).
/// Every request body is hashed before it leaves and compared with the hash the target reports; every response body
/// is hashed as it arrives and compared with the hash and length the target announced.
/// </summary>
internal sealed class Load : IAsyncDisposable
{
    public const int MaxBody = 1 << 20;

    private readonly int _port;
    private readonly int _seed;
    private readonly long _maxRequests;
    private readonly Pki _pki;
    private readonly HttpClient _h1;
    private readonly HttpClient[] _h2;
    private readonly ConcurrentQueue<string> _errorSamples = new();
    private readonly long[] _latencyMs = new long[120_001];
    private long _next;
    private volatile bool _stop;

    // Bob's phase: 0 = before the rewrite (app), 1 = rewrite written, not yet confirmed (either), 2 = confirmed (developer).
    private volatile int _bobPhase;

    public Load(int port, int seed, long maxRequests, Pki pki)
    {
        _port = port;
        _seed = seed;
        _maxRequests = maxRequests;
        _pki = pki;
        // HTTP/1.1 callers resume TLS sessions (TLS 1.3 tickets) like browsers do; HTTP/2 callers make full handshakes
        // every time, so after the rotation the load itself sees the new certificate.
        _h1 = Client(8, resume: true);
        _h2 = [Client(2, resume: false), Client(2, resume: false)];
    }

    public Counters Counters { get; } = new();

    /// <summary>
    /// TLS connections of the load clients, by the SHA-256 thumbprint of the agent's certificate (a resumed HTTP/1.1
    /// session counts under the certificate of the handshake it resumes).
    /// </summary>
    public ConcurrentDictionary<string, long> HandshakesByCertificate { get; } = new(StringComparer.Ordinal);

    public IEnumerable<string> ErrorSamples => _errorSamples;

    public long Issued => Math.Min(Interlocked.Read(ref _next), _maxRequests);

    public int BobPhase
    {
        get => _bobPhase;
        set => _bobPhase = value;
    }

    public void Stop() => _stop = true;

    private HttpClient Client(int maxConnections, bool resume) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        MaxConnectionsPerServer = maxConnections,
        EnableMultipleHttp2Connections = true,
        PooledConnectionLifetime = TimeSpan.FromSeconds(10),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AutomaticDecompression = DecompressionMethods.None,
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = new X509CertificateCollection { _pki.Client },
            RemoteCertificateValidationCallback = Validate,
            AllowTlsResume = resume,
        },
    })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None || !_pki.ChainsToCa(certificate))
        {
            return false;
        }

        HandshakesByCertificate.AddOrUpdate(Pki.Thumbprint(certificate), 1, static (_, n) => n + 1);
        return true;
    }

    public Task RunAsync(int concurrency) => Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkerAsync)));

    private async Task WorkerAsync()
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(MaxBody + 64 * 1024);
        while (!_stop)
        {
            long id = Interlocked.Increment(ref _next);
            if (id > _maxRequests)
            {
                return;
            }

            Plan plan = Draw(id, buffer, out int length);
            plan = plan with { BodyLength = length };
            await SendAsync(plan, buffer);
        }
    }

    /// <summary>Sizes: 10% empty, 40% up to 4 KiB, 30% up to 64 KiB, 15% up to 256 KiB, 5% up to 1 MiB (a fifth of them exactly 1 MiB).</summary>
    private static int Size(Randomizer r)
    {
        int bucket = r.Number(0, 99);
        return bucket switch
        {
            < 10 => 0,
            < 50 => r.Number(1, 4096),
            < 80 => r.Number(4097, 64 * 1024),
            < 95 => r.Number(64 * 1024 + 1, 256 * 1024),
            < 99 => r.Number(256 * 1024 + 1, MaxBody),
            _ => MaxBody,
        };
    }

    private Plan Draw(long id, byte[] buffer, out int length)
    {
        var r = new Randomizer(unchecked((int)(_seed * 1_000_003L + id)));
        bool http2 = r.Bool();
        int methodPick = r.Number(0, 9);
        HttpMethod method = methodPick < 3 ? HttpMethod.Get : methodPick < 7 ? HttpMethod.Post : HttpMethod.Put;
        int routePick = r.Number(0, 99);
        Route route = routePick < 55 ? Route.App : routePick < 75 ? Route.Alice : routePick < 90 ? Route.Tap : Route.Bob;
        int responseLength = Size(r);
        int responseSeed = r.Int();
        bool chunked = r.Number(0, 3) == 0;
        length = 0;
        string contentType = "application/octet-stream";
        if (method != HttpMethod.Get)
        {
            int size = Size(r);
            int kind = size <= 64 * 1024 ? r.Number(0, 2) : 0;
            switch (kind)
            {
                case 1:
                    contentType = "text/plain; charset=utf-8";
                    length = Text(r, size, buffer);
                    break;
                case 2:
                    contentType = "application/json";
                    length = Json(r, size, buffer);
                    break;
                default:
                    // Binary: System.Random seeded by Bogus (Randomizer.Bytes would allocate a new array per request).
                    new Random(r.Int()).NextBytes(buffer.AsSpan(0, size));
                    length = size;
                    break;
            }
        }

        return new Plan(id, http2, method, route, length, chunked, contentType, responseLength, responseSeed);
    }

    /// <summary>Lorem ipsum from Bogus, cut at exactly <paramref name="size"/> bytes (it is ASCII).</summary>
    private static int Text(Randomizer r, int size, byte[] buffer)
    {
        var lorem = new Lorem { Random = r };
        var text = new StringBuilder(size + 512);
        while (text.Length < size)
        {
            text.Append(lorem.Paragraph()).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString(0, size), buffer);
    }

    /// <summary>A JSON array of fake customers from Bogus, about <paramref name="size"/> bytes (a whole document).</summary>
    private static int Json(Randomizer r, int size, byte[] buffer)
    {
        var name = new Name { Random = r };
        var internet = new Internet { Random = r };
        var address = new Address { Random = r };
        var json = new StringBuilder(size + 512).Append('[');
        int n = 0;
        while (json.Length < size)
        {
            if (n++ > 0)
            {
                json.Append(',');
            }

            json.Append("{\"id\":").Append(r.Number(1, int.MaxValue))
                .Append(",\"name\":\"").Append(name.FullName()).Append('"')
                .Append(",\"email\":\"").Append(internet.Email()).Append('"')
                .Append(",\"city\":\"").Append(address.City()).Append('"')
                .Append(",\"vip\":").Append(r.Bool() ? "true" : "false").Append('}');
        }

        json.Append(']');
        return Encoding.UTF8.GetBytes(json.ToString(), buffer);
    }

    private async Task SendAsync(Plan plan, byte[] buffer)
    {
        int bobPhase = _bobPhase;
        string[] expected = plan.Route switch
        {
            Route.Alice => ["developer"],
            Route.Bob => bobPhase switch { 0 => ["app"], 1 => ["app", "developer"], _ => ["developer"] },
            _ => ["app"],
        };
        string expectHash = Target.Hex(XxHash128.HashToUInt128(buffer.AsSpan(0, plan.BodyLength)));
        using var request = new HttpRequestMessage(plan.Method, $"https://127.0.0.1:{_port}/soak/{plan.Route.ToString().ToLowerInvariant()}/{plan.Id}")
        {
            Version = plan.Http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Add(SoakHeaders.Id, plan.Id.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(SoakHeaders.ExpectHash, expectHash);
        request.Headers.Add(SoakHeaders.ResponseLength, plan.ResponseLength.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(SoakHeaders.ResponseSeed, plan.ResponseSeed.ToString(CultureInfo.InvariantCulture));
        switch (plan.Route)
        {
            case Route.Alice:
                request.Headers.Add("x-dev", "alice");
                break;
            case Route.Bob:
                request.Headers.Add("x-dev", "bob");
                break;
            case Route.Tap:
                request.Headers.Add("x-tap", "yes");
                break;
        }

        if (plan.Method != HttpMethod.Get)
        {
            request.Content = new BodyContent(buffer, plan.BodyLength, !plan.Chunked, plan.ContentType);
        }

        Counters.Started(plan);
        long start = Environment.TickCount64;
        string stage = "send";
        try
        {
            HttpClient client = plan.Http2 ? _h2[plan.Id % _h2.Length] : _h1;
            using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            stage = "response";
            if (response.StatusCode != HttpStatusCode.OK)
            {
                string text = await response.Content.ReadAsStringAsync();
                Error(plan, $"status {(int)response.StatusCode}: {Shorten(text)}");
                return;
            }

            string servedBy = Header(response, SoakHeaders.ServedBy);
            if (!expected.Contains(servedBy))
            {
                Error(plan, $"served by '{servedBy}', expected {string.Join(" or ", expected)}");
                return;
            }

            bool requestAltered = Header(response, SoakHeaders.BodyHash) != expectHash
                                  || Header(response, SoakHeaders.BodyLength) != plan.BodyLength.ToString(CultureInfo.InvariantCulture);
            stage = "response body";
            var hash = new XxHash128();
            long received = 0;
            await using (Stream body = await response.Content.ReadAsStreamAsync())
            {
                byte[] chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
                try
                {
                    int read;
                    while ((read = await body.ReadAsync(chunk)) > 0)
                    {
                        hash.Append(chunk.AsSpan(0, read));
                        received += read;
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
                }
            }

            bool responseAltered = received != plan.ResponseLength || Target.Hex(hash.GetCurrentHashAsUInt128()) != Header(response, SoakHeaders.ResponseHash);
            if (requestAltered)
            {
                Counters.AlteredRequest();
                Sample($"#{plan.Id} {Describe(plan)}: request body altered: sent {plan.BodyLength} B {expectHash}, {servedBy} saw {Header(response, SoakHeaders.BodyLength)} B {Header(response, SoakHeaders.BodyHash)}");
            }

            if (responseAltered)
            {
                Counters.AlteredResponse();
                Sample($"#{plan.Id} {Describe(plan)}: response body altered: {servedBy} sent {plan.ResponseLength} B {Header(response, SoakHeaders.ResponseHash)}, received {received} B {Target.Hex(hash.GetCurrentHashAsUInt128())}");
            }

            Counters.Answered(plan, servedBy, plan.BodyLength + received);
            long ms = Environment.TickCount64 - start;
            Interlocked.Increment(ref _latencyMs[Math.Clamp(ms, 0, _latencyMs.Length - 1)]);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or OperationCanceledException or InvalidOperationException)
        {
            Error(plan, $"{stage}: {Flatten(e)}");
        }
    }

    /// <summary>Latency percentile in ms over completed requests.</summary>
    public long Percentile(double p)
    {
        long total = _latencyMs.Sum();
        if (total == 0)
        {
            return 0;
        }

        long rank = (long)Math.Ceiling(total * p);
        long seen = 0;
        for (int i = 0; i < _latencyMs.Length; i++)
        {
            seen += _latencyMs[i];
            if (seen >= rank)
            {
                return i;
            }
        }

        return _latencyMs.Length - 1;
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? string.Join(",", values) : "";

    private static string Describe(Plan plan) =>
        $"{(plan.Http2 ? "h2" : "h1")} {plan.Method} {plan.Route} body {plan.BodyLength} B{(plan.Chunked && plan.Method != HttpMethod.Get ? " (no length)" : "")} response {plan.ResponseLength} B";

    private void Error(Plan plan, string what)
    {
        Counters.Error();
        Sample($"#{plan.Id} {Describe(plan)}: {what}");
    }

    private void Sample(string line)
    {
        if (_errorSamples.Count < 30)
        {
            _errorSamples.Enqueue(line);
        }
    }

    private static string Flatten(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            parts.Add($"{x.GetType().Name}: {x.Message}");
        }

        return string.Join(" <- ", parts);
    }

    private static string Shorten(string text) => text.Length <= 160 ? text.Trim() : text[..160].Trim() + "...";

    /// <summary>A new TLS connection to the agent (its own handshake, HTTP/1.1): the presented certificate's thumbprint and the status of one GET.</summary>
    public async Task<(string Thumbprint, string StatusLine)> ProbeAsync()
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _port);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificates = new X509CertificateCollection { _pki.Client },
            ApplicationProtocols = [SslApplicationProtocol.Http11],
            // A resumed session presents no certificate (the client reports the one of the original handshake).
            AllowTlsResume = false,
            RemoteCertificateValidationCallback = (_, cert, _, _) => _pki.ChainsToCa(cert),
        }, timeout.Token);
        string thumbprint = Pki.Thumbprint(tls.RemoteCertificate!);
        await tls.WriteAsync(Encoding.ASCII.GetBytes("GET /soak/probe HTTP/1.1\r\nHost: localhost\r\nx-soak-resp-len: 0\r\nConnection: close\r\n\r\n"), timeout.Token);
        using var reader = new StreamReader(tls, Encoding.ASCII);
        string status = await reader.ReadLineAsync(timeout.Token) ?? "(no answer)";
        return (thumbprint, status);
    }

    public ValueTask DisposeAsync()
    {
        _h1.Dispose();
        foreach (HttpClient c in _h2)
        {
            c.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>A request body from the worker's buffer, written in 16-64 KiB pieces; without a length it goes chunked (HTTP/1.1) or open-ended (HTTP/2).</summary>
    private sealed class BodyContent : HttpContent
    {
        private readonly byte[] _buffer;
        private readonly int _length;
        private readonly bool _known;

        public BodyContent(byte[] buffer, int length, bool knownLength, string contentType)
        {
            _buffer = buffer;
            _length = length;
            _known = knownLength;
            Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            int offset = 0;
            int piece = 16 * 1024;
            while (offset < _length)
            {
                int count = Math.Min(piece, _length - offset);
                await stream.WriteAsync(_buffer.AsMemory(offset, count), cancellationToken);
                offset += count;
                piece = piece >= 64 * 1024 ? 16 * 1024 : piece * 2;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return _known;
        }
    }
}

/// <summary>Totals of the run (thread-safe).</summary>
internal sealed class Counters
{
    private long _requests;
    private long _completed;
    private long _errors;
    private long _alteredRequests;
    private long _alteredResponses;
    private long _bytes;
    private long _http2;
    private long _tapCompleted;
    private readonly long[] _byRoute = new long[4];
    private readonly ConcurrentDictionary<string, long> _servedBy = new(StringComparer.Ordinal);

    public long Requests => Interlocked.Read(ref _requests);

    public long Completed => Interlocked.Read(ref _completed);

    public long Errors => Interlocked.Read(ref _errors);

    public long AlteredRequests => Interlocked.Read(ref _alteredRequests);

    public long AlteredResponses => Interlocked.Read(ref _alteredResponses);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Http2 => Interlocked.Read(ref _http2);

    /// <summary>Wiretap-route requests answered 200: each should give the tap one copy.</summary>
    public long TapCompleted => Interlocked.Read(ref _tapCompleted);

    public long ByRoute(Route route) => Interlocked.Read(ref _byRoute[(int)route]);

    public long ServedBy(string name) => _servedBy.GetValueOrDefault(name);

    public void Started(Plan plan)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Increment(ref _byRoute[(int)plan.Route]);
        if (plan.Http2)
        {
            Interlocked.Increment(ref _http2);
        }
    }

    public void Answered(Plan plan, string servedBy, long bytes)
    {
        Interlocked.Increment(ref _completed);
        Interlocked.Add(ref _bytes, bytes);
        _servedBy.AddOrUpdate(servedBy, 1, static (_, n) => n + 1);
        if (plan.Route == Route.Tap)
        {
            Interlocked.Increment(ref _tapCompleted);
        }
    }

    public void Error() => Interlocked.Increment(ref _errors);

    public void AlteredRequest() => Interlocked.Increment(ref _alteredRequests);

    public void AlteredResponse() => Interlocked.Increment(ref _alteredResponses);
}
