#!/usr/bin/env bash
# Benchmark of powerwall-server against the simulator, on loopback only.
#
# Measures req/s and p50/p99 latency at 1, 16 and 64 connections for /aggregates, /soe, /csv and
# /vitals, the same for a minimal axum server returning a fixed body of the same size (the ratio
# is our throughput as a share of that server's), the server's peak RSS, and the gateway requests
# per minute the server sends with 1 and with 64 clients. Writes bench/last-result.md.
#
# Then the multi-gateway part: three simulators (Powerwall 2 over the local API, Powerwall 3 and a
# three-unit Powerwall 3 site over TEDAPI) behind one server, 1000 WebSocket clients on
# /ws/aggregate (server CPU and RSS, messages per client, fan-out lag, data age) and the gateway
# requests per minute per gateway.
#
# Knobs: BENCH_DURATION (seconds per wrk run, default 5), BENCH_GATEWAY_WINDOW (seconds of each
# gateway-load run, default 30), BENCH_WS_CLIENTS (default 1000), BENCH_WS_WINDOW (seconds,
# default 30), BENCH_ONLY=ws (skip the HTTP part). Installs wrk from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-5}
WINDOW=${BENCH_GATEWAY_WINDOW:-30}
ROUTES=(/aggregates /soe /csv /vitals)
CONNECTIONS=(1 16 64)
OUT=bench/last-result.md
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q wrk >/dev/null; else sudo apt-get install -y -q wrk >/dev/null; fi
fi

cargo build --release -q --bin powerwall-server --bin powerwall-simulator --example fixed_body \
    --example ws_load
BIN=target/release

# Waits (bounded) for a line matching $2 in file $1 and prints it.
wait_for_line() {
    for _ in $(seq 1 300); do
        if line=$(grep -m1 "$2" "$1" 2>/dev/null); then echo "$line"; return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2
    cat "$1" >&2
    return 1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts a simulator of topology $1, prints its host:port.
start_simulator() {
    local name=$1
    "$BIN/powerwall-simulator" --bind 127.0.0.1:0 --topology "$name" \
        >"$WORK/sim-$name.out" 2>"$WORK/sim-$name.err" &
    PIDS+=($!)
    local url
    url=$(wait_for_line "$WORK/sim-$name.out" "listening on" | awk '{print $NF}')
    url=${url#https://}
    echo "${url%/}"
}

# CPU seconds (user + system) used so far by process $1.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

{
    echo "# Bench result"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) cores"
} >"$OUT"

if [ "${BENCH_ONLY:-}" != ws ]; then
"$BIN/powerwall-simulator" --bind 127.0.0.1:0 >"$WORK/sim.out" 2>"$WORK/sim.err" &
PIDS+=($!)
SIM_URL=$(wait_for_line "$WORK/sim.out" "listening on" | awk '{print $NF}')
SIM_HOST=${SIM_URL#https://}
SIM_HOST=${SIM_HOST%/}

PORT=$(free_port)
PW_HOST=$SIM_HOST PW_PASSWORD=password PW_EMAIL=me@example.com PW_PORT=$PORT \
    PW_BIND_ADDRESS=127.0.0.1 PW_CACHE_FILE="$WORK/.powerwall" RUST_LOG=warn \
    "$BIN/powerwall-server" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
BASE=http://127.0.0.1:$PORT
for _ in $(seq 1 300); do
    if [ "$(curl -s "$BASE/aggregates" || true)" != "null" ] && curl -sf "$BASE/aggregates" >/dev/null; then break; fi
    sleep 0.1
done
[ "$(curl -s "$BASE/aggregates")" != "null" ] || { echo "server has no data" >&2; cat "$WORK/server.log" >&2; exit 1; }
for _ in $(seq 1 100); do [ "$(curl -s "$BASE/vitals")" != "null" ] && break; sleep 0.1; done

# wrk run → "req_per_s p50_ms p99_ms"
measure() {
    local url=$1 connections=$2 threads=2
    [ "$connections" -lt 2 ] && threads=1
    wrk -t"$threads" -c"$connections" -d"${DURATION}s" --latency "$url" >"$WORK/wrk.out" 2>&1
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx/ { bad = $NF }
        END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }
    ' "$WORK/wrk.out"
}

{
    echo
    echo "## One gateway: HTTP routes (wrk $DURATION s per run, local mode against the simulator)"
    echo
    echo "| route | conns | ours req/s | p50 ms | p99 ms | minimal req/s | ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
} >>"$OUT"

for route in "${ROUTES[@]}"; do
    size=$(curl -s "$BASE$route" | wc -c)
    "$BIN/examples/fixed_body" --bind 127.0.0.1:0 --size "$size" >"$WORK/fixed.out" 2>&1 &
    fixed_pid=$!
    PIDS+=("$fixed_pid")
    FIXED=$(wait_for_line "$WORK/fixed.out" "listening on" | awk '{print $NF}')
    for c in "${CONNECTIONS[@]}"; do
        read -r rps p50 p99 < <(measure "$BASE$route" "$c")
        read -r frps _ _ < <(measure "$FIXED$route" "$c")
        ratio=$(awk -v a="$rps" -v b="$frps" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }')
        echo "| $route ($size B) | $c | $rps | $p50 | $p99 | $frps | $ratio |" | tee -a "$OUT"
    done
    kill "$fixed_pid" 2>/dev/null || true
done

# Gateway load: upstream requests per minute with 1 and with 64 clients hammering /aggregates.
gateway_rate() {
    local connections=$1 threads=2
    [ "$connections" -lt 2 ] && threads=1
    curl -sk "https://$SIM_HOST/test/counter/reset" >/dev/null
    wrk -t"$threads" -c"$connections" -d"${WINDOW}s" "$BASE/aggregates" >/dev/null 2>&1
    total=$(curl -sk "https://$SIM_HOST/test/counter" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_total"])')
    awk -v n="$total" -v w="$WINDOW" 'BEGIN { printf "%.1f", n * 60 / w }'
}
one=$(gateway_rate 1)
many=$(gateway_rate 64)
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")
{
    echo
    echo "Gateway requests per minute: $one with 1 client, $many with 64 clients ($WINDOW s windows)."
    echo
    echo "Server peak RSS: $((rss / 1024)) MiB ($rss KiB)."
} | tee -a "$OUT"
kill "$SERVER_PID" 2>/dev/null || true
fi

# --- Three gateways, WebSocket fan-out -------------------------------------------------------
WS_CLIENTS=${BENCH_WS_CLIENTS:-1000}
WS_WINDOW=${BENCH_WS_WINDOW:-30}
# Each client is a socket on both sides of loopback.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
HOME_SIM=$(start_simulator pw2)
CABIN_SIM=$(start_simulator pw3)
BARN_SIM=$(start_simulator pw3-multi)
GATEWAYS="[{\"id\":\"home\",\"host\":\"$HOME_SIM\",\"password\":\"password\"},\
{\"id\":\"cabin\",\"host\":\"$CABIN_SIM\",\"gw_pwd\":\"ABCDEFGHIJ\"},\
{\"id\":\"barn\",\"host\":\"$BARN_SIM\",\"gw_pwd\":\"ABCDEFGHIJ\"}]"
PORT=$(free_port)
PW_GATEWAYS=$GATEWAYS PW_EMAIL=me@example.com PW_PORT=$PORT PW_BIND_ADDRESS=127.0.0.1 \
    PW_AUTH_PATH="$WORK" RUST_LOG=warn \
    "$BIN/powerwall-server" >"$WORK/multi.log" 2>&1 &
MULTI_PID=$!
PIDS+=("$MULTI_PID")
MBASE=http://127.0.0.1:$PORT
for _ in $(seq 1 300); do
    online=$(curl -s "$MBASE/api/aggregate/" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("num_online"))' 2>/dev/null || true)
    [ "$online" = 3 ] && break
    sleep 0.2
done
[ "$online" = 3 ] || { echo "the three gateways did not come online" >&2; cat "$WORK/multi.log" >&2; exit 1; }
msg_size=$(curl -s "$MBASE/api/aggregate/" | wc -c)

for sim in "$HOME_SIM" "$CABIN_SIM" "$BARN_SIM"; do curl -sk "https://$sim/test/counter/reset" >/dev/null; done
idle_cpu0=$(cpu_seconds "$MULTI_PID")
sleep 10
idle_cpu1=$(cpu_seconds "$MULTI_PID")
idle_rss=$(awk '/VmRSS/ { print $2 }' "/proc/$MULTI_PID/status")

cpu0=$(cpu_seconds "$MULTI_PID")
t0=$(date +%s.%N)
"$BIN/examples/ws_load" --url "ws://127.0.0.1:$PORT/ws/aggregate" --clients "$WS_CLIENTS" \
    --seconds "$WS_WINDOW" >"$WORK/ws.json" &
LOAD_PID=$!
# Sample the server's RSS while the clients are connected.
peak_rss=0
while kill -0 "$LOAD_PID" 2>/dev/null; do
    rss_now=$(awk '/VmRSS/ { print $2 }' "/proc/$MULTI_PID/status")
    [ "$rss_now" -gt "$peak_rss" ] && peak_rss=$rss_now
    sleep 1
done
wait "$LOAD_PID"
cpu1=$(cpu_seconds "$MULTI_PID")
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
test_window=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a + 10 }')
per_gateway=""
for pair in "home:$HOME_SIM" "cabin:$CABIN_SIM" "barn:$BARN_SIM"; do
    total=$(curl -sk "https://${pair#*:}/test/counter" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_total"])')
    per_gateway="$per_gateway ${pair%%:*} $(awk -v n="$total" -v w="$test_window" 'BEGIN { printf "%.1f", n * 60 / w }')/min,"
done
python3 - "$WORK/ws.json" "$WS_CLIENTS" "$WS_WINDOW" "$msg_size" \
    "$(awk -v a="$idle_cpu0" -v b="$idle_cpu1" 'BEGIN { printf "%.1f", 100 * (b - a) / 10 }')" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$elapsed" 'BEGIN { printf "%.1f", 100 * (b - a) / t }')" \
    "$idle_rss" "$peak_rss" "$(awk '/VmHWM/ { print $2 }' "/proc/$MULTI_PID/status")" \
    "${per_gateway%,}" "$test_window" <<'PY' | tee -a "$OUT"
import json, sys
(path, clients, window, size, idle_cpu, load_cpu, idle_rss, peak_rss, hwm,
 per_gateway, gw_window) = sys.argv[1:]
r = json.load(open(path))
print()
print(f"## Three gateways: {clients} WebSocket clients on /ws/aggregate ({window} s window)")
print()
print(f"Message size {int(size) // 1024} KiB (full aggregate with three gateways' statuses).")
print()
print("| measure | value |")
print("|---|---:|")
print(f"| clients connected / failed | {r['connected']} / {r['failed']} (handshakes took {r['connect_s']} s) |")
print(f"| messages received | {r['messages']} ({r['msgs_per_client_per_s']} per client per s) |")
print(f"| data received by the clients | {r['bytes'] // (1024 * 1024)} MiB |")
print(f"| fan-out lag p50 / p99 / max | {r['lag_p50_ms']} / {r['lag_p99_ms']} / {r['lag_max_ms']} ms |")
print(f"| data age at the client p50 / p99 | {r['age_p50_ms']} / {r['age_p99_ms']} ms |")
print(f"| server CPU idle (no clients) / with the clients | {idle_cpu} % / {load_cpu} % of one core |")
print(f"| server RSS idle / peak with the clients / high-water mark | {int(idle_rss) // 1024} / {int(peak_rss) // 1024} / {int(hwm) // 1024} MiB |")
print()
print(f"Gateway requests per minute per gateway ({float(gw_window):.0f} s, with and without the clients):{per_gateway}.")
PY
echo "wrote $OUT"
