#!/usr/bin/env python3
"""Open N TLS connections to HOST:PORT, complete each handshake, then hold them all idle.

Used by compare.sh to measure a proxy's memory with many idle TLS connections. Protocol with the caller
(one line each on stdout):
  READY opened=N failed=F seconds=S      every connection attempted; N completed the handshake
  ALIVE n=K closed=C                     after SIGUSR1: how many of the N are still open (no EOF seen)
SIGTERM or SIGINT closes everything and exits 0.

Each connection offers ALPN http/1.1 (so a proxy that forwards bytes opaquely re-encrypts to the app the
same way it would for a real HTTP/1.1 client) and sends nothing after the handshake. With --request, each
connection first sends one `GET / HTTP/1.1` and reads the answer, then goes idle (a keep-alive connection).
"""
import argparse
import asyncio
import resource
import signal
import ssl
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=8000)
    p.add_argument("--concurrency", type=int, default=64, help="handshakes in flight at once")
    p.add_argument("--timeout", type=float, default=20.0, help="per-connection handshake timeout, seconds")
    p.add_argument("--request", action="store_true", help="send one HTTP/1.1 request per connection before idling")
    return p.parse_args()


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        print(f"idle-conns: RLIMIT_NOFILE hard limit {hard} < {needed}; some connections will fail", file=sys.stderr)


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def open_one(args, ctx, sem, conns, errors):
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port, ssl=ctx, server_hostname="localhost"), args.timeout)
            if args.request:
                writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: idle-conns\r\n\r\n")
                status = await asyncio.wait_for(read_response(reader), args.timeout)
                if status != b"200":
                    raise RuntimeError(f"status {status.decode()}")
            conns.append((reader, writer))
        except Exception as e:  # noqa: BLE001 - every failure is counted and summarised, none is fatal
            key = f"{type(e).__name__}: {e}"[:160]
            errors[key] = errors.get(key, 0) + 1


async def main():
    args = parse_args()
    raise_nofile(args.count + 256)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["http/1.1"])

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    check = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, check.set)

    conns, errors = [], {}
    sem = asyncio.Semaphore(args.concurrency)
    started = time.monotonic()
    await asyncio.gather(*(open_one(args, ctx, sem, conns, errors) for _ in range(args.count)))
    elapsed = time.monotonic() - started
    failed = args.count - len(conns)
    for reason, n in sorted(errors.items(), key=lambda kv: -kv[1]):
        print(f"idle-conns: {n} failed: {reason}", file=sys.stderr)
    print(f"READY opened={len(conns)} failed={failed} seconds={elapsed:.1f}", flush=True)

    while not stop.is_set():
        waiter = asyncio.ensure_future(check.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()
        if check.is_set():
            check.clear()
            await asyncio.sleep(0.2)  # let any pending EOFs be read
            closed = sum(1 for r, _ in conns if r.at_eof() or r.exception() is not None)
            print(f"ALIVE n={len(conns) - closed} closed={closed}", flush=True)

    for _, w in conns:
        w.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
