using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Switchyard.Http1;
using Switchyard.Http2;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>
/// An HTTP/1.1 caller in front of an app that speaks only HTTP/2 (h2c): each request becomes one stream on a
/// pooled HTTP/2 connection (`:authority` from Host, lower-case fields without the hop-by-hop ones), the body DATA
/// frames; the answer's `:status` and fields become an HTTP/1.1 head, framed by its content-length or chunked,
/// with h2 trailers as chunked trailers.
/// </summary>
internal static class Http1ToHttp2
{
    /// <summary>Relays one request; returns whether the caller's connection may carry another.</summary>
    /// <param name="held">The request body was held for body filters (<see cref="Transport.HeldReads.ReadAsync"/>).</param>
    /// <returns>Whether the caller's connection stays open, and the final status the destination answered.</returns>
    public static async Task<(bool KeepAlive, int Status)> ExchangeAsync(ConnectionContext context, Http1RequestHead request, Channel downstream, Http2Connection app, ChunkedDecoder chunked,
        WiretapCopier? copier = null, bool held = false)
    {
        using var headers = new Http2HeaderList();
        headers.Add(":method", request.Method);
        headers.Add(":scheme"u8, "https"u8); // the connection sends its own transport's scheme (Http2Connection.WriteHeaderFrames)
        if (request.TargetForm == RequestTargetForm.Absolute)
        {
            headers.Add(":authority", request.Authority.ToString()); // RFC 9112 §3.2.2: the target's authority wins
        }
        else if (request.HasHost)
        {
            headers.Add(":authority"u8, request.Host);
        }
        else
        {
            headers.Add(":authority", context.Sni ?? context.Settings.App); // an HTTP/1.0 request without Host
        }

        headers.Add(":path", request.TargetForm == RequestTargetForm.Absolute ? request.OriginFormTarget : request.Target.StartsWith('/') ? request.Target : "/");
        Span<byte> lower = stackalloc byte[256];
        for (int i = 0; i < request.Count; i++)
        {
            ReadOnlySpan<byte> name = request.Name(i);
            if (name.Length > lower.Length || Ascii.ToLower(name, lower, out int n) != OperationStatus.Done)
            {
                continue;
            }

            ReadOnlySpan<byte> lowerName = lower[..n];
            bool keep = lowerName.SequenceEqual("te"u8)
                ? request.Value(i).SequenceEqual("trailers"u8) // RFC 9113 8.2.2: the one TE an HTTP/2 request may carry
                : !HopByHop.IsDropped(request.Headers, lowerName) && !lowerName.SequenceEqual("host"u8) && !lowerName.SequenceEqual("expect"u8);
            if (!keep)
            {
                continue;
            }

            headers.Add(lowerName, request.Value(i));
        }

        bool noBody = request.BodyKind == BodyKind.None || (request.BodyKind == BodyKind.ContentLength && request.ContentLength == 0);
        Http2Stream stream = await app.OpenStreamAsync(headers, endStream: noBody).ConfigureAwait(false);
        Task body = noBody ? Task.CompletedTask : BodyTranslation.Http1ToHttp2Async(downstream.Input, request.BodyKind, request.ContentLength, chunked, app, stream, context, isRequest: true, copier, held);
        copier?.EndWith(body);
        try
        {
            Http2HeaderList response;
            while (true)
            {
                response = await stream.ReadHeadersAsync().ConfigureAwait(false);
                if (Http2Validation.CheckResponse(response, out int status) is null && status is >= 100 and < 200)
                {
                    if (status == 100 || status == 103)
                    {
                        WriteHead(downstream.Output, response, status, framing: BodyKind.None, keepAlive: true);
                        await downstream.Output.FlushAsync().ConfigureAwait(false);
                    }

                    response.Dispose();
                    continue;
                }

                break;
            }

            using (response)
            {
                Http2Validation.CheckResponse(response, out int status);
                bool bodiless = request.IsHead || status is 204 or 304 || response.EndStream;
                long length = ContentLength(response);
                // Never chunked toward an HTTP/1.0 caller (RFC 9112 §6.1): an unknown length goes close-delimited.
                bool http10 = request.Version == Http1Version.Http10;
                BodyKind framing = bodiless && length < 0 ? BodyKind.None : length >= 0 ? BodyKind.ContentLength : http10 ? BodyKind.UntilClose : BodyKind.Chunked;
                bool keepAlive = request.KeepAlive && framing != BodyKind.UntilClose && !context.Draining;
                WriteHead(downstream.Output, response, status, framing, keepAlive, announceKeepAlive: http10);
                if (response.EndStream || request.IsHead || status is 204 or 304)
                {
                    await downstream.Output.FlushAsync().ConfigureAwait(false);
                    if (!response.EndStream)
                    {
                        await DrainAsync(stream).ConfigureAwait(false);
                    }
                }
                else
                {
                    await BodyTranslation.Http2ToHttp1Async(stream, downstream.Output, chunked: framing == BodyKind.Chunked, context, isRequest: false).ConfigureAwait(false);
                }

                await body.ConfigureAwait(false);
                return (keepAlive, status);
            }
        }
        catch
        {
            await app.ResetAsync(stream, Http2ErrorCode.Cancel).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task DrainAsync(Http2Stream stream)
    {
        while (true)
        {
            ReadResult read = await stream.Data.ReadAsync().ConfigureAwait(false);
            int length = (int)read.Buffer.Length;
            stream.Data.AdvanceTo(read.Buffer.End);
            await stream.ConsumedAsync(length).ConfigureAwait(false);
            if (read.IsCompleted)
            {
                return;
            }
        }
    }

    private static long ContentLength(Http2HeaderList response) =>
        response.TryGet("content-length"u8, out ReadOnlySpan<byte> v) && System.Buffers.Text.Utf8Parser.TryParse(v, out long n, out int used) && used == v.Length ? n : -1;

    /// <summary>
    /// The HTTP/1.1 head of an HTTP/2 answer: the fields as they came (an HTTP/2 response carries no connection-specific
    /// one), content-length kept only when it frames the body, else chunked.
    /// </summary>
    private static void WriteHead(PipeWriter output, Http2HeaderList response, int status, BodyKind framing, bool keepAlive, bool announceKeepAlive = false)
    {
        Http1HeadWriter.WriteStatusLine(output, status, Http1HeadWriter.ReasonPhrase(status));
        for (int i = 0; i < response.Count; i++)
        {
            ReadOnlySpan<byte> name = response.Name(i);
            if (name[0] == (byte)':' || (name.SequenceEqual("content-length"u8) && framing != BodyKind.ContentLength))
            {
                continue;
            }

            Http1HeadWriter.WriteField(output, name, response.Value(i));
        }

        if (framing == BodyKind.Chunked)
        {
            Http1HeadWriter.WriteFraming(output, BodyKind.Chunked, 0);
        }

        Http1HeadWriter.WriteEnd(output, connectionClose: !keepAlive && status >= 200, keepAlive: keepAlive && announceKeepAlive && status >= 200);
    }
}
