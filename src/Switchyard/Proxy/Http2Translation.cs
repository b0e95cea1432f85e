using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using Switchyard.Http1;
using Switchyard.Http2;
using Switchyard.Routing;
using Switchyard.Transport;
using Switchyard.Upstream;

namespace Switchyard.Proxy;

/// <summary>
/// HTTP/2 streams to HTTP/1.1 destinations (a developer's local server that speaks only HTTP/1.1, an app without
/// h2): the request head is rebuilt from the pseudo-header fields (`Host` from `:authority`), the body is framed by
/// its content-length or chunked, h2 trailers become chunked trailers; the answer's head becomes `:status` plus
/// lower-case fields without the connection-specific ones, its body DATA frames, chunked trailers h2 trailers.
/// </summary>
internal sealed class Http2Translation(Func<string, Config.InterceptSettings?> intercepts)
{
    /// <summary>The live settings of an intercept, by id.</summary>
    public Func<string, Config.InterceptSettings?> Intercepts => intercepts;

    /// <summary>Developers connected through the tunnel, for probing a tunnel intercept's local server.</summary>
    public Upstream.Tunnel.TunnelRegistry? Tunnels { get; init; }

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<string, bool> _h2cTargets = new(StringComparer.Ordinal);

    internal enum Framing : byte { None, ContentLength, Chunked }

    /// <summary>The HTTP/1.1 request head for an HTTP/2 request, ending with the blank line.</summary>
    public static byte[] RequestHeadBytes(Http2HeaderList request, int contentLength) =>
        RequestHeadBytes(request, contentLength >= 0 ? Framing.ContentLength : Framing.None);

    public static byte[] RequestHeadBytes(Http2HeaderList request, Framing framing)
    {
        var head = new ArrayBufferWriter<byte>(256 + request.Size);
        request.TryGet(":method"u8, out ReadOnlySpan<byte> method);
        request.TryGet(":path"u8, out ReadOnlySpan<byte> path);
        Http1HeadWriter.WriteRequestLine(head, method, path.IsEmpty ? "/"u8 : path);
        if (request.IndexOf("host"u8) < 0 && request.TryGet(":authority"u8, out ReadOnlySpan<byte> authority))
        {
            Http1HeadWriter.WriteField(head, "Host"u8, authority);
        }

        bool cookieWritten = false;
        for (int i = 0; i < request.Count; i++)
        {
            ReadOnlySpan<byte> name = request.Name(i);
            if (name[0] == (byte)':' || HopByHop.IsHopByHop(name) || (framing != Framing.ContentLength && name.SequenceEqual("content-length"u8)))
            {
                continue;
            }

            if (name.SequenceEqual("cookie"u8))
            {
                // RFC 9113 8.2.3: crumbs split across fields are joined with "; " for HTTP/1.1.
                if (cookieWritten)
                {
                    continue;
                }

                cookieWritten = true;
                head.Write("cookie: "u8);
                bool first = true;
                for (int j = i; j >= 0; j = request.IndexOf("cookie"u8, j + 1))
                {
                    if (!first)
                    {
                        head.Write("; "u8);
                    }

                    head.Write(request.Value(j));
                    first = false;
                }

                head.Write("\r\n"u8);
                continue;
            }

            Http1HeadWriter.WriteField(head, name, request.Value(i));
        }

        if (framing == Framing.Chunked)
        {
            Http1HeadWriter.WriteFraming(head, BodyKind.Chunked, 0);
        }

        Http1HeadWriter.WriteEnd(head, connectionClose: false);
        return head.WrittenSpan.ToArray();
    }

    /// <summary>A plaintext target speaks h2c when it answers the connection preface with SETTINGS (asked once per target).</summary>
    public async Task<bool> SpeaksH2cAsync(InterceptRule intercept)
    {
        Config.HttpMode mode = intercepts(intercept.Id)?.DeliveryHttp ?? Config.HttpMode.Auto;
        if (mode != Config.HttpMode.Auto)
        {
            return mode == Config.HttpMode.Http2;
        }

        string target = intercept.Target ?? "tunnel|" + intercept.Id;
        if (_h2cTargets.TryGetValue(target, out bool known))
        {
            return known;
        }

        // A tunnel intercept is probed through one of its developer's reverse connections; when none is there, the
        // answer is not remembered (the next request asks again).
        Channel? probe = null;
        if (intercept.Target is null)
        {
            probe = Tunnels is null ? null : await Tunnels.TakeAsync(intercept.Id).ConfigureAwait(false);
        }
        else if (Config.Endpoints.TryParseHostPort(target, out string host, out int port))
        {
            probe = await UpstreamConnector.DialAsync(host, port, tls: false, host, null).ConfigureAwait(false);
        }

        bool h2c = false;
        if (probe is not null)
        {
            await using (probe.ConfigureAwait(false))
            {
                h2c = await AnswersWithSettingsAsync(probe).ConfigureAwait(false);
            }
        }

        if (probe is not null || intercept.Target is not null)
        {
            _h2cTargets[target] = h2c;
        }

        return h2c;
    }

    private static async Task<bool> AnswersWithSettingsAsync(Channel probe)
    {
        try
        {
            probe.Output.Write(Http2FrameWriter.ClientPreface);
            Http2FrameWriter.WriteSettings(probe.Output, []);
            await probe.Output.FlushAsync().ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(ProbeTimeout);
            while (true)
            {
                ReadResult read = await probe.Input.ReadAsync(timeout.Token).ConfigureAwait(false);
                if (read.Buffer.Length >= 9 || read.IsCompleted)
                {
                    bool settings = read.Buffer.Length >= 9 && read.Buffer.Slice(3, 1).FirstSpan[0] == (byte)Http2FrameType.Settings;
                    probe.Input.AdvanceTo(read.Buffer.End);
                    return settings;
                }

                probe.Input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
        }
        catch (Exception e) when (ConnectionErrors.IsExpected(e))
        {
            return false;
        }
    }

    /// <summary>One HTTP/2 stream exchanged with an HTTP/1.1 destination.</summary>
    /// <returns>The final response status.</returns>
    public async Task<int> RelayHttp1Async(Http2Connection down, Http2Stream stream, Http2HeaderList request, bool requestEnded, Channel upstream, string poolKey,
        Upstream.ConnectionPool pool, ConnectionContext context, WiretapCopier? copier)
    {
        bool hasLength = request.IndexOf("content-length"u8) >= 0;
        Framing framing = hasLength ? Framing.ContentLength : requestEnded ? Framing.None : Framing.Chunked;
        string method = request.GetString(":method"u8) ?? "GET";
        bool returned = false;
        using CancellationTokenRegistration callerGone = stream.Aborted.Register(static c => ((Channel)c!).Abort(), upstream);
        try
        {
            upstream.Output.Write(RequestHeadBytes(request, framing));
            Task body = Task.CompletedTask;
            if (requestEnded)
            {
                await upstream.Output.FlushAsync().ConfigureAwait(false);
            }
            else
            {
                body = BodyTranslation.Http2ToHttp1Async(stream, upstream.Output, framing == Framing.Chunked, context, isRequest: true, copier);
            }

            using var response = new Http1ResponseHead();
            while (true)
            {
                response.Reset();
                if (await Http1HeadReader.ReadAsync(upstream.Input, new ResponseHeadParser(response, method)).ConfigureAwait(false) != HeadRead.Read)
                {
                    throw new IOException("the destination closed the connection before answering");
                }

                if (response.IsSwitchingProtocols)
                {
                    throw new IOException("the destination switched protocols, which HTTP/2 cannot carry");
                }

                if (!response.IsInterim)
                {
                    break;
                }

                using Http2HeaderList interim = ResponseHeaders(response);
                await down.SendHeadersAsync(stream, interim, endStream: false).ConfigureAwait(false);
            }

            bool noBody = response.BodyKind == BodyKind.None || (response.BodyKind == BodyKind.ContentLength && response.ContentLength == 0);
            using (Http2HeaderList head = ResponseHeaders(response))
            {
                await down.SendHeadersAsync(stream, head, endStream: noBody).ConfigureAwait(false);
            }

            if (!noBody)
            {
                using ChunkedDecoder? chunked = response.BodyKind == BodyKind.Chunked ? new ChunkedDecoder() : null;
                await BodyTranslation.Http1ToHttp2Async(upstream.Input, response.BodyKind, response.ContentLength, chunked, down, stream, context, isRequest: false).ConfigureAwait(false);
            }

            if (!body.IsCompleted)
            {
                // An early answer (the destination did not wait for the whole request body): the caller has it; the
                // rest of the upload is abandoned, and so is this connection (it is mid-request).
                upstream.Abort();
                await down.ResetAsync(stream, Http2ErrorCode.NoError).ConfigureAwait(false);
                _ = body.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                return response.StatusCode;
            }

            await body.ConfigureAwait(false);
            if (response.KeepAlive && response.BodyKind != BodyKind.UntilClose)
            {
                pool.Return(poolKey, upstream);
                returned = true;
            }

            return response.StatusCode;
        }
        finally
        {
            if (!returned)
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static Http2HeaderList ResponseHeaders(Http1ResponseHead response)
    {
        var headers = new Http2HeaderList();
        Span<byte> status = stackalloc byte[3];
        status[0] = (byte)('0' + (response.StatusCode / 100));
        status[1] = (byte)('0' + (response.StatusCode / 10 % 10));
        status[2] = (byte)('0' + (response.StatusCode % 10));
        headers.Add(":status"u8, status);
        AddFields(headers, response.Headers, response);
        return headers;
    }

    internal static void AddFields(Http2HeaderList headers, Http1Fields fields, Http1ResponseHead? response = null)
    {
        Span<byte> lower = stackalloc byte[256];
        for (int i = 0; i < fields.Count; i++)
        {
            ReadOnlySpan<byte> name = fields.Name(i);
            if (name.Length > lower.Length)
            {
                continue;
            }

            int n = Ascii.ToLower(name, lower, out int written) == System.Buffers.OperationStatus.Done ? written : 0;
            ReadOnlySpan<byte> lowerName = lower[..n];
            if (n == 0 || HopByHop.IsHopByHop(lowerName) || (response is not null && HopByHop.IsNamedByConnection(response.Headers, lowerName)))
            {
                continue;
            }

            headers.Add(lowerName, fields.Value(i));
        }
    }
}
