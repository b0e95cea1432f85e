using System.Buffers.Binary;
using Switchyard.NativeTests.Infrastructure;

namespace Switchyard.NativeTests.Http2;

/// <summary>
/// Scripted RFC 9113 violations, each sent on a fresh connection after the handshake, with the error the RFC
/// requires. Run against the agent (Http2ProtocolErrorTests) and against Kestrel (Http2HarnessTests), so a failure
/// against the agent is not the script's fault.
/// </summary>
public static class ProtocolViolations
{
    /// <summary>Violations the RFC makes connection errors: GOAWAY with this code.</summary>
    public static TheoryData<string, H2Error> ConnectionErrors => new()
    {
        { "DATA on stream 0", H2Error.ProtocolError },                                // §6.1
        { "HEADERS on an even stream id", H2Error.ProtocolError },                    // §5.1.1
        { "HEADERS larger than SETTINGS_MAX_FRAME_SIZE", H2Error.FrameSizeError },    // §4.2
        { "WINDOW_UPDATE overflowing the connection window", H2Error.FlowControlError }, // §6.9.1
        { "WINDOW_UPDATE of 0 on the connection", H2Error.ProtocolError },            // §6.9
        { "CONTINUATION without HEADERS", H2Error.ProtocolError },                    // §6.10
        { "SETTINGS of 7 bytes", H2Error.FrameSizeError },                            // §6.5
        { "PING of 7 bytes", H2Error.FrameSizeError },                                // §6.7
        { "SETTINGS_ENABLE_PUSH of 2", H2Error.ProtocolError },                       // §6.5.2
        { "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1", H2Error.FlowControlError },    // §6.5.2
        { "PUSH_PROMISE from the client", H2Error.ProtocolError },                    // §8.4
        { "HPACK index beyond both tables", H2Error.CompressionError },               // §4.3, RFC 7541 §2.3.3
    };

    /// <summary>Malformed requests (§8.1.1): a stream error; RST_STREAM PROTOCOL_ERROR, a 4xx answer, or GOAWAY PROTOCOL_ERROR.</summary>
    public static TheoryData<string> MalformedRequests => new()
    {
        "an upper-case field name",
        "a connection-specific field",
        "no :path",
        "content-length larger than the DATA",
    };

    public static Task SendConnectionErrorAsync(Http2FrameClient client, string violation, CancellationToken ct) => violation switch
    {
        "DATA on stream 0" => client.SendAsync(ct, Http2FrameClient.Data(0, "x"u8, endStream: false)),
        "HEADERS on an even stream id" => client.SendAsync(ct, client.Request(2, "GET", "/even")),
        "HEADERS larger than SETTINGS_MAX_FRAME_SIZE" => client.SendAsync(ct, client.Request(1, "GET", "/big", true,
            ("x-fill", new string('f', client.ServerMaxFrameSize + 100)))),
        "WINDOW_UPDATE overflowing the connection window" => client.SendAsync(ct, Http2FrameClient.WindowUpdate(0, 0x7FFFFFFF)),
        "WINDOW_UPDATE of 0 on the connection" => client.SendAsync(ct, Http2FrameClient.WindowUpdate(0, 0)),
        "CONTINUATION without HEADERS" => client.SendAsync(ct,
            Http2FrameClient.Frame(FrameType.Continuation, FrameFlags.EndHeaders, 1, client.RequestBlock("GET", "/orphan"))),
        "SETTINGS of 7 bytes" => client.SendAsync(ct, Http2FrameClient.Frame(FrameType.Settings, FrameFlags.None, 0, new byte[7])),
        "PING of 7 bytes" => client.SendAsync(ct, Http2FrameClient.Frame(FrameType.Ping, FrameFlags.None, 0, new byte[7])),
        "SETTINGS_ENABLE_PUSH of 2" => client.SendAsync(ct, Http2FrameClient.Settings((SettingId.EnablePush, 2))),
        "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1" => client.SendAsync(ct, Http2FrameClient.Settings((SettingId.InitialWindowSize, 0x80000000))),
        "PUSH_PROMISE from the client" => client.SendAsync(ct, PushPromise(client)),
        "HPACK index beyond both tables" => client.SendAsync(ct,
            Http2FrameClient.Headers(1, [.. client.RequestBlock("GET", "/index"), .. Hpack.Indexed(300)], endStream: true)),
        _ => throw new ArgumentOutOfRangeException(nameof(violation), violation, null),
    };

    /// <summary>Sends the malformed request on stream 1 (path /malformed).</summary>
    public static Task SendMalformedRequestAsync(Http2FrameClient client, string violation, CancellationToken ct) => violation switch
    {
        "an upper-case field name" => client.SendAsync(ct, client.Request(1, "GET", "/malformed", true, ("X-Upper", "1"))),
        "a connection-specific field" => client.SendAsync(ct, client.Request(1, "GET", "/malformed", true, ("connection", "keep-alive"))),
        "no :path" => client.SendAsync(ct, Http2FrameClient.Headers(1,
            Hpack.Encode([(":method", "GET"), (":scheme", client.Scheme), (":authority", "localhost")]), endStream: true)),
        "content-length larger than the DATA" => client.SendAsync(ct,
            client.Request(1, "POST", "/malformed", false, ("content-length", "10")),
            Http2FrameClient.Data(1, "12345"u8, endStream: true)),
        _ => throw new ArgumentOutOfRangeException(nameof(violation), violation, null),
    };

    private static byte[] PushPromise(Http2FrameClient client)
    {
        byte[] block = client.RequestBlock("GET", "/pushed");
        var payload = new byte[4 + block.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, 2);
        block.CopyTo(payload, 4);
        return Http2FrameClient.Frame(FrameType.PushPromise, FrameFlags.EndHeaders, 1, payload);
    }
}
