using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Http2;

/// <summary>What an abuse script saw: the frames, and how many bytes it had written when it stopped.</summary>
public sealed record AbuseOutcome(FrameLog Log, long BytesWritten, string Detail)
{
    public override string ToString() => $"{Detail}; {BytesWritten} bytes written; {Log}";
}

/// <summary>
/// Hostile callers, scripted on an open <see cref="Http2FrameClient"/> (after the handshake). Each writes while it
/// reads, and stops writing as soon as the server says GOAWAY or closes (or stops reading until the token runs out).
/// </summary>
public static class AbuseScripts
{
    /// <summary><paramref name="streams"/> streams, each opened and at once cancelled by the caller (CVE-2023-44487).</summary>
    public static async Task<AbuseOutcome> RapidResetAsync(Http2FrameClient client, int streams, CancellationToken ct)
    {
        var reader = client.ReadUntilGoAwayAsync(Timeouts.Short);
        for (int first = 0; first < streams && !reader.IsCompleted; first += 100)
        {
            var frames = Enumerable.Range(first, Math.Min(100, streams - first))
                .SelectMany(i => new[] { client.Request(1 + 2 * i, "GET", $"/reset/{i}"), Http2FrameClient.RstStream(1 + 2 * i, H2Error.Cancel) })
                .ToArray();
            if (!await TryWriteAsync(client, frames, ct))
            {
                break;
            }
        }

        return new AbuseOutcome(await reader, client.BytesWritten, $"{streams} streams opened and reset");
    }

    /// <summary>
    /// HEADERS without END_HEADERS, then CONTINUATIONs of ~1 KiB of small valid fields that never end the block, up to
    /// 8 MiB. Paced (16 KiB, then a breath) so that what was written when the GOAWAY arrives is close to what the
    /// server had read.
    /// </summary>
    public static async Task<AbuseOutcome> ContinuationFloodAsync(Http2FrameClient client, CancellationToken ct)
    {
        var field = Hpack.LiteralWithoutIndexing("x-c", "1");
        var fragment = Enumerable.Repeat(field, 1024 / field.Length).SelectMany(b => b).ToArray();
        var sixteenFrames = Enumerable.Range(0, 16)
            .SelectMany(_ => Http2FrameClient.Frame(FrameType.Continuation, FrameFlags.None, 1, fragment)).ToArray();
        var reader = client.ReadUntilGoAwayAsync(Timeouts.Short);
        await client.SendAsync(ct, Http2FrameClient.Headers(1, client.RequestBlock("GET", "/flood"), endStream: true, endHeaders: false));
        while (client.BytesWritten < 8L * 1024 * 1024 && !reader.IsCompleted)
        {
            if (!await TryWriteAsync(client, [sixteenFrames], ct))
            {
                break;
            }

            await Task.WhenAny(reader, Task.Delay(1, ct));
        }

        var log = await reader;
        return new AbuseOutcome(log, client.BytesWritten, "an endless field block");
    }

    /// <summary>
    /// One large field enters the server's dynamic table (sized to fit its HEADER_TABLE_SIZE), then one-byte references
    /// to it fill the rest of a 16 KiB HEADERS frame: ~12,000 references, ~48 MB once decoded.
    /// </summary>
    public static async Task<AbuseOutcome> HpackBombAsync(Http2FrameClient client, string path, CancellationToken ct)
    {
        int tableSize = (int)client.ServerSettings.GetValueOrDefault(SettingId.HeaderTableSize, 4096u);
        int valueLength = Math.Clamp(tableSize - 32 - "x-bomb".Length, 1, 4000);
        var block = new List<byte>(client.RequestBlock("GET", path));
        block.AddRange(Hpack.LiteralWithIncrementalIndexing("x-bomb", new string('b', valueLength)));
        var reference = Hpack.Indexed(62);
        int references = 0;
        while (block.Count + reference.Length <= 16384)
        {
            block.AddRange(reference);
            references++;
        }

        await client.SendAsync(ct, Http2FrameClient.Headers(1, [.. block], endStream: true));
        var log = await client.ReadStreamAsync(1, Timeouts.Short);
        return new AbuseOutcome(log, client.BytesWritten, $"{references} references to a {valueLength}-byte field ({(long)references * (valueLength + 38) / 1_000_000} MB decoded)");
    }

    /// <summary>Up to 100,000 SETTINGS, PING or empty DATA frames (on an open POST stream 1) as fast as the connection takes them.</summary>
    public static async Task<AbuseOutcome> CheapFrameFloodAsync(Http2FrameClient client, string frame, CancellationToken ct)
    {
        if (frame == "empty DATA")
        {
            await client.SendAsync(ct, client.Request(1, "POST", "/flood", endStream: false));
        }

        byte[] unit = frame switch
        {
            "SETTINGS" => Http2FrameClient.Settings(),
            "PING" => Http2FrameClient.Ping(0x5377697463687961),
            "empty DATA" => Http2FrameClient.Data(1, [], endStream: false),
            _ => throw new ArgumentOutOfRangeException(nameof(frame), frame, null),
        };
        var batch = Enumerable.Repeat(unit, 1000).SelectMany(b => b).ToArray();
        var reader = client.ReadUntilGoAwayAsync(Timeouts.Short);
        int sent = 0;
        while (sent < 100_000 && !reader.IsCompleted && await TryWriteAsync(client, [batch], ct))
        {
            sent += 1000;
        }

        return new AbuseOutcome(await reader, client.BytesWritten, $"{sent} {frame} frames sent");
    }

    /// <summary>Writes the frames; false when the server has already closed the connection, or stopped reading until <paramref name="ct"/> ran out.</summary>
    private static async Task<bool> TryWriteAsync(Http2FrameClient client, byte[][] frames, CancellationToken ct)
    {
        try
        {
            await client.SendAsync(ct, frames);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
