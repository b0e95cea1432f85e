#!/usr/bin/env bash
# Body filters (issue 15): proxy CPU µs/request with a JSON body filter active, next to the same agent with the header
# filter of http1-routing.sh, every request a POST of the same 120-byte JSON body routed to origin B, over HTTP/1.1
# (h2load --h1 -n 100000 -c 64) and HTTP/2 (h2load -n 100000 -c 16 -m 8), proxy on CPU0, h2load on CPU1, runs
# alternated (A B A B ...) so that a busy machine weighs on both alike; the median of REPEAT runs per row.
#   perf/load/body-filter.sh                      (after `make publish`)
#   BEFORE=/path/to/older/switchyard perf/load/body-filter.sh   adds that binary's header-filter rows (A/B)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ANCHORS=${ANCHORS:-/work/shared/bench/anchors.sh}
export BENCH_DIR=${BENCH_DIR:-/tmp/switchyard-bench}
BIN=${SWITCHYARD_BIN:-$ROOT/artifacts/switchyard/switchyard}
BEFORE=${BEFORE:-}
OUT=$BENCH_DIR/body-filter; mkdir -p "$OUT"
PORT=19447 ADMIN=19947 REPEAT=${REPEAT:-5}
need() { command -v "$1" >/dev/null || { apt-get install -y -qq "$2" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }; }
need h2load nghttp2-client; need bc bc
SY_PID=""
stop() { [ -n "$SY_PID" ] && kill -TERM "$SY_PID" 2>/dev/null && wait "$SY_PID" 2>/dev/null; SY_PID=""; }
cleanup() { stop; "$ANCHORS" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$ANCHORS" up >/dev/null
C=$BENCH_DIR/certs
printf '%s' '{"order":"o-1029","customer":{"name":"Ann Example","id":42,"tier":"gold"},"lines":[{"sku":"A-1","qty":2}]}' > "$OUT/body.json"

config() { # $1: match JSON
  cat >"$OUT/config.json" <<CONF
{ "version": 1, "admin": { "listen": "127.0.0.1:$ADMIN" },
  "ports": [ { "name": "https", "listen": "127.0.0.1:$PORT", "app": "127.0.0.1:18443", "inspect": "auto",
    "downstreamTls": { "certPem": "$C/ec.crt", "keyPem": "$C/ec.key", "alpn": ["h2", "http/1.1"] },
    "upstreamTls": { "insecureSkipVerify": true } } ],
  "intercepts": [ { "id": "alice", "port": "https", "match": $1, "target": "127.0.0.1:18444", "failOpen": false } ] }
CONF
}
start() { # $1 binary, $2 match
  stop; config "$2"
  SWITCHYARD_LOG_LEVEL=warning taskset -c 0 "$1" agent --config "$OUT/config.json" >>"$OUT/agent.log" 2>&1 &
  SY_PID=$!
  for i in $(seq 1 100); do curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN/readyz" | grep -q 200 && break; sleep 0.1; done
  body=$(curl -sk --http2 -H 'x-dev: alice' -H 'content-type: application/json' --data-binary @"$OUT/body.json" "https://127.0.0.1:$PORT/")
  [ "${body:0:1}" = B ] || { echo "the agent did not route the request to origin B (got '${body:0:20}')" >&2; exit 1; }
}
measure() { # $1 label, $2 kind
  local args tick a b out done_ cpu
  case $2 in h2) args="-n 100000 -c 16 -m 8" ;; h1) args="--h1 -n 100000 -c 64" ;; esac
  tick=$(getconf CLK_TCK)
  st() { local f; read -r -a f < "/proc/$SY_PID/stat"; echo $(( f[13] + f[14] )); }
  a=$(st); out=$(taskset -c 1 h2load $args -t 1 -H 'x-dev: alice' -H 'content-type: application/json' -d "$OUT/body.json" "https://127.0.0.1:$PORT/" 2>&1); b=$(st)
  done_=$(echo "$out" | awk '/^requests:/{print $8}'); cpu=$(echo "scale=3; ($b-$a)/$tick" | bc)
  echo "$1 $2 rps=$(echo "$out" | awk '/^finished/{print $4}') done=$done_ errored=$(echo "$out" | awk '/^requests:/{print $10}') us_per_req=$(echo "scale=2; $cpu*1000000/$done_" | bc)" | tee -a "$OUT/measure.txt"
}
HEADER='{ "header": "x-dev", "exact": "alice" }'
BODYF='{ "all": [ { "method": "POST" }, { "body": { "json": "$.customer.id", "exact": "42" } } ] }'
: > "$OUT/measure.txt"
for kind in h1 h2; do
  for r in $(seq 1 "$REPEAT"); do
    [ -n "$BEFORE" ] && { start "$BEFORE" "$HEADER"; measure before-header "$kind"; }
    start "$BIN" "$HEADER"; measure header "$kind"
    start "$BIN" "$BODYF"; measure body "$kind"
  done
done
stop
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "| filter | kind | Switchyard µs/request (median of $REPEAT) | runs |"
echo "|---|---|---:|---|"
for kind in h1 h2; do
  for label in before-header header body; do
    runs=$(grep "^$label $kind " "$OUT/measure.txt" | sed 's/.*us_per_req=//' | tr '\n' ' ')
    [ -n "$runs" ] && echo "| $label | $kind | $(printf '%s\n' $runs | median) | $runs|"
  done
done
