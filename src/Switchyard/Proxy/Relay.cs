using System.Buffers;
using System.IO.Pipelines;
using Switchyard.Transport;

namespace Switchyard.Proxy;

/// <summary>
/// Copies bytes both ways between two channels until both directions have ended. A clean end of one
/// direction (FIN, close_notify) is passed on as a half-close and the other direction keeps flowing; an error
/// on either side aborts both.
/// </summary>
internal static class Relay
{
    private enum PumpEnd : byte { Completed, ReadFailed, WriteFailed }

    /// <param name="firstByte">Called with the caller's first byte (raw path: protocol-mismatch diagnostics without delaying anything).</param>
    public static async Task<ConnectionEndReason> RunAsync(ConnectionContext context, Channel downstream, Channel upstream, Action<ConnectionContext, byte>? firstByte = null)
    {
        Task<PumpEnd> toApp = PumpAsync(downstream.Input, upstream, context, toApp: true, firstByte);
        Task<PumpEnd> toCaller = PumpAsync(upstream.Input, downstream, context, toApp: false, null);

        Task<PumpEnd> first = await Task.WhenAny(toApp, toCaller).ConfigureAwait(false);
        if (first.Result != PumpEnd.Completed)
        {
            downstream.Abort();
            upstream.Abort();
        }

        PumpEnd a = await toApp.ConfigureAwait(false);
        PumpEnd b = await toCaller.ConfigureAwait(false);

        // Blame the side whose failure came first: a read failure is the source's, a write failure the destination's.
        bool appToFirst = first == toApp;
        PumpEnd decisive = appToFirst ? a : b;
        return decisive switch
        {
            PumpEnd.Completed when a == PumpEnd.Completed && b == PumpEnd.Completed => ConnectionEndReason.Completed,
            PumpEnd.Completed => Blame(appToFirst ? b : a, !appToFirst),
            _ => Blame(decisive, appToFirst),
        };
    }

    private static ConnectionEndReason Blame(PumpEnd end, bool toApp) => (end, toApp) switch
    {
        (PumpEnd.ReadFailed, true) or (PumpEnd.WriteFailed, false) => ConnectionEndReason.DownstreamReset,
        _ => ConnectionEndReason.UpstreamReset,
    };

    private static async Task<PumpEnd> PumpAsync(PipeReader from, Channel to, ConnectionContext context, bool toApp, Action<ConnectionContext, byte>? firstByte)
    {
        PipeWriter output = to.Output;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await from.ReadAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (IsConnectionError(e))
            {
                return PumpEnd.ReadFailed;
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            long length = buffer.Length;
            try
            {
                if (firstByte is not null && length > 0)
                {
                    firstByte(context, FirstByte(buffer)); // before AdvanceTo: the buffer is only valid until then
                    firstByte = null;
                }

                foreach (ReadOnlyMemory<byte> segment in buffer)
                {
                    output.Write(segment.Span);
                }
            }
            catch (Exception e) when (IsConnectionError(e))
            {
                return PumpEnd.WriteFailed;
            }
            finally
            {
                from.AdvanceTo(buffer.End);
            }

            if (length > 0)
            {
                if (toApp)
                {
                    context.AddIn(length);
                }
                else
                {
                    context.AddOut(length);
                }

                try
                {
                    FlushResult flush = await output.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        return PumpEnd.WriteFailed; // the destination stopped reading
                    }
                }
                catch (Exception e) when (IsConnectionError(e))
                {
                    return PumpEnd.WriteFailed;
                }
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                try
                {
                    await to.CloseOutputAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (IsConnectionError(e))
                {
                    return PumpEnd.WriteFailed;
                }

                return PumpEnd.Completed;
            }
        }
    }

    /// <summary>The first byte of a non-empty sequence.</summary>
    private static byte FirstByte(in ReadOnlySequence<byte> buffer)
    {
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            if (!segment.IsEmpty)
            {
                return segment.Span[0];
            }
        }

        throw new ArgumentException("empty sequence", nameof(buffer));
    }

    /// <summary>An expected connection error, or a failed TLS handshake (the caller's or a destination's).</summary>
    internal static bool IsConnectionError(Exception e) =>
        e is System.Security.Authentication.AuthenticationException || ConnectionErrors.IsExpected(e);
}
