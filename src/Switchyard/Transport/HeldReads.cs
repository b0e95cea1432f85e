using System.IO.Pipelines;

namespace Switchyard.Transport;

/// <summary>The first read of a request body after a hold for body filters (Proxy.RequestBodyBuffer), HTTP/1 and HTTP/2.</summary>
internal static class HeldReads
{
    /// <summary>
    /// With <paramref name="held"/>, the bytes the hold left unexamined in the pipe are taken at once with TryRead. A
    /// Pipe (the socket pipes, an HTTP/2 stream's DATA) whose waiting read was woken by CancelPendingRead (the hold's
    /// bodyTimeout) does not complete the next ReadAsync for bytes already in it, whatever AdvanceTo examined: the wake
    /// sets only the cancel flag, which that read clears, and only the writer's next flush (the caller sending again)
    /// sets "data ready" again. TryRead looks at the bytes themselves. Otherwise (and when nothing is there) a plain
    /// ReadAsync.
    /// </summary>
    public static ValueTask<ReadResult> ReadAsync(PipeReader input, bool held) =>
        held && input.TryRead(out ReadResult read) ? new ValueTask<ReadResult>(read) : input.ReadAsync();
}
