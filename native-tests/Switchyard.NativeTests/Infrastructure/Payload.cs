using System.IO.Hashing;

namespace Switchyard.NativeTests.Infrastructure;

/// <summary>What one side of a transfer saw: byte count and XxHash128 of the bytes.</summary>
public readonly record struct Digest(long Length, UInt128 Hash)
{
    public override string ToString() => $"{Length} bytes, xxh128 {Hash:x32}";
}

/// <summary>Deterministic pseudo-random bulk data (seeded) and XxHash128 digests of streams.</summary>
public static class Payload
{
    public const int ChunkSize = 64 * 1024;

    public const long SixtyFourMiB = 64L * 1024 * 1024;

    /// <summary>Writes <paramref name="length"/> bytes from Random(<paramref name="seed"/>) and returns their digest.</summary>
    public static async Task<Digest> WriteAsync(Stream stream, long length, int seed, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        var hash = new XxHash128();
        var buffer = new byte[ChunkSize];
        long written = 0;
        while (written < length)
        {
            var count = (int)Math.Min(buffer.Length, length - written);
            random.NextBytes(buffer.AsSpan(0, count));
            hash.Append(buffer.AsSpan(0, count));
            await stream.WriteAsync(buffer.AsMemory(0, count), cancellationToken);
            written += count;
        }

        await stream.FlushAsync(cancellationToken);
        return new Digest(written, hash.GetCurrentHashAsUInt128());
    }

    /// <summary>Reads until end of stream and returns the digest of everything read.</summary>
    public static async Task<Digest> ReadToEndAsync(Stream stream, CancellationToken cancellationToken)
    {
        var hash = new XxHash128();
        var buffer = new byte[ChunkSize];
        long total = 0;
        while (true)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return new Digest(total, hash.GetCurrentHashAsUInt128());
            }

            hash.Append(buffer.AsSpan(0, read));
            total += read;
        }
    }

    /// <summary>The digest <see cref="WriteAsync"/> would produce, without a stream.</summary>
    public static Digest Expected(long length, int seed)
    {
        var random = new Random(seed);
        var hash = new XxHash128();
        var buffer = new byte[ChunkSize];
        long done = 0;
        while (done < length)
        {
            var count = (int)Math.Min(buffer.Length, length - done);
            random.NextBytes(buffer.AsSpan(0, count));
            hash.Append(buffer.AsSpan(0, count));
            done += count;
        }

        return new Digest(done, hash.GetCurrentHashAsUInt128());
    }
}
