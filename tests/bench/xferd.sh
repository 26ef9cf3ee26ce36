#!/usr/bin/env bash
# Benchmark: xferd, the service, through its socket (tests/bench/xferd_bench.c).
#   1. JOBS (10,000) jobs created through the socket, one call each (target <= 5 s).
#   2. xferd SIGKILLed and restarted on that state: time from exec until job.list
#      returns all of them (target <= 1 s); xferd's RSS then (VmHWM, <= 64 MiB).
#   3. Idle: voluntary context switches of xferd over IDLE_S (10) seconds with the
#      10,000 queued-but-suspended jobs (wake-ups; 0-few expected).
#   4. N (200) concurrent 4 MiB downloads vs one 800 MiB download from
#      `xferlab serve`, in the same run: aggregate throughput ratio (target >= 0.8).
# Release build; prints figures and ratios; exits 0 (it reports, it does not judge).
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS=${JOBS:-10000}
N=${N:-200}
IDLE_S=${IDLE_S:-10}
build=${XFER_BUILD_DIR:-build-bench-xferd}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DXFER_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j 2 --target xferd xferd_bench xferlab >/dev/null
xferd="$build/src/xferd/xferd"
bench="$build/tests/src/xferd/xferd_bench"
xferlab="$build/src/xferlab/xferlab"

tmp=$(mktemp -d /tmp/xferlab-xferd-bench-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

start_xferd() { # state-dir; sets $xpid, waits for "listening"
    coproc XD { exec "$xferd" --state-dir "$1" --socket "$tmp/x.sock" \
        --max-jobs $((JOBS + 1000)) --max-jobs-per-owner $((JOBS + 1000)); }
    xpid=$XD_PID
    pids+=("$xpid")
    read -r line <&"${XD[0]}"
    [ "${line%% *}" = listening ] || { echo "xferd.sh: xferd said '$line'" >&2; exit 1; }
}
status_of() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }

echo "== 1. $JOBS jobs created through the socket"
start_xferd "$tmp/state"
read -r _ n create_ms < <("$bench" create "$tmp/x.sock" "$JOBS")
printf "create: %d jobs in %.0f ms (%.0f jobs/s; target <= 5000 ms)\n" "$n" "$create_ms" \
    "$(echo "$n * 1000 / $create_ms" | bc -l)"

echo "== 2. restart with $JOBS jobs until all are enumerable"
kill -KILL "$xpid"; wait "$xpid" 2>/dev/null || true
t0=$(date +%s%N)
start_xferd "$tmp/state"
read -r _ n enum_ms < <("$bench" enumerate "$tmp/x.sock" "$JOBS")
t1=$(date +%s%N)
printf "restart: exec -> all %d enumerable in %.0f ms (target <= 1000 ms)\n" "$n" \
    "$(( (t1 - t0) / 1000000 ))"
rss=$(status_of "$xpid" VmHWM)
printf "RSS: peak %d KiB = %.1f MiB (target <= 64 MiB)\n" "$rss" "$(echo "$rss / 1024" | bc -l)"

echo "== 3. idle wake-ups over ${IDLE_S} s"
v0=$(status_of "$xpid" voluntary_ctxt_switches); n0=$(status_of "$xpid" nonvoluntary_ctxt_switches)
sleep "$IDLE_S"
v1=$(status_of "$xpid" voluntary_ctxt_switches); n1=$(status_of "$xpid" nonvoluntary_ctxt_switches)
echo "idle: $((v1 - v0)) voluntary, $((n1 - n0)) involuntary context switches in ${IDLE_S} s"
kill -TERM "$xpid"; wait "$xpid" 2>/dev/null || true

echo "== 4. $N x 4 MiB concurrent vs 1 x $((N * 4)) MiB"
port=$((20000 + RANDOM % 40000))
"$xferlab" serve --http "127.0.0.1:$port" --file "/small.bin=4MiB:1" \
    --file "/big.bin=$((N * 4))MiB:2" >/dev/null 2>&1 &
pids+=("$!")
sleep 1
rm -rf "$tmp/state2"; mkdir -p "$tmp/dl1" "$tmp/dl2"
start_xferd "$tmp/state2"
read -r _ _ b1 ms1 < <("$bench" download "$tmp/x.sock" "$tmp/dl1" "http://127.0.0.1:$port/big.bin" 1)
rm -rf "$tmp/dl1"
read -r _ _ bn msn < <("$bench" download "$tmp/x.sock" "$tmp/dl2" "http://127.0.0.1:$port/small.bin" "$N")
one=$(echo "$b1 / $ms1 / 1048.576" | bc -l)
many=$(echo "$bn / $msn / 1048.576" | bc -l)
printf "one:  %.0f MiB in %.0f ms = %.1f MiB/s\n" "$(echo "$b1/1048576" | bc -l)" "$ms1" "$one"
printf "many: %.0f MiB in %.0f ms = %.1f MiB/s aggregate\n" "$(echo "$bn/1048576" | bc -l)" "$msn" "$many"
printf "ratio many/one: %.2f (target >= 0.8)\n" "$(echo "$many / $one" | bc -l)"
