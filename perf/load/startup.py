#!/usr/bin/env python3
"""Startup-to-ready time of `switchyard agent`: milliseconds from exec to the first `GET /readyz` answered 200.

Each run starts the agent (pinned to --cpu), polls the admin address from this process (pinned to
--poll-cpu) with a raw HTTP/1.1 request every --interval-ms, then stops the agent with SIGTERM and
checks that it exits 0. Prints one line per run and a final line:
  STARTUP runs=N median_ms=M min_ms=A max_ms=B
Exits 1 (with the reason on stderr and the agent's log path) if a run never gets ready or exits badly.
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--admin", default="127.0.0.1:19901", help="admin HOST:PORT from the config")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--cpu", type=int, default=0, help="CPU the agent is pinned to")
    p.add_argument("--poll-cpu", type=int, default=1, help="CPU this poller is pinned to")
    p.add_argument("--interval-ms", type=float, default=0.5)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for ready")
    p.add_argument("--log", default="/tmp/switchyard-startup.log", help="agent stdout/stderr (appended)")
    return p.parse_args()


def readyz(host, port):
    """HTTP status of GET /readyz, or None while nothing listens."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as s:
            # No "Connection: close": this agent build loses the response to such a request (the socket is shut
            # down before the queued bytes are sent; see perf/RESULTS.md), which would inflate the figure.
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: admin\r\n\r\n")
            # Read the whole response before closing: unread bytes would turn our close into a reset.
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                chunk = s.recv(4096)
                if not chunk:
                    break
                body += chunk
    except (OSError, ValueError):
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def one_run(args, host, port, log):
    cpu = args.cpu
    t0 = time.perf_counter()
    proc = subprocess.Popen([args.bin, "agent", "--config", args.config], stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    try:
        deadline = t0 + args.timeout
        while True:
            status = readyz(host, port)
            if status == 200:
                ms = (time.perf_counter() - t0) * 1000.0
                break
            if proc.poll() is not None:
                raise RuntimeError(f"agent exited with {proc.returncode} before it was ready (log: {args.log})")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"agent not ready after {args.timeout}s, last /readyz status {status} (log: {args.log})")
            time.sleep(args.interval_ms / 1000.0)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise RuntimeError("agent did not exit within 30s of SIGTERM")
    if proc.returncode != 0:
        raise RuntimeError(f"agent exited {proc.returncode} after SIGTERM, expected 0 (log: {args.log})")
    return ms


def main():
    args = parse_args()
    host, _, port = args.admin.rpartition(":")
    port = int(port)
    os.sched_setaffinity(0, {args.poll_cpu})
    if readyz(host, port) is not None:
        print(f"startup: something already answers on {args.admin}; stop it first", file=sys.stderr)
        return 1
    times = []
    with open(args.log, "ab") as log:
        for i in range(args.runs):
            try:
                ms = one_run(args, host, port, log)
            except RuntimeError as e:
                print(f"startup: run {i + 1}: {e}", file=sys.stderr)
                return 1
            times.append(ms)
            print(f"run {i + 1}: {ms:.1f} ms", flush=True)
            time.sleep(0.2)
    print(f"STARTUP runs={len(times)} median_ms={statistics.median(times):.1f} "
          f"min_ms={min(times):.1f} max_ms={max(times):.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
