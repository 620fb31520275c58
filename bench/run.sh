#!/usr/bin/env bash
# Benchmark of powerwall-server against the simulator, on loopback only.
#
# Measures req/s and p50/p99 latency at 1, 16 and 64 connections for /aggregates, /soe, /csv and
# /vitals, the same for a minimal axum server returning a fixed body of the same size (the ratio
# is our throughput as a share of that server's), the server's peak RSS, and the gateway requests
# per minute the server sends with 1 and with 64 clients. Writes bench/last-result.md.
#
# Knobs: BENCH_DURATION (seconds per wrk run, default 5), BENCH_GATEWAY_WINDOW (seconds of each
# gateway-load run, default 30). Installs wrk from Debian's packages when missing.
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

cargo build --release -q --bin powerwall-server --bin powerwall-simulator --example fixed_body
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
    echo "# Bench result"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) cores · wrk $DURATION s per run · local mode against the simulator"
    echo
    echo "| route | conns | ours req/s | p50 ms | p99 ms | minimal req/s | ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$OUT"

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
echo "wrote $OUT"
