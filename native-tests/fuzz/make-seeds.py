#!/usr/bin/env python3
"""Writes the seed corpora under native-tests/fuzz/corpus/<target>/ from the unit-test vectors and example files.

Run from the repository root after changing a vector: python3 native-tests/fuzz/make-seeds.py
Files found by fuzzing that are worth keeping (new paths) may be copied into a corpus by hand; this script only
(re)writes the files it names.
"""
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "native-tests", "fuzz", "corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def copy(target, name, source):
    with open(os.path.join(ROOT, source), "rb") as f:
        write(target, name, f.read())


# ---------------------------------------------------------------- HTTP/1 requests (Http1ParserRequestTests shapes)
requests = {
    "get": "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n\r\n",
    "post-length": "POST /api/items HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}",
    "post-chunked": "POST /upload HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "te-gzip-chunked": "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "absolute-form": "GET http://example.com:8080/a/b?c HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
    "connect": "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "options-asterisk": "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "http10-keepalive": "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "h2c-upgrade": "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    "websocket": "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "expect-continue": "POST /big HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5, 5\r\n\r\nhello",
    "pipelined": "\r\nGET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: close, x-hop\r\nX-Hop: 1\r\n\r\n",
}
for name, text in requests.items():
    write("http1-request", name, text)

# ---------------------------------------------------------------- HTTP/1 responses
responses = {
    "ok-length": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    "chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 1\r\n\r\n",
    "no-content": "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
    "not-modified": "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    "switching": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "continue-then-ok": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "http10-until-close": "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody until close",
    "http10-keepalive": "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    "no-reason": "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
    "gzip-chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n",
}
for name, text in responses.items():
    write("http1-response", name, text)

# ---------------------------------------------------------------- chunked bodies (ChunkedDecoderTests shapes)
chunked = {
    "one-chunk": "5\r\nhello\r\n0\r\n\r\n",
    "two-chunks": "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
    "upper-hex": "A\r\n0123456789\r\n0\r\n\r\n",
    "extensions": "5;name=value;flag\r\nhello\r\n000;last=\"yes\"\r\n\r\n",
    "trailers": "3\r\nabc\r\n0\r\nx-checksum: 900150983cd24fb0\r\nx-other: 1\r\n\r\n",
    "empty": "0\r\n\r\n",
    "binary": b"4\r\n\x00\xff\r\n\r\n0\r\n\r\n",
}
for name, data in chunked.items():
    write("chunked", name, data)


# ---------------------------------------------------------------- HTTP/2 frames (RFC 9113 §4.1 header + payloads)
def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
settings = frame(4, 0, 0, struct.pack(">HI", 1, 4096) + struct.pack(">HI", 3, 100) + struct.pack(">HI", 4, 65535) + struct.pack(">HI", 5, 16384))
headers = frame(1, 0x5, 1, bytes.fromhex("828684410f7777772e6578616d706c652e636f6d"))
write("http2-frames", "preface-settings-get", PREFACE + settings + frame(4, 1, 0) + headers)
write("http2-frames", "post-with-data", frame(1, 0x4, 3, bytes.fromhex("838684be")) + frame(0, 0, 3, b"hello") + frame(0, 0x9, 3, b"\x03end\x00\x00\x00"))
write("http2-frames", "headers-priority-padded", frame(1, 0x2C, 5, b"\x02" + struct.pack(">IB", 0x80000003, 15) + bytes.fromhex("8286") + b"\x00\x00"))
write("http2-frames", "continuation", frame(1, 0x0, 7, bytes.fromhex("8286")) + frame(9, 0x4, 7, bytes.fromhex("84")))
write("http2-frames", "control", frame(6, 0, 0, b"12345678") + frame(6, 1, 0, b"12345678") + frame(8, 0, 0, struct.pack(">I", 1 << 20)) + frame(8, 0, 1, struct.pack(">I", 1000)) + frame(2, 0, 3, struct.pack(">IB", 1, 200)))
write("http2-frames", "reset-goaway", frame(3, 0, 1, struct.pack(">I", 8)) + frame(7, 0, 0, struct.pack(">II", 7, 0) + b"bye"))
write("http2-frames", "push-promise", frame(5, 0xC, 1, b"\x01" + struct.pack(">I", 2) + bytes.fromhex("8287") + b"\x00"))
write("http2-frames", "unknown-type", frame(0x42, 0xFF, 9, b"extension") + frame(4, 0, 0, struct.pack(">HI", 0x99, 7)))

# ---------------------------------------------------------------- HPACK (RFC 7541 Appendix C, as in HpackRfcExamples)
hpack = {
    "c2.1-literal-indexed": "400a637573746f6d2d6b65790d637573746f6d2d686561646572",
    "c2.2-without-indexing": "040c2f73616d706c652f70617468",
    "c2.3-never-indexed": "100870617373776f726406736563726574",
    "c2.4-indexed": "82",
    "c3.1-request": "828684410f7777772e6578616d706c652e636f6d",
    "c3.3-request": "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
    "c4.1-huffman": "828684418cf1e3c2e5f23a6ba0ab90f4ff",
    "c4.3-huffman": "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
    "c5.1-response": "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
    "c6.1-huffman-response": "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
    "c6.3-huffman-response": "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    "size-update-then-field": "3fe11f82",
}
for name, hexs in hpack.items():
    write("hpack", name, bytes.fromhex(hexs))

# ---------------------------------------------------------------- config (SPEC.md example, tests, containers/k8s)
copy("config", "echo.config.json", "containers/k8s/echo.config.json")
write("config", "minimal.json", '// generated by hand\n{ "version": 1, /* the only version */ "ports": [ { "listen": 9900, "app": "127.0.0.1:8080" } ] }\n')
write("config", "intercepts.json", """{
  "version": 1,
  "workload": { "kind": "Deployment", "name": "echo", "namespace": "default", "labels": { "app": "echo" } },
  "admin": { "listen": "127.0.0.1:9901" },
  "tunnel": { "listen": "127.0.0.1:9902" },
  "ports": [
    { "name": "http", "protocol": "TCP", "appProtocol": "http", "listen": 9900, "app": "127.0.0.1:8080",
      "tls": "off", "http": "auto", "inspect": "auto", "probeTimeout": "1m30s" },
    { "name": "dns", "protocol": "UDP", "listen": 9953, "app": "127.0.0.1:53" }
  ],
  "intercepts": [
    { "id": "alice", "port": "http", "mode": "intercept",
      "match": { "all": [ { "header": "x-dev", "exact": "alice" }, { "path": { "prefix": "/api/" } },
                          { "not": { "method": "GET" } }, { "any": [ { "header": "x-a", "regex": "^b" } ] } ] },
      "target": "127.0.0.1:18080", "failOpen": true, "delivery": { "plaintext": true, "http": "http1" } },
    { "id": "tap", "port": 9900, "mode": "wiretap", "match": { "method": "POST" }, "target": "127.0.0.1:18081" }
  ]
}
""")

# ---------------------------------------------------------------- manifests (containers/k8s, unit-test fixtures)
copy("manifest", "echo.yaml", "containers/k8s/echo.yaml")
for name in ["api-tls-annotations", "dns-udp-numeric", "grpc-pod-list", "shop-named-ports"]:
    copy("manifest", name + ".yaml", f"src/Switchyard.Tests/Kubernetes/Fixtures/inject/{name}.yaml")
write("manifest", "pod-minimal.yaml", """apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers:
  - name: app
    image: busybox
    ports: [{containerPort: 8080}]
""")

# ---------------------------------------------------------------- self-check: one bit flip from 'C' (crash) and 'H' (hang)
write("self-check", "near-crash", "crash")
write("self-check", "near-hang", "hang")
