using System.IO.Pipelines;
using System.Text;
using Switchyard.Http1;
using Switchyard.Proxy;
using Switchyard.Tests.Http2.Connection;
using Switchyard.Tests.TestSupport;

namespace Switchyard.Tests.Proxy;

/// <summary>An HTTP/1.1 caller in front of an h2c-only destination: one request becomes one stream and back.</summary>
public sealed class Http1ToHttp2Tests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly ConnectionContext _context = TestContexts.Caller(TestContexts.Port(80));
    private readonly ChunkedDecoder _chunked = new();
    private readonly Http1RequestHead _request = new();
    private Http2PeerHarness _app = null!;
    private PipeChannel _caller = null!;
    private PipeChannel _downstream = null!;

    public async Task InitializeAsync()
    {
        _app = await Http2PeerHarness.StartAsync();
        (_caller, _downstream) = PipeChannel.CreatePair();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _chunked.Dispose();
        _request.Dispose();
    }

    /// <summary>The caller sends its request; the agent's side has read the head (the body waits in the pipe).</summary>
    private async Task SendRequestAsync(string text)
    {
        await _caller.Output.WriteAsync(Encoding.ASCII.GetBytes(text));
        Assert.Equal(HeadRead.Read, await Http1HeadReader.ReadAsync(_downstream.Input, new RequestHeadParser(_request, null)));
    }

    /// <summary>Everything the caller received once the exchange ended.</summary>
    private async Task<string> ReceivedAsync()
    {
        await _downstream.Output.CompleteAsync();
        var text = new StringBuilder();
        while (true)
        {
            ReadResult read = await _caller.Input.ReadAsync().AsTask().WaitAsync(Patience);
            foreach (ReadOnlyMemory<byte> segment in read.Buffer)
            {
                text.Append(Encoding.ASCII.GetString(segment.Span));
            }

            _caller.Input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                return text.ToString();
            }
        }
    }

    private Task<(bool KeepAlive, int Status)> ExchangeAsync() => Http1ToHttp2.ExchangeAsync(_context, _request, _downstream, _app.App, _chunked);

    [Fact]
    public async Task The_request_head_becomes_lower_case_fields_without_hop_by_hop_ones_and_the_answer_an_http1_head()
    {
        await SendRequestAsync("GET /a?b=1 HTTP/1.1\r\nHost: shop.local\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n" +
            "TE: trailers\r\nX-Dev: alice\r\nAccept: */*\r\n\r\n");

        Task<(bool, int)> exchange = ExchangeAsync();
        (List<(string Name, string Value)> fields, bool endStream) = await _app.ReadHeadersAsync(1);
        await _app.SendHeadersAsync(1, false, (":status", "200"), ("content-type", "text/plain"), ("content-length", "5"));
        await _app.SendDataAsync(1, "hello", endStream: true);

        Assert.Equal((true, 200), await exchange.WaitAsync(Patience));
        Assert.True(endStream);
        Assert.Contains((":method", "GET"), fields);
        Assert.Contains((":authority", "shop.local"), fields);
        Assert.Contains((":path", "/a?b=1"), fields);
        Assert.Contains(("te", "trailers"), fields);
        Assert.Contains(("x-dev", "alice"), fields);
        Assert.Contains(("accept", "*/*"), fields);
        Assert.DoesNotContain(fields, f => f.Name is "host" or "connection" or "keep-alive" or "x-hop");
        Assert.Equal("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello", await ReceivedAsync());
    }

    [Fact]
    public async Task A_chunked_upload_becomes_data_and_trailers_and_an_answer_without_length_is_chunked_with_its_trailers()
    {
        await SendRequestAsync("POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n");

        Task<(bool, int)> exchange = ExchangeAsync();
        (List<(string Name, string Value)> fields, bool endStream) = await _app.ReadHeadersAsync(1);
        (string body, List<(string Name, string Value)>? trailers) = await _app.ReadBodyAsync(1);
        await _app.SendHeadersAsync(1, false, (":status", "201"));
        await _app.SendDataAsync(1, "ok", endStream: false);
        await _app.SendHeadersAsync(1, true, ("grpc-status", "0"));

        Assert.Equal((true, 201), await exchange.WaitAsync(Patience));
        Assert.False(endStream);
        Assert.DoesNotContain(fields, f => f.Name == "transfer-encoding");
        Assert.Equal("hello world", body);
        Assert.Equal([("x-checksum", "abc")], trailers);
        Assert.Equal("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\ngrpc-status: 0\r\n\r\n", await ReceivedAsync());
    }

    [Fact]
    public async Task A_caller_that_closes_gets_connection_close_and_an_interim_answer_is_passed_on()
    {
        await SendRequestAsync("PUT /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc");

        Task<(bool, int)> exchange = ExchangeAsync();
        (List<(string Name, string Value)> fields, _) = await _app.ReadHeadersAsync(1);
        await _app.SendHeadersAsync(1, false, (":status", "100"));
        (string body, _) = await _app.ReadBodyAsync(1);
        await _app.SendHeadersAsync(1, true, (":status", "204"));

        Assert.Equal((false, 204), await exchange.WaitAsync(Patience));
        Assert.Contains(("content-length", "3"), fields);
        Assert.DoesNotContain(fields, f => f.Name == "expect");
        Assert.Equal("abc", body);
        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", await ReceivedAsync());
    }

    [Fact]
    public async Task An_http_1_0_caller_without_host_gets_the_app_as_authority_and_an_unknown_length_close_delimited()
    {
        await SendRequestAsync("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");

        Task<(bool, int)> exchange = ExchangeAsync();
        (List<(string Name, string Value)> fields, _) = await _app.ReadHeadersAsync(1);
        await _app.SendHeadersAsync(1, false, (":status", "200"));
        await _app.SendDataAsync(1, "hello", endStream: true);

        Assert.Equal((false, 200), await exchange.WaitAsync(Patience));
        Assert.Contains((":authority", "127.0.0.1:80"), fields);
        Assert.Equal("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", await ReceivedAsync());
    }

    [Fact]
    public async Task An_http_1_0_keep_alive_caller_gets_keep_alive_announced_when_the_length_is_known()
    {
        await SendRequestAsync("GET /old HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");

        Task<(bool, int)> exchange = ExchangeAsync();
        await _app.ReadHeadersAsync(1);
        await _app.SendHeadersAsync(1, false, (":status", "200"), ("content-length", "5"));
        await _app.SendDataAsync(1, "hello", endStream: true);

        Assert.Equal((true, 200), await exchange.WaitAsync(Patience));
        Assert.Equal("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nConnection: keep-alive\r\n\r\nhello", await ReceivedAsync());
    }

    [Fact]
    public async Task An_absolute_form_target_becomes_the_path_and_its_authority_wins_over_host()
    {
        await SendRequestAsync("GET http://other.example/x?y HTTP/1.1\r\nHost: shop.local\r\n\r\n");

        Task<(bool, int)> exchange = ExchangeAsync();
        (List<(string Name, string Value)> fields, _) = await _app.ReadHeadersAsync(1);
        await _app.SendHeadersAsync(1, true, (":status", "204"));

        Assert.Equal((true, 204), await exchange.WaitAsync(Patience));
        Assert.Contains((":authority", "other.example"), fields);
        Assert.Contains((":path", "/x?y"), fields);
        Assert.DoesNotContain(fields, f => f.Name == "host");
    }
}
