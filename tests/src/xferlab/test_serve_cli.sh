#!/usr/bin/env bash
# Tests for src/xferlab/serve.c as a user meets it: exit codes that tell misuse (2)
# from failure (1), messages that name what was wrong, --help listing every fault,
# the control API steering a running server, and a clean stop on SIGTERM.
# Usage: test_serve_cli.sh PATH/TO/xferlab
set -u
xl=$1
tmp=$(mktemp -d /tmp/xferlab-cli-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # name, condition result
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi
}
expect_exit() { # name, code, grep pattern, command...
    local name=$1 code=$2 pat=$3
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$code" ] && grep -q -- "$pat" "$tmp/out" "$tmp/err"
    local ok=$?
    [ "$ok" -ne 0 ] && { echo "  exit $rc, want $code; output:"; cat "$tmp/out" "$tmp/err" | head -5; }
    check "$name" "$ok"
}

expect_exit "no command is misuse" 2 "usage" "$xl"
expect_exit "unknown command" 2 "unknown command 'bogus'" "$xl" bogus
expect_exit "unknown option" 2 "unknown or incomplete option" "$xl" serve --htp 1
expect_exit "bad port" 2 "PORT from 0 to 65535" "$xl" serve --http 99999
expect_exit "bad address" 2 "not an IP address" "$xl" serve --http nowhere:80
expect_exit "bad cert kind" 2 "expected valid, expired" "$xl" serve --https 0 --cert bogus
expect_exit "misspelt action" 2 "did you mean 'close'" "$xl" serve --http 0 --rule 'clsoe after=1'
expect_exit "rule column" 2 "col 14: after: unknown size unit" "$xl" serve --http 0 --rule 'close after=1XB'
printf 'file /a.bin size=1KiB\n\nstall for=3 weeks\n' >"$tmp/bad.faults"
expect_exit "fault file position" 2 "bad.faults:3:12: for: duration needs a unit" "$xl" serve --http 0 --faults "$tmp/bad.faults"
expect_exit "missing fault file" 2 "No such file" "$xl" serve --http 0 --faults "$tmp/none"
expect_exit "bad --file" 2 "expected /PATH=SIZE" "$xl" serve --http 0 --file big=1MiB
expect_exit "help" 0 "example: dribble chunk=1KiB pause=100ms" "$xl" serve --help
n=$("$xl" serve --help | grep -c '^      example: ')
[ "$n" -ge 26 ]; check "help documents every action ($n examples)" $?

# A running server, steered through the control API, stopped by SIGTERM.
"$xl" serve --http 0 --control 0 --file /a.bin=64KiB:3 >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 100); do grep -q 'listening control' "$tmp/serve.out" 2>/dev/null && break; sleep 0.05; done
hp=$(awk '/listening http /{sub(/.*:/,"",$3); print $3}' "$tmp/serve.out")
cp=$(awk '/listening control /{sub(/.*:/,"",$3); print $3}' "$tmp/serve.out")
[ -n "$hp" ] && [ -n "$cp" ]; check "ports printed" $?
size=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$hp/a.bin")
[ "$size" = 65536 ]; check "download works" $?
code=$(curl -s -o "$tmp/post" -w '%{http_code}' -d '{"rule": "cut: close after=1000"}' "http://127.0.0.1:$cp/rules")
[ "$code" = 201 ]; check "rule added through the API" $?
curl -s -o /dev/null "http://127.0.0.1:$hp/a.bin"; rc=$?
[ "$rc" = 18 ]; check "the rule takes effect (curl exit $rc, want 18)" $?
curl -s "http://127.0.0.1:$cp/journal" | grep -q '"outcome":"closed"'; check "journal shows the close" $?
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"rule": "close aftr=1"}' "http://127.0.0.1:$cp/rules")
[ "$code" = 400 ]; check "bad rule through the API is 400" $?
kill -TERM "$pid"
for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then check "stops within 2 s of SIGTERM" 1; else wait "$pid"; check "stops cleanly on SIGTERM (exit $?)" $?; fi
pid=

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
