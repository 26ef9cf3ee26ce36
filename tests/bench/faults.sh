#!/usr/bin/env bash
# Benchmark: the HTTP fault server with no faults against nginx, side by side in
# one run on loopback.
#   1. a 1 GiB body fetched by `curl -o /dev/null`: xferlab's generated body vs
#      nginx (one worker, sendfile) serving a 1 GiB file from the page cache;
#      target: at least 0.9x nginx's throughput.
#   2. 1 KiB responses under wrk (1 thread, 16 connections): target at least 0.7x
#      nginx's requests per second.
# Each measurement alternates the two servers, REPEAT times, and keeps the median.
# Prints the figures and the ratios; exits 0 (it reports, it does not judge).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEAT=${REPEAT:-5}
WRK_SECONDS=${WRK_SECONDS:-5}
build=${XFER_BUILD_DIR:-build-bench}

need=()
for p in nginx-light wrk curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DXFER_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target xferlab >/dev/null
xferlab="$build/src/xferlab/xferlab"

tmp=$(mktemp -d /tmp/xferlab-bench-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# A port nobody answers on, between 20000 and 59999 (below the ephemeral range).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# The same bytes for both: nginx serves what xferlab generates.
np=$(free_port); xp=$(free_port)
"$xferlab" serve --http "$xp" --file /big.bin=1GiB:7 --file /1k.bin=1KiB:1 >"$tmp/xferlab.log" 2>&1 &
pids+=($!)
mkdir -p "$tmp/www" "$tmp/nginx/logs"
chmod 755 "$tmp" "$tmp/www"
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$xp/1k.bin" && break; sleep 0.1; done
curl -s -o "$tmp/www/big.bin" "http://127.0.0.1:$xp/big.bin"
curl -s -o "$tmp/www/1k.bin" "http://127.0.0.1:$xp/1k.bin"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $tmp/nginx/logs/error.log;
pid $tmp/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    server { listen 127.0.0.1:$np; root $tmp/www; }
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$np/1k.bin" && break; sleep 0.1; done
chmod 644 "$tmp/www/"*
cat "$tmp/www/big.bin" >/dev/null # into the page cache
# Both must serve the same bytes, or the comparison means nothing.
[ "$(curl -s "http://127.0.0.1:$np/big.bin" | sha256sum)" = "$(sha256sum <"$tmp/www/big.bin")" ] ||
    { echo "nginx does not serve the file: $(curl -s -o /dev/null -w %{http_code} "http://127.0.0.1:$np/big.bin")" >&2; exit 1; }

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
speed() { curl -s -o /dev/null -w '%{speed_download}\n' "$1"; }
rps() { wrk -t1 -c16 -d"${WRK_SECONDS}s" "$1" | awk '/Requests\/sec/ {print $2}'; }

n_bw=(); x_bw=(); n_rps=(); x_rps=()
for _ in $(seq "$REPEAT"); do
    n_bw+=("$(speed "http://127.0.0.1:$np/big.bin")")
    x_bw+=("$(speed "http://127.0.0.1:$xp/big.bin")")
done
for _ in $(seq 3); do
    n_rps+=("$(rps "http://127.0.0.1:$np/1k.bin")")
    x_rps+=("$(rps "http://127.0.0.1:$xp/1k.bin")")
done
nb=$(printf '%s\n' "${n_bw[@]}" | median); xb=$(printf '%s\n' "${x_bw[@]}" | median)
nr=$(printf '%s\n' "${n_rps[@]}" | median); xr=$(printf '%s\n' "${x_rps[@]}" | median)
echo "1 GiB with curl -o /dev/null (median of $REPEAT)"
awk -v n="$nb" -v x="$xb" 'BEGIN {printf "  nginx   %8.1f MiB/s\n  xferlab %8.1f MiB/s\n  ratio   %.2f (target >= 0.90)\n", n/1048576, x/1048576, x/n}'
echo "1 KiB responses, wrk -t1 -c16 -d${WRK_SECONDS}s (median of 3)"
awk -v n="$nr" -v x="$xr" 'BEGIN {printf "  nginx   %9.0f req/s\n  xferlab %9.0f req/s\n  ratio   %.2f (target >= 0.70)\n", n, x, x/n}'
