#!/usr/bin/env bash
# Benchmark: the transfer engine (tests/bench/xfer_bench.c) beside curl, side by
# side in one run on loopback.
#   1. A 1 GiB file from nginx (one worker, sendfile) to disk: `xfer_bench
#      download` (one job: created, resumed, TRANSFERRED, completed) against
#      `curl -s -o`. Both run under `xfer_bench run-cmd`, which reports the
#      process's wall time, user+sys CPU and max RSS from wait4, so both are
#      measured the same way, whole process included (store, engine open).
#      Targets: wall <= 1.0x curl, CPU <= 1.1x curl, max RSS <= 32 MiB.
#   2. Checkpoints (every 1 s and every 16 MiB, each one SQLite transaction,
#      WAL, synchronous=NORMAL) cost at most 3% of throughput: the same
#      download with --no-checkpoints, run beside the one with them (first
#      one, then the other, then the other way round); throughput from the
#      job's own wall time (created -> Complete), the cost the median of the
#      pairs' ratios (machine drift cancels within a pair).
#   3. JOBS (10,000) queued jobs: open the store, xfer_job_enum and
#      xfer_job_info of every job in <= 200 ms, max RSS <= 64 MiB. The store is
#      made by `xfer_bench populate` (jobs created, a file added, resumed; the
#      loop never runs, so all stay QUEUED).
# Runs alternate (curl, then with and without checkpoints), REPEAT times, and
# the medians are kept; the page cache is not dropped (that needs root and would
# not make the comparison fairer). Installs nothing: needs nginx (Debian
# nginx-light or nginx) and curl. Prints the figures and the ratios; exits 0
# (it reports, it does not judge).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEAT=${REPEAT:-5}
JOBS=${JOBS:-10000}
SIZE=${SIZE:-1G}
build=${XFER_BUILD_DIR:-build-bench-engine}

nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "engine.sh: nginx not found (Debian: apt-get install nginx-light)" >&2; exit 1; }
command -v curl >/dev/null || { echo "engine.sh: curl not found (Debian: apt-get install curl)" >&2; exit 1; }

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DXFER_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target xfer_bench >/dev/null
bench="$build/tests/xfer_bench"

tmp=$(mktemp -d /tmp/xferlab-engine-bench-XXXXXX)
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

port=$(free_port)
mkdir -p "$tmp/www" "$tmp/nginx/logs" "$tmp/dl"
chmod 755 "$tmp" "$tmp/www"
head -c "$SIZE" /dev/urandom >"$tmp/www/big.bin"
echo hi >"$tmp/www/hi.txt"
chmod 644 "$tmp/www/"*
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
    default_type application/octet-stream;
    server { listen 127.0.0.1:$port; root $tmp/www; }
}
CONF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids+=($!)
url="http://127.0.0.1:$port/big.bin"
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/hi.txt" && break; sleep 0.1; done
cat "$tmp/www/big.bin" >/dev/null # into the page cache
dest="$tmp/dl/big.bin"

# The engine must deliver the same bytes, or its speed means nothing.
want=$(sha256sum <"$tmp/www/big.bin" | cut -d' ' -f1)
"$bench" download "$url" "$dest" >/dev/null
[ "$(sha256sum <"$dest" | cut -d' ' -f1)" = "$want" ] ||
    { echo "engine.sh: xfer_bench download did not deliver the file" >&2; exit 1; }
rm -f "$dest"

# key=value from a line of xfer_bench output.
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# One measured run: appends wall, cpu, maxrss (and the job's wall for xfer_bench) to arrays.
measure() {
    local name=$1; shift
    local out
    rm -f "$dest"
    out=$("$bench" run-cmd -- "$@")
    rm -f "$dest"
    local ru; ru=$(grep '^rusage ' <<<"$out")
    [ "$(field status <<<"$ru")" = 0 ] || { echo "engine.sh: $* failed: $out" >&2; exit 1; }
    eval "${name}_wall+=($(field wall_s <<<"$ru"))"
    eval "${name}_cpu+=($(field cpu_s <<<"$ru"))"
    eval "${name}_rss+=($(field maxrss_kib <<<"$ru"))"
    local dl; dl=$(grep '^download ' <<<"$out" || true)
    [ -z "$dl" ] || eval "${name}_job+=($(field wall_s <<<"$dl"))"
}

# shellcheck disable=SC2034 # filled by measure and read by m, by name
declare -a curl_wall=() curl_cpu=() curl_rss=() on_wall=() on_cpu=() on_rss=() on_job=() \
    off_wall=() off_cpu=() off_rss=() off_job=()
for i in $(seq "$REPEAT"); do
    measure curl curl -s -o "$dest" "$url"
    if ((i % 2)); then
        measure on "$bench" download "$url" "$dest"
        measure off "$bench" download "$url" "$dest" --no-checkpoints
    else
        measure off "$bench" download "$url" "$dest" --no-checkpoints
        measure on "$bench" download "$url" "$dest"
    fi
done

"$bench" populate "$tmp/jobs.db" "$JOBS" >/dev/null
en_ms=(); en_rss=(); en_n=
for _ in $(seq "$REPEAT"); do
    out=$("$bench" enumerate "$tmp/jobs.db")
    en_ms+=("$(field total_ms <<<"$out")")
    en_rss+=("$(field maxrss_kib <<<"$out")")
    en_n=$(field queued <<<"$out")
done

m() { local -n a=$1; printf '%s\n' "${a[@]}" | median; }
cw=$(m curl_wall); cc=$(m curl_cpu); cr=$(m curl_rss)
xw=$(m on_wall); xc=$(m on_cpu); xr=$(m on_rss); xj=$(m on_job)
nj=$(m off_job)
ck=$(paste <(printf '%s\n' "${on_job[@]}") <(printf '%s\n' "${off_job[@]}") |
    awk '{print $1 / $2}' | median)
ems=$(m en_ms); erss=$(m en_rss)
bytes=$(stat -c %s "$tmp/www/big.bin")

echo "$SIZE file from nginx on loopback to disk (median of $REPEAT; whole process, wait4)"
awk -v b="$bytes" -v cw="$cw" -v cc="$cc" -v cr="$cr" -v xw="$xw" -v xc="$xc" -v xr="$xr" -v xj="$xj" 'BEGIN {
    printf "                      wall s    CPU s  max RSS MiB    MiB/s\n"
    printf "  curl -o           %8.3f %8.3f %12.1f %8.1f\n", cw, cc, cr/1024, b/1048576/cw
    printf "  xfer_bench        %8.3f %8.3f %12.1f %8.1f   (job created -> Complete: %.3f s)\n", xw, xc, xr/1024, b/1048576/xw, xj
    printf "  wall ratio  %.2f (target <= 1.00)\n", xw/cw
    printf "  CPU ratio   %.2f (target <= 1.10)\n", xc/cc
    printf "  max RSS     %.1f MiB (target <= 32)\n", xr/1024
}'
echo "Checkpoints (every 1 s and 16 MiB) against --no-checkpoints (median of $REPEAT, job wall time)"
awk -v b="$bytes" -v on="$xj" -v off="$nj" -v ck="$ck" 'BEGIN {
    printf "  with      %8.1f MiB/s\n  without   %8.1f MiB/s\n", b/1048576/on, b/1048576/off
    printf "  cost      %.1f%% of throughput, median of the pairs (target <= 3%%)\n", (1 - 1/ck) * 100
}'
echo "$JOBS queued jobs: open the store, enumerate, xfer_job_info each (median of $REPEAT)"
awk -v ms="$ems" -v rss="$erss" -v n="$en_n" 'BEGIN {
    printf "  %d jobs queued\n  time      %.1f ms (target <= 200)\n  max RSS   %.1f MiB (target <= 64)\n", n, ms, rss/1024
}'
