#!/usr/bin/env bash
# Switchyard next to nginx and HAProxy on one 2-core loopback machine: proxy CPU per request, startup time,
# memory idle and with many idle TLS connections, binary size. The last run is written up in perf/RESULTS.md.
#
#   perf/load/compare.sh                 # from anywhere; what `make perf` should run
#
# Topology (from /work/shared/bench/anchors.sh): h2load on CPU1 -TLS-> proxy on CPU0 -TLS-> nginx origin on CPU1.
# Switchyard listens on 127.0.0.1:19445 (inspect "auto", intercept alice: "x-dev: alice" -> origin B over TLS, the
# rule nginx and HAProxy apply; everything else terminated and re-encrypted to origin A 127.0.0.1:18443), and on
# 127.0.0.1:19447 as a passthrough (inspect "never": bytes relayed, TLS end to end with origin A) beside an HAProxy in
# `mode tcp` on 127.0.0.1:19448 started by this script.
#
# Rows (issue 16): h2, h1, hs (proxy CPU per request, anchors.sh measure), c1 (one keep-alive HTTP/1.1 client: wrk
# -c1 mean/p50/p99), tcp (passthrough, h1 keep-alive through the relay: CPU per request vs HAProxy mode tcp), bulk
# (1 MiB responses: payload GB per proxy CPU second vs nginx), idle TLS connections (KiB each, RSS after close),
# startup. The ratios are also drawn as a PNG (gnuplot) at $OUT/ratios.png, copied to CHART= when set.
#
# Knobs (environment):
#   ANCHORS=/work/shared/bench/anchors.sh   BENCH_DIR=/tmp/switchyard-bench (certs, anchor configs and logs)
#   SWITCHYARD_BIN=<path>   default artifacts/switchyard/switchyard, re-published when src/Switchyard is newer
#   WORKLOADS="h2 h1 hs"    anchors.sh measure kinds (hs = one request per new TLS connection); WORKLOADS="" runs
#                           none (startup, footprint and the idle connections only)
#   REPEAT=3                runs per proxy and workload; the table shows the median
#   IDLE_CONNS=8000         idle TLS connections held open for the memory figure
#   IDLE_ANCHORS=1          also hold them against nginx and HAProxy (0: Switchyard only)
#   STARTUP_RUNS=7          agent starts for the startup-to-ready median
#   EXTRA="c1 tcp bulk"     the per-connection rows beside the anchors (empty: skip them)
#   CHART=<path>            also copy the ratio chart there (make perf: perf/ratios.png)
#   OUT=$BENCH_DIR/compare  logs, raw h2load lines, evidence, summary.md
# Exit status: 0 when every figure was measured and Switchyard behaved; 1 on a set-up failure (the message
# says what) or when Switchyard misbehaved (failed requests, crash, lost idle connections): the table is still
# printed, followed by the anomalies and where their evidence is.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/perf/load"
ANCHORS=${ANCHORS:-/work/shared/bench/anchors.sh}
export BENCH_DIR=${BENCH_DIR:-/tmp/switchyard-bench}
OUT=${OUT:-$BENCH_DIR/compare}
WORKLOADS=${WORKLOADS-"h2 h1 hs"}
REPEAT=${REPEAT:-3}
IDLE_CONNS=${IDLE_CONNS:-8000}
IDLE_ANCHORS=${IDLE_ANCHORS:-1}
STARTUP_RUNS=${STARTUP_RUNS:-7}
EXTRA=${EXTRA-"c1 tcp bulk"}
CHART=${CHART:-}
SY_PORT=19445
SY_ADMIN=19945
SY_TCP_PORT=19447
HAPROXY_TCP_PORT=19448
ORIGIN_A=127.0.0.1:18443
ORIGIN_B=127.0.0.1:18444
HAPROXY_TCP_PID=""

SY_PID=""
IDLE_PID=""
ANCHORS_UP=0
ANOMALIES=()

anchors() { bash "$ANCHORS" "$@"; }
say() { echo "[compare $(date +%T)] $*" >&2; }
die() { echo "compare.sh: error: $*" >&2; exit 1; }
anomaly() { ANOMALIES+=("$*"); say "ANOMALY: $*"; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "$IDLE_PID" ] && kill -0 "$IDLE_PID" 2>/dev/null; then kill -TERM "$IDLE_PID"; wait "$IDLE_PID" 2>/dev/null; fi
  [ -n "$SY_PID" ] && stop_switchyard quiet
  [ -n "$HAPROXY_TCP_PID" ] && kill "$HAPROXY_TCP_PID" 2>/dev/null
  [ "$ANCHORS_UP" = 1 ] && anchors down >/dev/null 2>&1
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- prerequisites
need() { # need COMMAND DEBIAN-PACKAGE: install only when missing
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "'$1' is missing and there is no apt-get to install $2"
  say "installing $2 (for $1)"
  apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; } ||
    die "apt-get install $2 failed"
  command -v "$1" >/dev/null 2>&1 || die "installed $2 but '$1' is still not on PATH"
}

prerequisites() {
  [ -f "$ANCHORS" ] || die "anchors script not found: $ANCHORS (set ANCHORS=...)"
  [ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (proxies on CPU0, client and origin on CPU1); nproc=$(nproc)"
  need nginx nginx; need haproxy haproxy; need h2load nghttp2-client; need bc bc; need curl curl
  need openssl openssl; need taskset util-linux; need python3 python3
  case " $EXTRA " in *" c1 "*) need wrk wrk ;; esac
  need gnuplot gnuplot-nox
  python3 -c 'import ssl, asyncio' 2>/dev/null || die "python3 lacks the ssl module"
}

binary() {
  if [ -n "${SWITCHYARD_BIN:-}" ]; then
    BIN=$SWITCHYARD_BIN
    [ -x "$BIN" ] || die "SWITCHYARD_BIN=$BIN is not an executable"
    return
  fi
  BIN=$ROOT/artifacts/switchyard/switchyard
  local stale=""
  if [ -x "$BIN" ]; then
    stale=$(find "$ROOT/src/Switchyard" \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' \) \
      -newer "$BIN" -print -quit)
    for f in "$ROOT/Directory.Build.props" "$ROOT/Directory.Packages.props"; do [ "$f" -nt "$BIN" ] && stale=$f; done
  fi
  if [ ! -x "$BIN" ] || [ -n "$stale" ]; then
    command -v dotnet >/dev/null 2>&1 || die "no agent binary at $BIN and no dotnet SDK to publish it"
    say "publishing the agent (${stale:-no binary yet}${stale:+ is newer than the binary})"
    (cd "$ROOT" && dotnet publish src/Switchyard -c Release -r linux-x64 -o artifacts/switchyard -v quiet -nologo) >"$OUT/publish.log" 2>&1 ||
      { tail -20 "$OUT/publish.log" >&2; die "dotnet publish failed (log: $OUT/publish.log)"; }
  fi
}

raise_nofile() {
  # Switchyard holds two sockets per idle caller (caller + app); the client holds one each.
  local want=$((2 * IDLE_CONNS + 1024))
  if [ "$(ulimit -n)" -lt "$want" ]; then
    ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  fi
  [ "$(ulimit -n)" -ge "$want" ] ||
    die "open-file limit $(ulimit -n) (hard $(ulimit -Hn)) is below $want needed for IDLE_CONNS=$IDLE_CONNS; lower IDLE_CONNS or raise the hard limit"
}

listening() { # listening PORT: is anything listening on TCP PORT (IPv4 or IPv6)?
  local hex
  hex=$(printf ':%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v h="$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }'
}

# ---------------------------------------------------------------- Switchyard
write_config() {
  CFG=$OUT/switchyard.json
  cat >"$CFG" <<JSON
{
  "version": 1,
  "workload": { "kind": "Deployment", "name": "bench", "namespace": "default" },
  "admin": { "listen": "127.0.0.1:$SY_ADMIN" },
  "ports": [
    {
      "name": "https",
      "listen": "127.0.0.1:$SY_PORT",
      "app": "$ORIGIN_A",
      "inspect": "auto",
      "downstreamTls": { "certPem": "$BENCH_DIR/certs/ec.crt", "keyPem": "$BENCH_DIR/certs/ec.key", "alpn": ["h2", "http/1.1"] },
      "upstreamTls": { "insecureSkipVerify": true }
    },
    {
      "name": "passthrough",
      "listen": "127.0.0.1:$SY_TCP_PORT",
      "app": "$ORIGIN_A",
      "inspect": "never"
    }
  ],
  "intercepts": [
    { "id": "alice", "port": "https", "match": { "header": "x-dev", "exact": "alice" }, "target": "$ORIGIN_B", "failOpen": false }
  ]
}
JSON
}

readyz() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$SY_ADMIN/readyz" 2>/dev/null || true; }

start_switchyard() { # start_switchyard LOGFILE: pinned to CPU0, waits for /readyz 200
  local log=$1 i
  for p in $SY_PORT $SY_ADMIN; do
    # the agent binds with SO_REUSEADDR, which .NET maps to SO_REUSEPORT on Linux: a second listener would
    # silently share the port with whatever holds it, so refuse to start instead.
    listening "$p" && die "port $p is already in use (a Switchyard left running?); stop it first"
  done
  SY_LOG=$log
  taskset -c 0 "$BIN" agent --config "$CFG" >>"$log" 2>&1 &
  SY_PID=$!
  for i in $(seq 1 100); do
    [ "$(readyz)" = 200 ] && return 0
    kill -0 "$SY_PID" 2>/dev/null || { tail -20 "$log" >&2; SY_PID=""; die "switchyard exited before it was ready (log: $log)"; }
    sleep 0.1
  done
  tail -20 "$log" >&2
  die "switchyard not ready after 10 s (log: $log)"
}

stop_switchyard() { # SIGTERM, then the drain has 30 s before SIGKILL
  local quiet=${1:-} i rc
  [ -n "$SY_PID" ] || return 0
  kill -TERM "$SY_PID" 2>/dev/null || true
  for i in $(seq 1 300); do kill -0 "$SY_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SY_PID" 2>/dev/null; then
    kill -KILL "$SY_PID" 2>/dev/null || true
    [ -z "$quiet" ] && anomaly "switchyard did not exit within 30 s of SIGTERM (killed; log: $SY_LOG)"
  fi
  rc=0; wait "$SY_PID" 2>/dev/null || rc=$?
  [ -z "$quiet" ] && [ "$rc" != 0 ] && anomaly "switchyard exited with status $rc after SIGTERM (log: $SY_LOG)"
  SY_PID=""
}

smoke() { # through Switchyard: h2 and HTTP/1.1 reach origin A, x-dev: alice origin B, the passthrough origin A
  local v body p
  for v in --http2 --http1.1; do
    body=$(curl -sk "$v" --max-time 5 "https://127.0.0.1:$SY_PORT/" 2>&1) || true
    [ "${body:0:4}" = A123 ] || { tail -20 "$SY_LOG" >&2; die "request through switchyard ($v) did not reach origin A: '${body:0:120}' (log: $SY_LOG)"; }
  done
  for p in 19443 19444 $SY_PORT; do # the routing rule every proxy applies
    body=$(curl -sk --max-time 5 -H 'x-dev: alice' "https://127.0.0.1:$p/" 2>&1) || true
    [ "${body:0:4}" = B123 ] || die "the proxy on $p did not route x-dev: alice to origin B: '${body:0:120}'"
  done
  for p in $SY_TCP_PORT $HAPROXY_TCP_PORT; do
    body=$(curl -sk --max-time 5 "https://127.0.0.1:$p/" 2>&1) || true
    [ "${body:0:4}" = A123 ] || die "the passthrough on $p did not reach origin A: '${body:0:120}'"
  done
}

start_haproxy_tcp() { # HAProxy in mode tcp on CPU0: the anchor for the passthrough row
  cat >"$OUT/haproxy-tcp.cfg" <<CFG
global
  nbthread 1
  maxconn 9000
defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend fe_tcp
  bind 127.0.0.1:$HAPROXY_TCP_PORT
  default_backend be_tcp
backend be_tcp
  server a $ORIGIN_A
CFG
  listening "$HAPROXY_TCP_PORT" && die "port $HAPROXY_TCP_PORT is already in use; stop what holds it first"
  taskset -c 0 haproxy -f "$OUT/haproxy-tcp.cfg" >"$OUT/haproxy-tcp.log" 2>&1 &
  HAPROXY_TCP_PID=$!
  local i
  for i in $(seq 1 50); do listening "$HAPROXY_TCP_PORT" && return 0; sleep 0.1; done
  die "haproxy (mode tcp) did not listen on $HAPROXY_TCP_PORT (log: $OUT/haproxy-tcp.log)"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
mb() { echo "scale=1; $1 / 1024" | bc; }

# ---------------------------------------------------------------- CPU per request
expected_requests() { case $1 in h2|h1) echo 200000 ;; hs) echo 4000 ;; esac; }
h2load_args() { case $1 in h2) echo "-n 200000 -c 16 -m 8" ;; h1) echo "--h1 -n 200000 -c 64" ;; hs) echo "--h1 -n 4000 -c 4000 -r 800" ;; esac; }
cpu0_busy_ticks() { awk '$1 == "cpu0" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

declare -A US RPS OTHER
measure_one() { # measure_one NAME PORT PID KIND REP
  local name=$1 port=$2 pid=$3 kind=$4 rep=$5 line b0 b1 done_ us cpu rps other want tick
  tick=$(getconf CLK_TCK)
  want=$(expected_requests "$kind")
  b0=$(cpu0_busy_ticks)
  line=$(anchors measure "$name" "$port" "$pid" "$kind" 2>&1) || line="$line (anchors.sh measure exited $?)"
  b1=$(cpu0_busy_ticks)
  done_=$(sed -n 's/.* done=\([0-9]*\).*/\1/p' <<<"$line")
  us=$(sed -n 's/.* us_per_req=\([0-9.]*\).*/\1/p' <<<"$line")
  cpu=$(sed -n 's/.* proxy_cpu_s=\([0-9.]*\).*/\1/p' <<<"$line")
  rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
  # CPU0 time used by anything other than the proxy during the run (other sessions, kernel work for others)
  other=$(echo "scale=2; ($b1 - $b0) / $tick - ${cpu:-0}" | bc)
  echo "$line cpu0_other_s=$other" >>"$OUT/measure.txt"
  say "$line cpu0_other_s=$other"
  US[$name,$kind,$rep]=${us:-NA}; RPS[$name,$kind,$rep]=${rps:-NA}; OTHER[$name,$kind,$rep]=$other
  if [ "${done_:-0}" != "$want" ] || [ -z "$us" ]; then
    local ev="$OUT/evidence-$name-$kind-$rep.txt"
    {
      echo "anchors.sh measure: $line"
      echo "--- re-run of the same h2load command for its full output:"
      # shellcheck disable=SC2046
      taskset -c 1 h2load $(h2load_args "$kind") -t 1 -H 'x-dev: alice' "https://127.0.0.1:$port/" 2>&1 || true
      if [ "$name" = switchyard ]; then
        echo "--- switchyard log, last 40 lines:"; tail -40 "$SY_LOG"
        echo "--- switchyard /metrics:"; curl -s --max-time 2 "http://127.0.0.1:$SY_ADMIN/metrics" || echo "(admin not answering)"
      fi
    } >"$ev" 2>&1
    if [ "$name" = switchyard ]; then
      anomaly "$name $kind run $rep: ${done_:-no} of $want requests succeeded (evidence: $ev)"
    else
      say "warning: $name $kind run $rep: ${done_:-no} of $want requests succeeded (evidence: $ev)"
    fi
  fi
}

check_alive() { # Switchyard must survive every run
  if ! kill -0 "$SY_PID" 2>/dev/null; then
    local rc=0; wait "$SY_PID" 2>/dev/null || rc=$?
    anomaly "switchyard died (status $rc) during $1; log tail in $OUT/crash-$1.txt"
    tail -60 "$SY_LOG" >"$OUT/crash-$1.txt"
    SY_PID=""
    start_switchyard "$OUT/agent-after-crash.log"
  fi
}

# ---------------------------------------------------------------- per-connection rows (EXTRA)
proc_ticks() { local f; read -r -a f <"/proc/$1/stat"; echo $((f[13] + f[14])); }

measure_tcp() { # measure_tcp NAME PORT PID REP: h1 keep-alive through a passthrough, proxy CPU µs per request
  local line
  line=$(anchors measure "$1" "$2" "$3" h1 2>&1) || true
  echo "tcp $line" >>"$OUT/measure.txt"; say "tcp $line"
  US[$1,tcp,$4]=$(sed -n 's/.* us_per_req=\([0-9.]*\).*/\1/p' <<<"$line"); US[$1,tcp,$4]=${US[$1,tcp,$4]:-NA}
}

measure_bulk() { # measure_bulk NAME PORT PID REP: 2,000 x 1 MiB responses over 8 keep-alive connections
  local name=$1 port=$2 pid=$3 rep=$4 tick a b out done_ cpu
  tick=$(getconf CLK_TCK)
  a=$(proc_ticks "$pid")
  out=$(taskset -c 1 h2load --h1 -n 2000 -c 8 -t 1 "https://127.0.0.1:$port/1m.bin" 2>&1) || true
  b=$(proc_ticks "$pid")
  done_=$(awk '/^requests:/ { print $8 }' <<<"$out"); cpu=$(echo "scale=3; ($b - $a) / $tick" | bc)
  # payload GB (10^9 bytes) moved per second of proxy CPU; higher is better
  US[$name,bulk,$rep]=$( [ "${done_:-0}" = 2000 ] && echo "scale=2; 2000 * 1048576 / 1000000000 / $cpu" | bc || echo NA)
  echo "bulk $name done=$done_ proxy_cpu_s=$cpu gb_per_cpu_s=${US[$name,bulk,$rep]}" | tee -a "$OUT/measure.txt" >&2
  [ "$name" = switchyard ] && [ "${done_:-0}" != 2000 ] && anomaly "switchyard bulk run $rep: ${done_:-no} of 2000 responses"
  return 0
}

measure_c1() { # measure_c1 NAME PORT REP: one keep-alive HTTP/1.1 client (wrk -c1, 10 s): mean, p50, p99 in µs
  local name=$1 port=$2 rep=$3 out
  out=$(taskset -c 1 wrk -t1 -c1 -d10s --latency -H 'x-dev: alice' "https://127.0.0.1:$port/" 2>&1) || true
  echo "$out" >>"$OUT/wrk-c1.txt"
  to_us() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 } else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000000 } else print "NA" }'; }
  US[$name,c1mean,$rep]=$(to_us "$(awk '$1 == "Latency" { print $2; exit }' <<<"$out")")
  US[$name,c1p50,$rep]=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  US[$name,c1p99,$rep]=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  say "c1 $name: mean ${US[$name,c1mean,$rep]} µs, p50 ${US[$name,c1p50,$rep]} µs, p99 ${US[$name,c1p99,$rep]} µs"
}

med() { # med PROXY KIND: the median over the repeats
  local r; for r in $(seq 1 "$REPEAT"); do echo -n "${US[$1,$2,$r]:-NA} "; done | median
}

chart() { # chart: one bar per ratio (Switchyard / anchor, lower is better) with its goal, as a PNG
  local data="$OUT/ratios.dat"
  : >"$data"
  row() { [ "$2" != NA ] && [ -n "$2" ] && printf '"%s" %s %s\n' "$1" "$2" "$3" >>"$data"; return 0; }
  row "h2 CPU/req vs HAProxy" "$(ratio "$(med switchyard h2)" "$(med haproxy h2)")" 0.5
  row "h1 CPU/req vs nginx" "$(ratio "$(med switchyard h1)" "$(med nginx h1)")" 0.8
  row "new TLS conn CPU vs nginx" "$(ratio "$(med switchyard hs)" "$(med nginx hs)")" 1.0
  row "c1 mean vs nginx" "$(ratio "$(med switchyard c1mean)" "$(med nginx c1mean)")" 1.0
  row "c1 p99 vs nginx" "$(ratio "$(med switchyard c1p99)" "$(med nginx c1p99)")" 1.0
  row "passthrough CPU/req vs HAProxy tcp" "$(ratio "$(med switchyard tcp)" "$(med haproxy tcp)")" 1.0
  row "bulk CPU/GB vs nginx" "$(ratio "$(med nginx bulk)" "$(med switchyard bulk)")" 1.0
  if [ -n "${IDLE[switchyard]:-}" ] && [ -n "${IDLE[nginx]:-}" ]; then
    local s0 s1 n0 n1 x so no
    read -r s0 s1 x x so x <<<"${IDLE[switchyard]}"; read -r n0 n1 x x no x <<<"${IDLE[nginx]}"
    row "idle TLS conn memory vs nginx" "$(echo "scale=2; (($s1 - $s0) / $so) / (($n1 - $n0) / $no)" | bc | sed 's/^\./0./')" 1.5
  fi
  [ -s "$data" ] || return 0
  local ymax
  ymax=$(awk '{ for (i = NF - 1; i <= NF; i++) if ($i + 0 > m) m = $i + 0 } END { printf "%.2f", m * 1.15 }' "$data")
  gnuplot <<GP 2>"$OUT/gnuplot.err" || { say "gnuplot failed (see $OUT/gnuplot.err)"; return 0; }
set terminal pngcairo size 1000,520 noenhanced font ",10"
set output "$OUT/ratios.png"
set title "Switchyard / anchor, same run (lower is better; x = goal) - $(date -u '+%Y-%m-%d %H:%M UTC')"
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.6
set yrange [0:$ymax]
set xtics rotate by -25 nomirror
set grid ytics
unset key
plot "$data" using 2:xtic(1) lc rgb "#3b78b0", "" using (\$0):3 with points pt 2 ps 2 lc rgb "#c0392b", 1 with lines dt 2 lc rgb "#555555"
GP
  say "chart: $OUT/ratios.png"
  [ -n "$CHART" ] && cp "$OUT/ratios.png" "$CHART" && say "chart copied to $CHART"
  return 0
}

median() { # median of the numbers on stdin (NA entries ignored)
  tr ' ' '\n' | awk '$1 ~ /^[0-9.]+$/ { print $1 }' | sort -g |
    awk '{ a[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { if [ "$1" = NA ] || [ "$2" = NA ]; then echo NA; else echo "scale=2; $1 / $2" | bc | sed 's/^\./0./'; fi; }

# ---------------------------------------------------------------- idle TLS connections
declare -A IDLE
idle_test() { # idle_test NAME PORT PID
  local name=$1 port=$2 pid=$3 out="$OUT/idle-$1.out" err="$OUT/idle-$1.err" i rss0 rss1 rss2 fds1 ready alive
  rss0=$(rss_kb "$pid")
  : >"$out"
  taskset -c 1 python3 "$HERE/idle-conns.py" --port "$port" --count "$IDLE_CONNS" >"$out" 2>"$err" &
  IDLE_PID=$!
  for i in $(seq 1 600); do
    grep -q '^READY' "$out" && break
    kill -0 "$IDLE_PID" 2>/dev/null || { cat "$err" >&2; die "idle-conns.py against $name exited early (stderr: $err)"; }
    sleep 0.5
  done
  ready=$(grep '^READY' "$out") || die "idle-conns.py against $name: no READY after 300 s"
  sleep 2
  rss1=$(rss_kb "$pid"); fds1=$(ls "/proc/$pid/fd" | wc -l)
  kill -USR1 "$IDLE_PID"
  for i in $(seq 1 50); do grep -q '^ALIVE' "$out" && break; sleep 0.2; done
  alive=$(grep '^ALIVE' "$out" | tail -1) || alive="ALIVE n=? closed=?"
  kill -TERM "$IDLE_PID"; wait "$IDLE_PID" 2>/dev/null || true; IDLE_PID=""
  sleep 3
  rss2=$(rss_kb "$pid")
  local opened=${ready#*opened=}; opened=${opened%% *}
  local n=${alive#*n=}; n=${n%% *}
  IDLE[$name]="$rss0 $rss1 $rss2 $fds1 $opened $n"
  say "$name idle: $ready; $alive; VmRSS ${rss0} kB -> ${rss1} kB with the connections -> ${rss2} kB after they closed; ${fds1} fds"
  if [ "$name" = switchyard ] && { [ "$opened" != "$IDLE_CONNS" ] || [ "$n" != "$IDLE_CONNS" ]; }; then
    anomaly "switchyard held $n of $IDLE_CONNS idle connections ($ready; $alive; client stderr: $err)"
  fi
}

# ---------------------------------------------------------------- main
main() {
  mkdir -p "$OUT"
  rm -f "$OUT"/measure.txt "$OUT"/wrk-c1.txt "$OUT"/ratios.* "$OUT"/evidence-* "$OUT"/crash-* "$OUT"/agent*.log "$OUT"/idle-*
  prerequisites
  binary
  raise_nofile
  {
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine: nproc=$(nproc), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r), $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)"
    echo "switchyard: $("$BIN" version), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" status --porcelain -- src 2>/dev/null | grep -q . && echo ' (src has uncommitted changes)'), binary built $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC')"
    echo "nginx: $(nginx -v 2>&1 | sed 's/.*version: //'); haproxy: $(haproxy -v 2>&1 | head -1 | awk '{ print $3 }'); h2load: $(h2load --version 2>&1 | head -1 | awk '{ print $NF }'); openssl: $(openssl version | awk '{ print $2 }')"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$OUT/env.txt"
  cat "$OUT/env.txt" >&2

  say "anchors up (nginx origin on CPU1; nginx and HAProxy proxies on CPU0)"
  ANCHORS_UP=1
  anchors up >"$OUT/anchors-up.txt" 2>&1 || { cat "$OUT/anchors-up.txt" >&2; die "anchors.sh up failed"; }
  start_haproxy_tcp
  write_config

  # 1. startup to ready (exec -> GET /readyz 200), a fresh process each run
  say "startup-to-ready, $STARTUP_RUNS runs"
  for p in $SY_PORT $SY_ADMIN; do listening "$p" && die "port $p is already in use (a Switchyard left running?); stop it first"; done
  python3 "$HERE/startup.py" --bin "$BIN" --config "$CFG" --admin "127.0.0.1:$SY_ADMIN" --runs "$STARTUP_RUNS" \
    --log "$OUT/agent-startup.log" >"$OUT/startup.txt" 2>&1 || { cat "$OUT/startup.txt" >&2; die "startup measurement failed"; }
  STARTUP=$(grep '^STARTUP' "$OUT/startup.txt")
  say "$STARTUP"

  # 2. idle RSS, then CPU per request
  start_switchyard "$OUT/agent.log"
  sleep 1
  RSS_IDLE=$(rss_kb "$SY_PID")
  smoke
  local nginx_pid haproxy_pid rep kind
  nginx_pid=$(anchors pid nginxp); haproxy_pid=$(cat "$BENCH_DIR/run/haproxy.pid")
  [ -n "$nginx_pid" ] && [ -n "$haproxy_pid" ] || die "could not find the nginx worker / HAProxy pids"
  say "CPU per request: workloads '$WORKLOADS', $REPEAT runs each, proxies interleaved"
  for rep in $(seq 1 "$REPEAT"); do
    for kind in $WORKLOADS; do
      measure_one nginx 19443 "$nginx_pid" "$kind" "$rep"
      measure_one haproxy 19444 "$haproxy_pid" "$kind" "$rep"
      measure_one switchyard "$SY_PORT" "$SY_PID" "$kind" "$rep"
      check_alive "$kind-$rep"
    done
    for kind in $EXTRA; do
      case $kind in
        tcp) measure_tcp haproxy "$HAPROXY_TCP_PORT" "$HAPROXY_TCP_PID" "$rep"; measure_tcp switchyard "$SY_TCP_PORT" "$SY_PID" "$rep" ;;
        bulk) measure_bulk nginx 19443 "$nginx_pid" "$rep"; measure_bulk switchyard "$SY_PORT" "$SY_PID" "$rep" ;;
        c1) measure_c1 nginx 19443 "$rep"; measure_c1 haproxy 19444 "$rep"; measure_c1 switchyard "$SY_PORT" "$rep" ;;
        *) die "EXTRA: unknown row '$kind' (c1, tcp, bulk)" ;;
      esac
      check_alive "$kind-$rep"
    done
  done
  RSS_AFTER_LOAD=$(rss_kb "$SY_PID"); HWM_LOAD=$(hwm_kb "$SY_PID")
  curl -s --max-time 2 "http://127.0.0.1:$SY_ADMIN/metrics" >"$OUT/metrics-after-load.txt" || true
  stop_switchyard

  # 3. idle TLS connections, each proxy fresh
  say "holding $IDLE_CONNS idle TLS connections (fresh anchors and a fresh Switchyard)"
  anchors up >"$OUT/anchors-up2.txt" 2>&1 || { cat "$OUT/anchors-up2.txt" >&2; die "anchors.sh up (second time) failed"; }
  start_switchyard "$OUT/agent-idle.log"
  sleep 1
  idle_test switchyard "$SY_PORT" "$SY_PID"
  curl -s --max-time 2 "http://127.0.0.1:$SY_ADMIN/metrics" >"$OUT/metrics-after-idle.txt" || true
  if [ "$IDLE_ANCHORS" = 1 ]; then
    idle_test haproxy 19444 "$(cat "$BENCH_DIR/run/haproxy.pid")"
    idle_test nginx 19443 "$(anchors pid nginxp)"
  fi
  stop_switchyard

  # 4. report
  local size warns ends tlsfail
  size=$(stat -c %s "$BIN")
  warns=$(cat "$OUT"/agent*.log 2>/dev/null | grep -c '"LogLevel":"\(Warning\|Error\|Critical\)"' || true)
  # Why connections ended, summed over the load and idle instances (an internal error is logged at Information
  # level, so the warning count alone would miss it).
  ends=$(cat "$OUT"/metrics-after-*.txt 2>/dev/null | sed -n 's/^switchyard_connection_ends_total{.*reason="\([^"]*\)"} \([0-9]*\)$/\1 \2/p' |
    awk '{ n[$1] += $2 } END { for (r in n) if (n[r] > 0) printf "%s%s=%d", (k++ ? ", " : ""), r, n[r] }' || true)
  tlsfail=$(cat "$OUT"/metrics-after-*.txt 2>/dev/null | awk '/^switchyard_tls_handshake_failures_total/ { n += $NF } END { print n + 0 }' || true)
  if grep -qE '(^|, )(error|drain_timeout|app_unreachable|upstream_tls_failed|downstream_tls_failed)=' <<<"$ends"; then anomaly "switchyard connections ended abnormally: $ends (logs: $OUT/agent.log, $OUT/agent-idle.log)"; fi
  [ "$tlsfail" = 0 ] || anomaly "switchyard counted $tlsfail TLS handshake failures (metrics: $OUT/metrics-after-*.txt)"
  {
    echo "## Proxy CPU per request (µs, median of $REPEAT; lower is better)"
    echo
    echo "| workload | nginx | HAProxy | Switchyard | Switchyard/nginx | Switchyard/HAProxy |"
    echo "|---|---:|---:|---:|---:|---:|"
    for kind in $WORKLOADS; do
      local n h s
      n=$(for r in $(seq 1 "$REPEAT"); do echo -n "${US[nginx,$kind,$r]} "; done | median)
      h=$(for r in $(seq 1 "$REPEAT"); do echo -n "${US[haproxy,$kind,$r]} "; done | median)
      s=$(for r in $(seq 1 "$REPEAT"); do echo -n "${US[switchyard,$kind,$r]} "; done | median)
      echo "| $kind | $n | $h | $s | $(ratio "$s" "$n") | $(ratio "$s" "$h") |"
    done
    echo
    echo "Every run (µs/request, client-side requests/s, CPU0 seconds used by other processes during the run):"
    echo
    echo "| workload | proxy | µs/req per run | req/s per run | CPU0 other s |"
    echo "|---|---|---|---|---|"
    for kind in $WORKLOADS; do
      for p in nginx haproxy switchyard; do
        local u="" q="" o=""
        for r in $(seq 1 "$REPEAT"); do u+="${US[$p,$kind,$r]} "; q+="${RPS[$p,$kind,$r]} "; o+="${OTHER[$p,$kind,$r]} "; done
        echo "| $kind | $p | ${u% } | ${q% } | ${o% } |"
      done
    done
    if [ -n "$EXTRA" ]; then
      echo
      echo "## Per-connection rows (median of $REPEAT, same run)"
      echo
      echo "| row | nginx | HAProxy | Switchyard | Switchyard ÷ anchor | goal |"
      echo "|---|---:|---:|---:|---:|---|"
      case " $EXTRA " in *" c1 "*)
        echo "| one keep-alive client (wrk -c1), mean µs | $(med nginx c1mean) | $(med haproxy c1mean) | $(med switchyard c1mean) | $(ratio "$(med switchyard c1mean)" "$(med nginx c1mean)") (nginx) | <= 1.0 |"
        echo "| one keep-alive client, p50 µs | $(med nginx c1p50) | $(med haproxy c1p50) | $(med switchyard c1p50) | $(ratio "$(med switchyard c1p50)" "$(med nginx c1p50)") (nginx) | - |"
        echo "| one keep-alive client, p99 µs | $(med nginx c1p99) | $(med haproxy c1p99) | $(med switchyard c1p99) | $(ratio "$(med switchyard c1p99)" "$(med nginx c1p99)") (nginx) | <= 1.0 |" ;;
      esac
      case " $EXTRA " in *" tcp "*)
        echo "| passthrough, h1 keep-alive through the relay, CPU µs/request | - | $(med haproxy tcp) (mode tcp) | $(med switchyard tcp) | $(ratio "$(med switchyard tcp)" "$(med haproxy tcp)") (HAProxy) | - |" ;;
      esac
      case " $EXTRA " in *" bulk "*)
        echo "| bulk 1 MiB responses, payload GB per proxy CPU s (higher is better) | $(med nginx bulk) | - | $(med switchyard bulk) | $(ratio "$(med nginx bulk)" "$(med switchyard bulk)") (nginx, CPU per byte) | - |" ;;
      esac
      echo
      echo "Raw lines: \`$OUT/measure.txt\`, \`$OUT/wrk-c1.txt\`."
    fi
    echo
    echo "## Switchyard footprint"
    echo
    echo "| figure | value |"
    echo "|---|---:|"
    echo "| startup to ready (exec -> /readyz 200), median of $STARTUP_RUNS | $(sed 's/.*median_ms=\([0-9.]*\).*/\1/' <<<"$STARTUP") ms (min $(sed 's/.*min_ms=\([0-9.]*\).*/\1/' <<<"$STARTUP"), max $(sed 's/.*max_ms=\([0-9.]*\).*/\1/' <<<"$STARTUP")) |"
    echo "| RSS idle, after ready | $(mb "$RSS_IDLE") MiB |"
    echo "| RSS after the load runs / peak (VmHWM) | $(mb "$RSS_AFTER_LOAD") / $(mb "$HWM_LOAD") MiB |"
    echo "| binary size ($(basename "$BIN"), stripped) | $(echo "scale=2; $size / 1048576" | bc) MiB ($size bytes) |"
    echo "| warnings/errors in the agent logs | $warns |"
    echo "| connection ends by reason (load + idle instances) | ${ends:-none} |"
    echo "| TLS handshake failures (/metrics) | $tlsfail |"
    echo
    echo "## $IDLE_CONNS idle TLS connections (handshake done, then silent)"
    echo
    echo "| proxy | RSS before | RSS holding them | per connection | RSS after they closed | open fds | held / opened |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for p in switchyard haproxy nginx; do
      [ -n "${IDLE[$p]:-}" ] || continue
      local r0 r1 r2 f op al
      read -r r0 r1 r2 f op al <<<"${IDLE[$p]}"
      echo "| $p | $(mb "$r0") MiB | $(mb "$r1") MiB | $(echo "scale=1; ($r1 - $r0) / ${op:-1}" | bc) KiB | $(mb "$r2") MiB | $f | $al / $op |"
    done
    echo
    echo "(nginx: the worker process; HAProxy: its single process; Switchyard: the agent process.)"
  } >"$OUT/summary.md"
  chart
  cat "$OUT/env.txt"
  echo
  cat "$OUT/summary.md"
  echo
  echo "logs and raw output: $OUT"
  if [ "${#ANOMALIES[@]}" -gt 0 ]; then
    echo
    echo "ANOMALIES (Switchyard misbehaved):"
    printf '  - %s\n' "${ANOMALIES[@]}"
    exit 1
  fi
}

main "$@"
