#!/usr/bin/env bash
# Slow clients against the published agent: slowhttptest's slowloris (-H), slow body (-B) and slow read (-X) modes,
# SLOW_CONNECTIONS connections for SLOW_SECONDS each, over TLS (and plaintext HTTP/1.1 unless SLOW_PLAIN=0), then a
# bounded wait until the agent's fds and active connections are back at the baseline taken before the run.
#   make slowhttp [SLOW_CONNECTIONS=500] [SLOW_SECONDS=45]     (installs slowhttptest + nginx, publishes, runs this)
# Installs nothing itself. Everything listens on 127.0.0.1 only. Exit 0 only if every mode returned to baseline
# within the longest configured timeout + SLOW_MARGIN seconds of slowhttptest's exit. See perf/README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SWITCHYARD_BIN:-$ROOT/artifacts/switchyard/switchyard}
CONNS=${SLOW_CONNECTIONS:-500}
SECONDS_PER_MODE=${SLOW_SECONDS:-45}
MODES=${SLOW_MODES:-"slowloris slow-body slow-read"}
SCHEMES=${SLOW_SCHEMES:-"https"}; [ "${SLOW_PLAIN:-1}" = 1 ] && SCHEMES="$SCHEMES http"
RATE=${SLOW_RATE:-100}          # new connections per second (slowhttptest -r)
INTERVAL=${SLOW_INTERVAL:-5}    # seconds between a slow client's follow-up bytes (-i); below streamIdleTimeout on purpose
MARGIN=${SLOW_MARGIN:-20}       # seconds beyond the longest timeout allowed to get back to baseline
FD_TOLERANCE=${SLOW_FD_TOLERANCE:-4}
# The agent's limits (ports[].limits), short so that a run takes minutes, not hours.
TLS_HS=${SLOW_TLS_HANDSHAKE_TIMEOUT:-5} HEAD=${SLOW_REQUEST_HEAD_TIMEOUT:-5} IDLE=${SLOW_IDLE_TIMEOUT:-10}
STREAM_IDLE=${SLOW_STREAM_IDLE_TIMEOUT:-10} WRITE_STALL=${SLOW_WRITE_STALL_TIMEOUT:-10}
# appResponseTimeout: none by default (the SPEC's default). Its clock starts once the app has the whole request.
APP_RESPONSE=${SLOW_APP_RESPONSE_TIMEOUT:-}
LONGEST=$(printf '%s\n' "$TLS_HS" "$HEAD" "$IDLE" "$STREAM_IDLE" "$WRITE_STALL" $APP_RESPONSE | sort -n | tail -1)
# Idle pooled connections to the app are kept up to the pool's 60 s idle timeout (swept every 5 s): fds count them.
POOL_IDLE=65
[ "$LONGEST" -lt "$POOL_IDLE" ] && LONGEST=$POOL_IDLE
DEADLINE=$((LONGEST + MARGIN))
BASE=${SLOW_PORT_BASE:-18680}   # app TLS, app plain, agent TLS, agent plain, admin, app backend = BASE..BASE+5
O_TLS=$BASE O_PLAIN=$((BASE + 1)) A_TLS=$((BASE + 2)) A_PLAIN=$((BASE + 3)) ADMIN=$((BASE + 4)) O_BACK=$((BASE + 5))

for t in slowhttptest nginx openssl curl ss; do command -v "$t" >/dev/null || { echo "missing $t (make slowhttp installs it)" >&2; exit 1; }; done
[ -x "$BIN" ] || { echo "no agent binary at $BIN (run make publish)" >&2; exit 1; }
for p in $O_TLS $O_PLAIN $A_TLS $A_PLAIN $ADMIN $O_BACK; do
  ss -Htln "sport = :$p" | grep -q . && { echo "port $p is in use (set SLOW_PORT_BASE)" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

DIR=${SLOW_DIR:-$(mktemp -d /tmp/switchyard-slowhttp-XXXXXX)}; mkdir -p "$DIR"
SY_PID="" NGX_PID="" SAMPLER_PID="" FAILED=0
cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
  [ -n "$SY_PID" ] && kill -TERM "$SY_PID" 2>/dev/null && wait "$SY_PID" 2>/dev/null
  [ -n "$NGX_PID" ] && kill -QUIT "$NGX_PID" 2>/dev/null
  echo "work directory (agent.log, slowhttptest output, samples, ss snapshots): $DIR"
}
trap cleanup EXIT

# --- certificate, origin, agent -------------------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null
head -c 1048576 /dev/urandom >"$DIR/big.bin"
mkdir -p "$DIR/nginx"
# The app: nginx, TLS (the agent re-encrypts) and plaintext; small answer on /, a 1 MiB file for the slow readers.
# / goes through nginx's request buffering to a tiny backend answering `200 ok`: like most apps, the app answers only
# after the whole request body arrived, so a slow body holds an app connection (client_body_timeout 300 s). Keep-alive
# 300 s, like an app that never closes idle connections, so pooled app connections stay pooled.
cat >"$DIR/origin.conf" <<CONF
worker_processes 1; daemon off; master_process on; pid $DIR/nginx/nginx.pid; error_log $DIR/nginx/error.log warn;
events { worker_connections 8192; }
http { access_log off; keepalive_timeout 300s; keepalive_requests 1000000; client_max_body_size 100m;
  client_body_timeout 300s; send_timeout 300s; client_body_temp_path $DIR/nginx/body;
  proxy_temp_path $DIR/nginx/proxy; fastcgi_temp_path $DIR/nginx/fcgi; uwsgi_temp_path $DIR/nginx/uwsgi; scgi_temp_path $DIR/nginx/scgi;
  upstream back { server 127.0.0.1:$O_BACK; keepalive 32; }
  server { listen 127.0.0.1:$O_TLS ssl backlog=4096; ssl_certificate $DIR/tls.crt; ssl_certificate_key $DIR/tls.key;
    location / { proxy_pass http://back; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location = /big.bin { root $DIR; } }
  server { listen 127.0.0.1:$O_PLAIN backlog=4096;
    location / { proxy_pass http://back; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location = /big.bin { root $DIR; } }
  server { listen 127.0.0.1:$O_BACK; location / { return 200 "ok\n"; } } }
CONF
nginx -c "$DIR/origin.conf" -p "$DIR/nginx" >"$DIR/nginx/out.log" 2>&1 &
NGX_PID=$!

LIMITS="\"limits\": { \"tlsHandshakeTimeout\": \"${TLS_HS}s\", \"requestHeadTimeout\": \"${HEAD}s\", \"idleTimeout\": \"${IDLE}s\",
    \"streamIdleTimeout\": \"${STREAM_IDLE}s\", \"writeStallTimeout\": \"${WRITE_STALL}s\"${APP_RESPONSE:+, \"appResponseTimeout\": \"${APP_RESPONSE}s\"} }"
cat >"$DIR/config.json" <<CONF
{ "version": 1, "admin": { "listen": "127.0.0.1:$ADMIN" },
  "ports": [
    { "name": "tls", "listen": "127.0.0.1:$A_TLS", "app": "127.0.0.1:$O_TLS", "inspect": "always",
      "downstreamTls": { "certPem": "$DIR/tls.crt", "keyPem": "$DIR/tls.key", "alpn": ["http/1.1"] },
      "upstreamTls": { "insecureSkipVerify": true },
      $LIMITS },
    { "name": "plain", "listen": "127.0.0.1:$A_PLAIN", "app": "127.0.0.1:$O_PLAIN", "tls": "off", "http": "http1", "inspect": "always",
      $LIMITS } ] }
CONF
"$BIN" agent --config "$DIR/config.json" >"$DIR/agent.log" 2>&1 &
SY_PID=$!
for i in $(seq 1 100); do curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN/readyz" 2>/dev/null | grep -q 200 && break; sleep 0.2; done
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN/readyz" | grep -q 200 || { echo "agent not ready" >&2; tail -20 "$DIR/agent.log" >&2; exit 1; }
for u in "https://127.0.0.1:$A_TLS/" "http://127.0.0.1:$A_PLAIN/"; do
  [ "$(curl -sk --max-time 5 "$u")" = ok ] || { echo "$u: the app does not answer through the agent" >&2; exit 1; }
done

# --- measurements ---------------------------------------------------------------------------------------------------
metrics() { curl -s --max-time 5 "http://127.0.0.1:$ADMIN/metrics"; }
fds() { ls "/proc/$SY_PID/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$SY_PID/status"; }
active() { metrics | awk -v p="port=\"$1\"" 'index($0, "switchyard_connections_active{" p "}") == 1 {print $2; f=1} END {if (!f) print "?"}'; }
# "reason=n ..." of a labeled counter family for one port
counters() { metrics | awk -v fam="$1" -v p="port=\"$2\"" 'index($0, fam "{") == 1 && index($0, p) {
  match($0, /reason="[^"]*"/); print substr($0, RSTART + 8, RLENGTH - 9), $2 }' | sort; }
# delta of two "reason n" lists, only non-zero
delta() { join -a2 -e0 -o 0,1.2,2.2 <(echo "$1") <(echo "$2") 2>/dev/null | awk '$3 - $2 > 0 {printf "%s%s=%d", s, $1, $3 - $2; s=" "}'; }
sockets() { # the agent's TCP sockets on a port (downstream) or to the app (upstream), by state
  ss -Htanp "$1" 2>/dev/null | grep "pid=$SY_PID," | awk '{print $1}' | sort | uniq -c | awk '{printf "%s%s=%s", s, $2, $1; s=" "}'; }

app_sockets() { ss -Htanp "dport = :$O_TLS or dport = :$O_PLAIN" 2>/dev/null | grep -c "pid=$SY_PID," || true; }

sample() { # background: t fds active rss_kb, once a second
  local port=$1 out=$2 t0; t0=$(date +%s.%N)
  while kill -0 "$SY_PID" 2>/dev/null; do
    echo "$(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.1f') $(fds) $(active "$port") $(rss_kb)" >>"$out"; sleep 1
  done
}

flags() {
  case $1 in
    slowloris) echo "-H -i $INTERVAL -x 24 -s 8192" ;;
    slow-body) echo "-B -i $INTERVAL -x 24 -s 1048576" ;;
    slow-read) echo "-X -k 3 -n 1 -w 1 -y 64 -z 32" ;;
  esac
}

declare -a ROWS
run_mode() { # run_mode MODE SCHEME
  local mode=$1 scheme=$2 port name url tag
  if [ "$scheme" = https ]; then port=$A_TLS name=tls; else port=$A_PLAIN name=plain; fi
  url="$scheme://127.0.0.1:$port/"; [ "$mode" = slow-read ] && url="${url}big.bin"
  tag="$name-$mode"
  sleep 2
  local b_fds b_act b_rss b_ends b_tmo b_app
  b_app=$(app_sockets) b_fds=$(fds) b_act=$(active "$name") b_rss=$(rss_kb) b_ends=$(counters switchyard_connection_ends_total "$name") b_tmo=$(counters switchyard_timeouts_total "$name")
  echo "== $tag: slowhttptest $(flags "$mode") -c $CONNS -r $RATE -l $SECONDS_PER_MODE -u $url"
  echo "   baseline: fds $b_fds, active $b_act, RSS $((b_rss / 1024)) MiB"
  : >"$DIR/$tag.samples"
  sample "$name" "$DIR/$tag.samples" 2>/dev/null & SAMPLER_PID=$!
  local t0 t1 t2; t0=$(date +%s.%N)
  # shellcheck disable=SC2046
  timeout $((SECONDS_PER_MODE + 60)) slowhttptest $(flags "$mode") -c "$CONNS" -r "$RATE" -l "$SECONDS_PER_MODE" -p 3 -u "$url" \
    2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$DIR/$tag.slowhttptest.log" || true
  t1=$(date +%s.%N)
  ss -tanp "sport = :$port" >"$DIR/$tag.ss-at-exit.txt" 2>/dev/null || true
  local back="" now_fds now_act t_act=""
  while :; do
    now_fds=$(fds) now_act=$(active "$name")
    [ -z "$t_act" ] && [ "$now_act" = "$b_act" ] && t_act=$(date +%s.%N)
    if [ "$now_act" = "$b_act" ] && [ "$now_fds" -le $((b_fds + FD_TOLERANCE)) ]; then back=yes; break; fi
    [ "$(echo "$(date +%s.%N) - $t1 > $DEADLINE" | bc)" = 1 ] && break
    sleep 0.5
  done
  t2=$(date +%s.%N)
  kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
  local p_fds p_act p_rss a_rss ends tmo ran took status exit_line
  p_fds=$(awk 'BEGIN{m=0} $2>m{m=$2} END{print m}' "$DIR/$tag.samples")
  p_act=$(awk 'BEGIN{m=0} $3+0>m{m=$3+0} END{print m}' "$DIR/$tag.samples")
  p_rss=$(awk 'BEGIN{m=0} $4>m{m=$4} END{print m}' "$DIR/$tag.samples")
  a_rss=$(rss_kb)
  ends=$(delta "$b_ends" "$(counters switchyard_connection_ends_total "$name")")
  tmo=$(delta "$b_tmo" "$(counters switchyard_timeouts_total "$name")")
  ran=$(echo "$t1 - $t0" | bc | xargs printf '%.0f'); took=$(echo "$t2 - $t1" | bc | xargs printf '%.1f')
  exit_line=$(grep -aE 'Exit status|exit status' "$DIR/$tag.slowhttptest.log" | tail -1 | sed 's/.*status: *//' | tr -d '\r')
  local st_line; st_line=$(grep -aE 'pending|connected|closed|service available' "$DIR/$tag.slowhttptest.log" | tail -5 | tr -s ' \t' ' ' | tr '\n' ';')
  local act_took="never" now_app extra
  [ -n "$t_act" ] && act_took="$(echo "$t_act - $t1" | bc | xargs printf '%.1f') s"
  now_app=$(app_sockets); extra=$((now_fds - b_fds))
  # when the agent itself had brought active connections back to baseline (sampled once a second), if before the exit
  local closed_by; closed_by=$(awk -v b="$b_act" 'BEGIN{pk=0} $3+0>pk{pk=$3+0} pk>b && $3+0==b && !z {z=$1} END{print z}' "$DIR/$tag.samples")
  local by=""; [ -n "$closed_by" ] && [ "$(echo "$closed_by < $ran - 1" | bc)" = 1 ] && by="; the agent had closed them all ${closed_by} s after the start"
  if [ -n "$back" ]; then status="back in ${took} s after slowhttptest's exit${by}"; else status="NOT back after ${took} s (active back: ${act_took}${by}; +$extra fds, of which $((now_app - b_app)) sockets to the app)"; FAILED=1
    ss -tanp "sport = :$port" >"$DIR/$tag.ss-after.txt" 2>/dev/null || true
    ss -tanp "dport = :$O_TLS or dport = :$O_PLAIN" >"$DIR/$tag.ss-upstream-after.txt" 2>/dev/null || true
  fi
  echo "   slowhttptest ran ${ran} s (exit: ${exit_line:-?}); last status: ${st_line}"
  echo "   peak: fds $p_fds, active $p_act, RSS $((p_rss / 1024)) MiB"
  echo "   after: fds $now_fds, active $now_act, RSS $((a_rss / 1024)) MiB: $status (limit ${DEADLINE} s)"
  echo "   agent sockets now: downstream [$(sockets "sport = :$port")] upstream [$(sockets "dport = :$O_TLS or dport = :$O_PLAIN")]"
  echo "   ends: ${ends:-none}"
  echo "   timeouts: ${tmo:-none}"
  ROWS+=("| $name | $mode | $ran | $b_fds / $p_fds / $now_fds | $b_act / $p_act / $now_act | $((b_rss / 1024)) / $((p_rss / 1024)) / $((a_rss / 1024)) | $status | ${ends:-none} | ${tmo:-none} |")
}

echo "agent pid $SY_PID, limits: tlsHandshake ${TLS_HS}s requestHead ${HEAD}s idle ${IDLE}s streamIdle ${STREAM_IDLE}s writeStall ${WRITE_STALL}s appResponse ${APP_RESPONSE:-none}${APP_RESPONSE:+s}; back-to-baseline limit ${DEADLINE} s, fd tolerance +$FD_TOLERANCE"
for scheme in $SCHEMES; do
  for mode in $MODES; do run_mode "$mode" "$scheme"; done
done

echo
echo "| port | mode | slowhttptest s | fds base / peak / after | active base / peak / after | RSS MiB base / peak / after | back to baseline | ends (delta) | timeouts (delta) |"
echo "|---|---|---:|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
grep -qiE 'unhandled|fatal' "$DIR/agent.log" && { echo "agent.log has unhandled/fatal lines:"; grep -iE 'unhandled|fatal' "$DIR/agent.log" | head -5; FAILED=1; }
kill -0 "$SY_PID" 2>/dev/null || { echo "the agent died" >&2; FAILED=1; }
# SLOW_HOLD=N: keep the agent and the app running N more seconds for a look (ss, /metrics, /proc) before cleaning up.
[ "${SLOW_HOLD:-0}" -gt 0 ] && { echo "holding: agent pid $SY_PID, admin 127.0.0.1:$ADMIN, app nginx pid $NGX_PID, for ${SLOW_HOLD} s"; sleep "$SLOW_HOLD"; }
exit $FAILED
