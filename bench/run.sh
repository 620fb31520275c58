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
# Then the Telegraf part (issue 18): for local API pw2 and TEDAPI pw2, pw3 and pw3-multi, one
# simulator and one server each (PW_CACHE_EXPIRE=5, default poll tiers) while the eight Telegraf
# URLs are scraped every 5 s: gateway requests per minute in total, per path and, over TEDAPI,
# per query (the simulator's `by_query`), beside the targets and the previous plan's figures, and
# how old power, SOE and grid status were at each scrape.
#
# Knobs: BENCH_DURATION (seconds per wrk run, default 5), BENCH_GATEWAY_WINDOW (seconds of each
# gateway-load run, default 30), BENCH_WS_CLIENTS (default 1000), BENCH_WS_WINDOW (seconds,
# default 30), BENCH_TELEGRAF_WINDOW (seconds of the Telegraf scrape, default 60), BENCH_ONLY=ws
# (only the WebSocket part) or BENCH_ONLY=telegraf (only the Telegraf part; it replaces its own
# section of bench/last-result.md and keeps the rest). Installs wrk from Debian's packages when
# missing.
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

ONLY=${BENCH_ONLY:-}
case "$ONLY" in "" | ws | telegraf) ;; *) echo "BENCH_ONLY must be ws or telegraf" >&2; exit 2 ;; esac

if [ -z "$ONLY" ] && ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q wrk >/dev/null; else sudo apt-get install -y -q wrk >/dev/null; fi
fi

if [ "$ONLY" = telegraf ]; then
    cargo build --release -q --bin powerwall-server --bin powerwall-simulator
else
    cargo build --release -q --bin powerwall-server --bin powerwall-simulator --example fixed_body \
        --example ws_load
fi
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

# Starts a simulator of topology $1 (files named after $2, default $1), prints its host:port.
# Called in $(...), so the caller's PIDS does not see the pid: it is also written to sim-$2.pid.
start_simulator() {
    local name=$1 label=${2:-$1}
    "$BIN/powerwall-simulator" --bind 127.0.0.1:0 --topology "$name" \
        >"$WORK/sim-$label.out" 2>"$WORK/sim-$label.err" &
    PIDS+=($!)
    echo $! >"$WORK/sim-$label.pid"
    local url
    url=$(wait_for_line "$WORK/sim-$label.out" "listening on" | awk '{print $NF}')
    url=${url#https://}
    echo "${url%/}"
}

# CPU seconds (user + system) used so far by process $1.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

# A run of one part keeps the other parts' results in $OUT.
if [ "$ONLY" != telegraf ] || [ ! -f "$OUT" ]; then
{
    echo "# Bench result"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) cores"
} >"$OUT"
fi

if [ -z "$ONLY" ]; then
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
if [ "$ONLY" != telegraf ]; then
WS_CLIENTS=${BENCH_WS_CLIENTS:-1000}
WS_WINDOW=${BENCH_WS_WINDOW:-30}
# Each client is a socket on both sides of loopback.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
HOME_SIM=$(start_simulator pw2)
CABIN_SIM=$(start_simulator pw3)
BARN_SIM=$(start_simulator pw3-multi)
for topology in pw2 pw3 pw3-multi; do PIDS+=("$(cat "$WORK/sim-$topology.pid")"); done
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
kill "$MULTI_PID" 2>/dev/null || true
fi

# --- Telegraf scrape: gateway requests per minute per mode (issue 18) ------------------------
if [ "$ONLY" != ws ]; then
TG_WINDOW=${BENCH_TELEGRAF_WINDOW:-60}
TG_EXPIRE=5
TG_SPECS=()
for combo in local:pw2 tedapi:pw2 tedapi:pw3 tedapi:pw3-multi; do
    mode=${combo%%:*}
    topology=${combo#*:}
    name="$mode-$topology"
    sim=$(start_simulator "$topology" "tg-$name")
    PIDS+=("$(cat "$WORK/sim-tg-$name.pid")")
    if [ "$mode" = local ]; then credential=PW_PASSWORD=password; else credential=PW_GW_PWD=ABCDEFGHIJ; fi
    mkdir -p "$WORK/tg-$name"
    port=$(free_port)
    env "$credential" PW_HOST="$sim" PW_EMAIL=me@example.com PW_PORT="$port" \
        PW_BIND_ADDRESS=127.0.0.1 PW_AUTH_PATH="$WORK/tg-$name" PW_CACHE_EXPIRE=$TG_EXPIRE \
        RUST_LOG=warn "$BIN/powerwall-server" >"$WORK/tg-$name.log" 2>&1 &
    PIDS+=($!)
    TG_SPECS+=("$name" "http://127.0.0.1:$port" "https://$sim")
done
# One loop scrapes the four servers, so the section takes one window, not four.
python3 - "$TG_WINDOW" "$TG_EXPIRE" "${TG_SPECS[@]}" >"$WORK/telegraf.md" <<'PY' || { cat "$WORK"/tg-*.log >&2; exit 1; }
import json, ssl, sys, time, urllib.request
from datetime import datetime, timezone

window, expire = float(sys.argv[1]), float(sys.argv[2])
specs = [tuple(sys.argv[i:i + 3]) for i in range(3, len(sys.argv), 3)]
URLS = ["/aggregates", "/soe", "/strings", "/temps/pw", "/freq", "/pod", "/fans/pw", "/alerts/pw"]
LABELS = {"local-pw2": "local pw2", "tedapi-pw2": "TEDAPI pw2", "tedapi-pw3": "TEDAPI pw3",
          "tedapi-pw3-multi": "TEDAPI pw3-multi"}
# Targets of issue 18 and the previous plans' figures (requests/min; measured before the change,
# one run each): pyPowerwall proxy, pypowerwall-server 0.13.0, ours before issue 18.
TARGETS = {"local-pw2": "≤ 48", "tedapi-pw3": "≤ 24", "tedapi-pw3-multi": "≤ 30"}
BASELINES = {"local-pw2": ("53", "69", "67"), "tedapi-pw3": ("68", "45", "74"),
             "tedapi-pw3-multi": ("–", "–", "95")}
FAST_DOCS = ["/api/meters/aggregates", "/api/system_status/soe", "/api/system_status/grid_status"]
# The simulator's certificate is self-signed; everything here is loopback.
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE

def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout, context=INSECURE) as response:
        return response.status, response.read()

def get_json(url):
    status, body = get(url)
    return json.loads(body) if status == 200 else None

def first_poll_done(server):
    try:
        health = get_json(server + "/health")
        gateway = health["gateway"]
        ages = gateway.get("data_age_seconds") or {}
        if gateway.get("state") != "connected" or "/api/devices/vitals" not in ages:
            return False
        # Every query of the poll plan has run once (servers without a plan: skipped).
        for query in (gateway.get("plan") or {}).get("queries") or []:
            if query.get("last_fetch_age_seconds") is None:
                return False
        return get_json(server + "/aggregates") is not None
    except Exception:
        return False

deadline = time.monotonic() + 60
pending = {name for name, _, _ in specs}
while pending and time.monotonic() < deadline:
    pending = {name for name, server, _ in specs if name in pending and not first_poll_done(server)}
    time.sleep(0.2)
if pending:
    sys.exit(f"no first complete poll within 60 s: {', '.join(sorted(pending))}")

for _, _, sim in specs:
    get(sim + "/test/counter/reset")
started = time.monotonic()
stats = {name: {"scrapes": 0, "failed": 0, "max_age": None, "max_comm_age": None,
                "moved": 0, "last_power": None} for name, _, _ in specs}

def worst(a, b):
    return b if a is None or (b is not None and b > a) else a

def sample_ages():
    """The fast documents' ages from /health (served from the snapshot: no gateway request)."""
    for name, server, _ in specs:
        try:
            ages = get_json(server + "/health")["gateway"]["data_age_seconds"]
            stats[name]["max_age"] = worst(stats[name]["max_age"], max(ages[d] for d in FAST_DOCS))
        except Exception:
            pass

def wait_until(target):
    """Sleeps until `target`, sampling ages every 0.5 s: a 5 s scrape alone would see the poll
    at one phase only."""
    while time.monotonic() < target:
        sample_ages()
        time.sleep(max(0.0, min(0.5, target - time.monotonic())))

rounds = int(window // 5) + 1
for round_ in range(rounds):
    wait_until(started + 5 * round_)
    for name, server, sim in specs:
        s = stats[name]
        for url in URLS:
            s["scrapes"] += 1
            try:
                status, body = get(server + url)
                doc = json.loads(body)
                if status != 200:
                    raise ValueError(status)
            except Exception:
                s["failed"] += 1
                continue
            if url != "/aggregates":
                continue
            site = (doc.get("site") or {}) if isinstance(doc, dict) else {}
            power = site.get("instant_power")
            if s["last_power"] is not None and power != s["last_power"]:
                s["moved"] += 1
            s["last_power"] = power
            try:
                sim_now = get_json(sim + "/test/state")["now"]
                comm = datetime.fromisoformat(site["last_communication_time"]).timestamp()
                s["max_comm_age"] = worst(s["max_comm_age"], sim_now - comm)
            except Exception:
                pass
wait_until(started + window)
counters = {name: get_json(sim + "/test/counter") for name, _, sim in specs}
elapsed = time.monotonic() - started

def per_min(n):
    return f"{n * 60 / elapsed:.1f}"

names = [name for name, _, _ in specs]
tedapi = [name for name in names if name.startswith("tedapi")]
print("## Gateway requests per minute under a Telegraf scrape")
print()
print(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} · PW_CACHE_EXPIRE={expire:.0f}, default poll "
      f"tiers, the {len(URLS)} Telegraf URLs scraped every 5 s; counters reset after the first "
      f"complete poll, read {elapsed:.1f} s later. Queries on tiers longer than the window "
      "count at most once (a 300 s config tier adds 0.2/min per query in the long run).")
print()
print("| mode / topology | ours now, req/min | target | pyPowerwall proxy | "
      "pypowerwall-server 0.13.0 | ours before issue 18 |")
print("|---|---:|---:|---:|---:|---:|")
for name in names:
    base = BASELINES.get(name, ("–", "–", "–"))
    print(f"| {LABELS[name]} | {per_min(counters[name]['api_total'])} | "
          f"{TARGETS.get(name, '–')} | {' | '.join(base)} |")
print()
print("Previous plans' figures: measured before the change, one run each.")
print()
print("Per path (requests/min):")
print()
print("| path | " + " | ".join(LABELS[n] for n in names) + " |")
print("|---|" + "---:|" * len(names))
paths = sorted({p for n in names for p in counters[n]["by_path"]})
for path in paths:
    cells = [per_min(counters[n]["by_path"][path]) if path in counters[n]["by_path"] else "–"
             for n in names]
    print(f"| `{path}` | " + " | ".join(cells) + " |")
print()
print("TEDAPI per query (requests/min; other requests under their path):")
print()
print("| query | " + " | ".join(LABELS[n] for n in tedapi) + " |")
print("|---|" + "---:|" * len(tedapi))
queries = sorted({q for n in tedapi for q in counters[n].get("by_query", {})})
for query in queries:
    cells = [per_min(counters[n]["by_query"][query]) if query in counters[n].get("by_query", {})
             else "–" for n in tedapi]
    print(f"| `{query}` | " + " | ".join(cells) + " |")
if not queries:
    print("| (this simulator has no `by_query`) |" + " |" * len(tedapi))
print()
print(f"Freshness of power, SOE and grid status (allowed: PW_CACHE_EXPIRE = {expire:.0f} s, "
      "+ 1 s for the poll itself and whole-second timestamps): the largest `/health` data age of "
      "the three documents, sampled every 0.5 s, and the largest age of `/aggregates` "
      "`site.last_communication_time` against the simulator's clock at the scrapes:")
print()
print("| mode / topology | scrapes (failed) | max data age of aggregates, soe, grid_status (s) | "
      "max age of site `last_communication_time` (s) | site power moved | within |")
print("|---|---:|---:|---:|---:|---|")
def fmt(v):
    return "n/a" if v is None else f"{v:.1f}"
for name in names:
    s = stats[name]
    ages = [a for a in (s["max_age"], s["max_comm_age"]) if a is not None]
    within = "n/a" if not ages else ("yes" if max(ages) <= expire + 1 else "no")
    print(f"| {LABELS[name]} | {s['scrapes']} ({s['failed']}) | {fmt(s['max_age'])} | "
          f"{fmt(s['max_comm_age'])} | {s['moved']} of {rounds - 1} | {within} |")
PY
cat "$WORK/telegraf.md"
# Replace this part's section in $OUT (a BENCH_ONLY=telegraf run keeps the others).
python3 - "$OUT" "$WORK/telegraf.md" <<'PY'
import sys
out, section = sys.argv[1], open(sys.argv[2]).read().strip("\n")
heading = "## Gateway requests per minute under a Telegraf scrape"
text = open(out).read()
start = text.find(heading)
if start >= 0:
    end = text.find("\n## ", start + len(heading))
    rest = "\n\n" + text[end:].lstrip("\n") if end >= 0 else ""
    text = text[:start].rstrip("\n") + rest
open(out, "w").write(text.rstrip("\n") + "\n\n" + section + "\n")
PY
fi
echo "wrote $OUT"
