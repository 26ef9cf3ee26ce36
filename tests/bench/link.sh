#!/usr/bin/env bash
# Benchmark: the link (sim/link.c, run on its own by tests/bench/link_bench.c)
# against direct loopback, side by side in one run.
#   1. A 1 GiB file from nginx (one worker, sendfile) fetched by
#      `curl -o /dev/null`, directly and through the link with no impairment
#      (socks5h, files.test mapped to nginx); runs alternate, REPEAT times, and
#      the medians are kept. Target: the link at least 0.8x direct. The bytes
#      through the link are checked once (SHA-256) before timing.
#   2. CONNS (200) concurrent connections through a link limited to RATE bytes/s
#      (25,000,000 = 200 Mbit/s, one bucket shared by all): `curl -Z` fetches
#      EACH bytes (640 KiB) on every connection at once; the aggregate (bytes
#      of all responses, headers included, over the wall time of the whole
#      run) must be within 5% of RATE. Also prints when the first, the median
#      and the last transfer ended (the link serves waiting connections round
#      robin; the first connections start a little earlier, so end earlier).
# The link runs in real time (scale 1): simulated and wall rates are the same.
# Installs nothing: needs nginx (Debian nginx-light or nginx) and curl.
# Prints the figures and the ratios; exits 0 (it reports, it does not judge).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEAT=${REPEAT:-9}
SIZE=${SIZE:-1G}
CONNS=${CONNS:-200}
RATE=${RATE:-25000000}
EACH=${EACH:-655360}
build=${XFER_BUILD_DIR:-build-bench-link}

nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "link.sh: nginx not found (Debian: apt-get install nginx-light)" >&2; exit 1; }
command -v curl >/dev/null || { echo "link.sh: curl not found (Debian: apt-get install curl)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/xferlab-link-bench-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DXFER_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target link_bench >/dev/null
bench="$build/tests/link_bench"

# A port nobody answers on, between 20000 and 59999 (below the ephemeral range).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

port=$(free_port)
mkdir -p "$tmp/www" "$tmp/nginx/logs"
chmod 755 "$tmp" "$tmp/www"
head -c "$SIZE" /dev/urandom >"$tmp/www/big.bin"
head -c "$EACH" /dev/urandom >"$tmp/www/part.bin"
echo hi >"$tmp/www/hi.txt"
chmod 644 "$tmp/www/"*
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $tmp/nginx/logs/error.log;
pid $tmp/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    server { listen 127.0.0.1:$port backlog=1024; root $tmp/www; }
}
CONF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/hi.txt" && break; sleep 0.1; done
cat "$tmp/www/big.bin" >/dev/null # into the page cache

# Start a link (extra arguments: its bandwidth); sets link_port.
start_link() {
    local out="$tmp/link.$1.out"; shift
    "$bench" --map "files.test=127.0.0.1:$port" "$@" >"$out" &
    pids+=($!)
    link_pid=$!
    for _ in $(seq 50); do
        link_port=$(awk -F: '/^listening socks5/ {print $NF}' "$out")
        [ -n "$link_port" ] && return
        sleep 0.1
    done
    echo "link.sh: link_bench did not start: $(cat "$out")" >&2
    exit 1
}
stop_link() {
    kill -TERM "$link_pid"
    wait "$link_pid" 2>/dev/null || true
}

start_link free
proxy="socks5h://127.0.0.1:$link_port"
direct="http://127.0.0.1:$port/big.bin"
via="http://files.test/big.bin"
want=$(sha256sum <"$tmp/www/big.bin" | cut -d' ' -f1)
[ "$(curl -s -x "$proxy" "$via" | sha256sum | cut -d' ' -f1)" = "$want" ] ||
    { echo "link.sh: the link did not deliver the file" >&2; exit 1; }

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
speed() { curl -s -o /dev/null -w '%{speed_download}\n' "$@"; }
d_bw=(); l_bw=()
for i in $(seq "$REPEAT"); do
    if ((i % 2)); then
        d_bw+=("$(speed "$direct")")
        l_bw+=("$(speed -x "$proxy" "$via")")
    else
        l_bw+=("$(speed -x "$proxy" "$via")")
        d_bw+=("$(speed "$direct")")
    fi
done
stop_link
db=$(printf '%s\n' "${d_bw[@]}" | median); lb=$(printf '%s\n' "${l_bw[@]}" | median)
echo "1 GiB with curl -o /dev/null, nginx sendfile (median of $REPEAT)"
mibs() { printf '%s\n' "$@" | awk '{printf "%.0f ", $1 / 1048576}'; }
echo "  runs direct: $(mibs "${d_bw[@]}")MiB/s"
echo "  runs link:   $(mibs "${l_bw[@]}")MiB/s"
awk -v d="$db" -v l="$lb" 'BEGIN {printf "  direct  %8.1f MiB/s\n  link    %8.1f MiB/s\n  ratio   %.2f (target >= 0.80)\n", d/1048576, l/1048576, l/d}'

# 2. CONNS connections at once, one shared bucket.
start_link shared --down "$RATE"
proxy="socks5h://127.0.0.1:$link_port"
for i in $(seq "$CONNS"); do
    printf 'url = "http://files.test/part.bin?n=%d"\noutput = "/dev/null"\n' "$i"
done >"$tmp/urls.cfg"
t0=$(date +%s.%N)
curl -s --no-progress-meter -Z --parallel-immediate --parallel-max "$CONNS" -x "$proxy" -K "$tmp/urls.cfg" \
    -w '%{http_code} %{size_download} %{size_header} %{time_total}\n' >"$tmp/par.out"
t1=$(date +%s.%N)
stop_link
ok=$(awk -v e="$EACH" '$1 == 200 && $2 == e' "$tmp/par.out" | wc -l)
[ "$ok" = "$CONNS" ] || { echo "link.sh: only $ok of $CONNS transfers completed" >&2; exit 1; }
link_down=$(tr ' ' '\n' <"$tmp/link.shared.out" | awk -F= '$1 == "down" {print $2}')
echo "$CONNS connections at once through one bucket of $RATE bytes/s, $EACH bytes each"
ends=$(awk '{print $4}' "$tmp/par.out" | sort -g | awk '{v[NR] = $1} END {print v[1], v[int((NR + 1) / 2)], v[NR]}')
awk -v t0="$t0" -v t1="$t1" -v r="$RATE" -v ld="$link_down" -v ends="$ends" '
    { bytes += $2 + $3 }
    END {
        agg = bytes / (t1 - t0)
        split(ends, e, " ")
        printf "  bytes   %d (the link counted %d)\n  wall    %.2f s\n", bytes, ld, t1 - t0
        printf "  aggregate %.0f bytes/s = %.1f Mbit/s\n", agg, agg * 8 / 1e6
        printf "  ratio   %.4f of the rate (target 0.95 .. 1.05)\n", agg / r
        printf "  transfers ended at %.2f s (first), %.2f s (median), %.2f s (last)\n", e[1], e[2], e[3]
    }' "$tmp/par.out"
