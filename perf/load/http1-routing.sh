#!/usr/bin/env bash
# KIND=h1 (default): HTTP/1.1 keep-alive; KIND=h2: h2load -n 200000 -c 16 -m 8 over TLS with ALPN h2 (`make perf-h2`).
# Either way with a header-filter intercept active: `x-dev: alice` routed to origin B by Switchyard exactly
# as the anchors route it (nginx map / HAProxy use_backend in /work/shared/bench/anchors.sh).
#   perf/load/http1-routing.sh        (after `make publish`; `make perf-h1` runs it)
# Prints proxy CPU µs/request (anchors.sh measure h1, proxy on CPU0, h2load on CPU1) for nginx, HAProxy and
# Switchyard, then wrk latency p50/p99 (16 connections, 10 s, CPU1) through each proxy and directly to origin B.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ANCHORS=${ANCHORS:-/work/shared/bench/anchors.sh}
export BENCH_DIR=${BENCH_DIR:-/tmp/switchyard-bench}
BIN=${SWITCHYARD_BIN:-$ROOT/artifacts/switchyard/switchyard}
KIND=${KIND:-h1}
OUT=$BENCH_DIR/$KIND-routing; mkdir -p "$OUT"
PORT=19446 ADMIN=19946 REPEAT=${REPEAT:-3}
need() { command -v "$1" >/dev/null || { apt-get install -y -qq "$2" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }; }
need wrk wrk; need h2load nghttp2-client; need bc bc
[ -x "$BIN" ] || { echo "no agent binary at $BIN (run make publish)" >&2; exit 1; }
SY_PID=""
cleanup() { [ -n "$SY_PID" ] && kill -TERM "$SY_PID" 2>/dev/null; "$ANCHORS" down >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$ANCHORS" up >/dev/null
C=$BENCH_DIR/certs
cat >"$OUT/config.json" <<CONF
{ "version": 1, "admin": { "listen": "127.0.0.1:$ADMIN" },
  "ports": [ { "name": "https", "listen": "127.0.0.1:$PORT", "app": "127.0.0.1:18443", "inspect": "auto",
    "downstreamTls": { "certPem": "$C/ec.crt", "keyPem": "$C/ec.key", "alpn": ["h2", "http/1.1"] },
    "upstreamTls": { "insecureSkipVerify": true } } ],
  "intercepts": [ { "id": "alice", "port": "https", "match": { "header": "x-dev", "exact": "alice" },
    "target": "127.0.0.1:18444", "failOpen": false } ] }
CONF
SWITCHYARD_LOG_LEVEL=warning taskset -c 0 "$BIN" agent --config "$OUT/config.json" >"$OUT/agent.log" 2>&1 &
SY_PID=$!
for i in $(seq 1 100); do curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN/readyz" | grep -q 200 && break; sleep 0.1; done
# sanity: the header really routes to origin B through every proxy
CURL_HTTP=--http1.1; [ "$KIND" = h2 ] && CURL_HTTP=--http2
for p in 19443 19444 $PORT; do
  body=$(curl -sk $CURL_HTTP -H 'x-dev: alice' "https://127.0.0.1:$p/")
  [ "${body:0:1}" = B ] || { echo "proxy on $p did not route x-dev: alice to origin B (got '${body:0:20}')" >&2; exit 1; }
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A cpu
for name in nginx haproxy switchyard; do
  case $name in
    nginx) port=19443 pid=$("$ANCHORS" pid nginxp) ;;
    haproxy) port=19444 pid=$(cat "$BENCH_DIR/run/haproxy.pid") ;;
    switchyard) port=$PORT pid=$SY_PID ;;
  esac
  for r in $(seq 1 "$REPEAT"); do "$ANCHORS" measure "$name" "$port" "$pid" "$KIND" | tee -a "$OUT/measure.txt"; done
  cpu[$name]=$(grep "^$name $KIND" "$OUT/measure.txt" | tail -n "$REPEAT" | sed 's/.*us_per_req=//' | median)
done

if [ "$KIND" = h2 ]; then
  # h2load's own latency distribution (wrk speaks only HTTP/1.1): mean and sd of request time, 16 x 8 streams.
  for p in 18444 19443 19444 $PORT; do
    printf 'port %s: ' "$p"
    taskset -c 1 h2load -n 50000 -c 16 -m 8 -t 1 -H 'x-dev: alice' "https://127.0.0.1:$p/" | awk '/^time for request:/{print "request time min/max/mean/sd", $4, $5, $6, $7}'
  done | tee -a "$OUT/latency.txt"
  echo
  echo "| proxy (h2, 16 conns x 8 streams, x-dev: alice -> origin B) | CPU µs/request (median of $REPEAT) | Switchyard ÷ it |"
  echo "|---|---:|---:|"
  echo "| nginx | ${cpu[nginx]} | $(echo "scale=2; ${cpu[switchyard]}/${cpu[nginx]}" | bc) |"
  echo "| HAProxy | ${cpu[haproxy]} | $(echo "scale=2; ${cpu[switchyard]}/${cpu[haproxy]}" | bc) |"
  echo "| Switchyard | ${cpu[switchyard]} | 1 |"
  echo
  echo "requests routed by Switchyard: $(curl -s "http://127.0.0.1:$ADMIN/metrics" | grep '^switchyard_requests_total' | tr '\n' ' ')"
  exit 0
fi

lat() { # lat URL -> "p50 p99" in ms from wrk --latency
  taskset -c 1 wrk -t1 -c16 -d10s --latency -H 'x-dev: alice' "$1" 2>&1 | tee -a "$OUT/wrk.txt" |
    awk '/^ +50%/{p50=$2} /^ +99%/{p99=$2} END {print p50, p99}'
}
read -r d50 d99 < <(lat https://127.0.0.1:18444/)
read -r n50 n99 < <(lat https://127.0.0.1:19443/)
read -r h50 h99 < <(lat https://127.0.0.1:19444/)
read -r s50 s99 < <(lat "https://127.0.0.1:$PORT/")

echo
echo "| proxy (h1 keep-alive, x-dev: alice -> origin B) | CPU µs/request (median of $REPEAT) | Switchyard ÷ it | wrk p50 | wrk p99 |"
echo "|---|---:|---:|---:|---:|"
echo "| direct to origin B | - | - | $d50 | $d99 |"
echo "| nginx | ${cpu[nginx]} | $(echo "scale=2; ${cpu[switchyard]}/${cpu[nginx]}" | bc) | $n50 | $n99 |"
echo "| HAProxy | ${cpu[haproxy]} | $(echo "scale=2; ${cpu[switchyard]}/${cpu[haproxy]}" | bc) | $h50 | $h99 |"
echo "| Switchyard | ${cpu[switchyard]} | 1 | $s50 | $s99 |"
echo
echo "requests routed by Switchyard: $(curl -s "http://127.0.0.1:$ADMIN/metrics" | grep '^switchyard_requests_total' | tr '\n' ' ')"
