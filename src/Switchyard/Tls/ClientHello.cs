using System.Buffers.Binary;

namespace Switchyard.Tls;

/// <summary>
/// Reads one thing out of a caller's first TLS record: whether its ClientHello offers TLS 1.3 (the supported_versions
/// extension, RFC 8446 §4.2.1). .NET's <c>SslClientHelloInfo.SslProtocols</c> reports only the legacy version field
/// ("Tls, Tls12" for every TLS 1.3 client), so the agent looks itself.
/// </summary>
internal static class ClientHello
{
    /// <summary>A record header: content type, legacy version, length (RFC 8446 §5.1).</summary>
    public const int RecordHeaderLength = 5;

    /// <summary>
    /// How much of the first record the agent looks at: a ClientHello with a post-quantum key share (X25519MLKEM768)
    /// is about 1.8 KB; a larger one is still served, only without the shared TLS 1.3 context.
    /// </summary>
    public const int MaxPeek = 4096;

    private const byte HandshakeRecord = 0x16;
    private const byte ClientHelloType = 1;
    private const ushort SupportedVersionsExtension = 0x002b;
    private const ushort Tls13 = 0x0304;

    /// <summary>
    /// True when <paramref name="record"/> (the caller's first bytes) holds a whole ClientHello in one record whose
    /// supported_versions lists TLS 1.3. Anything else (a partial or fragmented hello, malformed bytes, no extension)
    /// is false: the caller then gets the handshake that suits every client.
    /// </summary>
    public static bool OffersTls13(ReadOnlySpan<byte> record)
    {
        if (record.Length < RecordHeaderLength || record[0] != HandshakeRecord)
        {
            return false;
        }

        int recordLength = BinaryPrimitives.ReadUInt16BigEndian(record[3..]);
        if (record.Length < RecordHeaderLength + recordLength)
        {
            return false;
        }

        ReadOnlySpan<byte> handshake = record.Slice(RecordHeaderLength, recordLength);
        if (handshake.Length < 4 || handshake[0] != ClientHelloType)
        {
            return false;
        }

        int helloLength = (handshake[1] << 16) | (handshake[2] << 8) | handshake[3];
        if (handshake.Length < 4 + helloLength)
        {
            return false; // continues in the next record
        }

        var reader = new Reader(handshake.Slice(4, helloLength));
        if (!reader.Skip(2 + 32) // legacy_version, random
            || !reader.SkipVector(1) // legacy_session_id
            || !reader.SkipVector(2) // cipher_suites
            || !reader.SkipVector(1) // legacy_compression_methods
            || !reader.Vector(2, out ReadOnlySpan<byte> extensions))
        {
            return false;
        }

        var list = new Reader(extensions);
        while (list.UInt16(out ushort type) && list.Vector(2, out ReadOnlySpan<byte> data))
        {
            if (type != SupportedVersionsExtension)
            {
                continue;
            }

            var versions = new Reader(data);
            if (!versions.Vector(1, out ReadOnlySpan<byte> offered))
            {
                return false;
            }

            for (int i = 0; i + 1 < offered.Length; i += 2)
            {
                if (BinaryPrimitives.ReadUInt16BigEndian(offered[i..]) == Tls13)
                {
                    return true;
                }
            }

            return false;
        }

        return false;
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public bool Skip(int count)
        {
            if (_rest.Length < count)
            {
                return false;
            }

            _rest = _rest[count..];
            return true;
        }

        public bool SkipVector(int lengthBytes) => Vector(lengthBytes, out _);

        public bool UInt16(out ushort value)
        {
            value = 0;
            if (_rest.Length < 2)
            {
                return false;
            }

            value = BinaryPrimitives.ReadUInt16BigEndian(_rest);
            _rest = _rest[2..];
            return true;
        }

        /// <summary>A vector with a 1- or 2-byte length prefix.</summary>
        public bool Vector(int lengthBytes, out ReadOnlySpan<byte> value)
        {
            value = default;
            if (_rest.Length < lengthBytes)
            {
                return false;
            }

            int length = lengthBytes == 1 ? _rest[0] : BinaryPrimitives.ReadUInt16BigEndian(_rest);
            if (_rest.Length < lengthBytes + length)
            {
                return false;
            }

            value = _rest.Slice(lengthBytes, length);
            _rest = _rest[(lengthBytes + length)..];
            return true;
        }
    }
}
