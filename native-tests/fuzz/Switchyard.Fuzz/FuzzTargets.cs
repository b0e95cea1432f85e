using System.Buffers;
using System.Text;
using System.Text.Json;
using Switchyard.Config;
using Switchyard.Http1;
using Switchyard.Http2;
using Switchyard.Http2.Hpack;
using Switchyard.Kubernetes;

namespace Switchyard.Fuzz;

/// <summary>
/// The fuzz targets: each feeds the input bytes to one parser and catches only the exception that parser documents
/// as its answer to bad input. Anything else escaping a target is a crash: another exception type, a disagreement
/// between two ways of feeding the same bytes (whole vs. in pieces, as TCP may cut them), or an output the proxy
/// would write that it would itself refuse to read (<see cref="FuzzOracleException"/>).
/// </summary>
internal static partial class FuzzTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["http1-request"] = Http1Request,
        ["http1-response"] = Http1Response,
        ["chunked"] = Chunked,
        ["http2-frames"] = Http2Frames,
        ["hpack"] = Hpack,
        ["config"] = Config,
        ["manifest"] = Manifest,
        ["self-check"] = SelfCheck,
    };

    /// <summary>Limits small enough that fuzzed inputs reach every "too large" and "too many" branch.</summary>
    private static Http1Limits Tight => Fixed.Tight;

    /// <summary>Limits a re-written head never reaches: the re-parse checks framing, not size.</summary>
    private static Http1Limits Roomy => Fixed.Roomy;

    /// <summary>
    /// Not a parser: proves that this machine's afl-fuzz + SharpFuzz set-up reports crashes and hangs (not in the
    /// default FUZZ_TARGETS; run <c>make fuzz FUZZ_TARGETS=self-check FUZZ_SECONDS=30</c>, expect one of each). An
    /// input starting with 'C' crashes, one starting with 'H' hangs; the seeds "crash" and "hang" are one bit away.
    /// </summary>
    private static void SelfCheck(byte[] input)
    {
        // Through an instrumented parser first: afl-fuzz refuses a target that shows no coverage at all.
        Chunked(input);
        if (input.Length > 0 && input[0] == 'C')
        {
            throw new InvalidOperationException("self-check: a crash, as asked");
        }

        if (input.Length > 0 && input[0] == 'H')
        {
            Thread.Sleep(Timeout.Infinite);
        }
    }

    /// <summary>Config loader (Config/ConfigLoader.Parse): <see cref="ConfigException"/> is its only answer to bad input.</summary>
    private static void Config(byte[] input)
    {
        try
        {
            _ = ConfigLoader.Parse(input, "fuzz.json");
        }
        catch (ConfigException)
        {
        }
    }

    /// <summary>
    /// `generate` (Kubernetes/ManifestReader + ConfigGenerator): <see cref="KubeInputException"/> is its only answer to
    /// bad input; what it generates must be well-formed JSON.
    /// </summary>
    private static void Manifest(byte[] input)
    {
        string text = Encoding.UTF8.GetString(input);
        Generation generation;
        try
        {
            List<ManifestDocument> documents = ManifestReader.Read("fuzz.yaml", text);
            generation = ConfigGenerator.Generate(documents, new GenerateOptions());
        }
        catch (KubeInputException)
        {
            return;
        }

        try
        {
            using JsonDocument json = JsonDocument.Parse(generation.ConfigJson);
        }
        catch (JsonException e)
        {
            throw new FuzzOracleException($"generate wrote malformed JSON: {e.Message}");
        }
    }

    /// <summary>Throws when two ways of reading the same bytes disagree.</summary>
    private static void Agree(string expected, string actual, string what)
    {
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            throw new FuzzOracleException($"{what} disagree:\n  whole:     {expected}\n  in pieces: {actual}");
        }
    }

    /// <summary>The bytes as a pipe would hand them out: segments of <paramref name="size"/> (the last may be shorter).</summary>
    private static ReadOnlySequence<byte> Segmented(ReadOnlyMemory<byte> bytes, int size)
    {
        if (bytes.IsEmpty)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(bytes[..Math.Min(size, bytes.Length)], 0);
        Segment last = first;
        for (int start = size; start < bytes.Length; start += size)
        {
            last = last.Append(bytes[start..Math.Min(start + size, bytes.Length)]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Growth step when feeding an input piece by piece: small for small inputs, at most ~64 steps in all.</summary>
    private static int Step(byte[] input) => Math.Max(1 + (input.Length % 7), input.Length / 64);

    private static string Hex(ReadOnlySpan<byte> bytes) => bytes.Length <= 64 ? Convert.ToHexString(bytes) : $"{bytes.Length}B:{Fnv(bytes):x16}";

    private static ulong Fnv(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 14695981039346656037;
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * 1099511628211;
        }

        return hash;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

/// <summary>
/// Values made of product types. They live apart from <see cref="FuzzTargets"/> so that nothing of the instrumented
/// switchyard.dll runs before SharpFuzz has set up the coverage map (an instrumented constructor run earlier writes
/// through a null map pointer).
/// </summary>
internal static class Fixed
{
    // An explicit static constructor: initialised at first use (inside a fuzzed run), never ahead of it.
    static Fixed()
    {
    }

    public static readonly Http1Limits Tight = new()
    {
        MaxHeadBytes = 96,
        MaxHeaderCount = 3,
        MaxChunkLineBytes = 16,
        MaxChunkSize = 300,
        MaxTrailerBytes = 32,
        MaxTrailerCount = 2,
    };

    public static readonly Http1Limits Roomy = new() { MaxHeadBytes = 1 << 24, MaxHeaderCount = 1 << 16 };

    public static readonly string[] ResponseMethods = [Http1Methods.Get, Http1Methods.Head, Http1Methods.Connect];
}

/// <summary>A property of a parser failed on a fuzzed input: always a crash, never a "bad input" answer.</summary>
internal sealed class FuzzOracleException(string message) : Exception(message);
