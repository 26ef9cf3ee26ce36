#!/usr/bin/env bash
# The runner's command line as a user meets it: `xferlab run` with -j,
# --shard, --filter, --repeat, --keep, --wall-limit and --reports; its exit
# codes; the run directory, reports/latest and the reports in it (checked with
# the tests' own XML checker); `xferlab report`, `list`, `explain` and `repro`
# on the runner's test scenarios (tests/reports/data/scenarios: three that
# pass, one that fails, one with a script error, one that overruns its wall
# limit).
#   usage: test_run_cli.sh XFERLAB XMLCHECK DATA_DIR
set -uo pipefail

xferlab=$1
xmlcheck=$2
scn=$3/scenarios
tmp=$(mktemp -d /tmp/xl-runcli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

check() { # check NAME COMMAND...: the command must succeed
    local name=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        echo "ok   $name"
    else
        echo "FAIL $name"
        failures=$((failures + 1))
    fi
}

# run_xl OUT ARGS...: run xferlab with ARGS, output in $tmp/OUT, exit code in $rc.
run_xl() {
    local out=$1
    shift
    "$xferlab" "$@" >"$tmp/$out" 2>&1
    rc=$?
}

# The scenario names in a run document, one a line, sorted.
names() {
    grep -o '"scenario": "[^"]*"' "$1" | sed 's/.*: "//; s/"$//' | sort
}

reports=$tmp/reports

# --- all pass, -j 2: exit 0, a run directory, latest, three reports, well-formed
run_xl pass.out run -j 2 --reports "$reports" "$scn/pass"
check "all pass: exit 0" test "$rc" -eq 0
check "latest is a symlink" test -L "$reports/latest"
latest=$(readlink "$reports/latest")
check "latest names a run directory" bash -c "[[ '$latest' == run-*Z-* ]] && test -d '$reports/$latest'"
for f in results.json junit.xml index.html; do
    check "latest has $f" test -s "$reports/latest/$f"
done
check "junit.xml well-formed" "$xmlcheck" "$reports/latest/junit.xml"
check "index.html well-formed and self-contained" "$xmlcheck" --html "$reports/latest/index.html"
check "junit counts" grep -q 'tests="3" failures="0" errors="0"' "$reports/latest/junit.xml"
check "results: three scenarios" test "$(names "$reports/latest/results.json" | wc -l)" -eq 3
check "-j recorded" grep -q '"jobs": 2' "$reports/latest/results.json"
check "table printed" grep -q 'pass/two-files *passed' "$tmp/pass.out"
first=$latest

# --- a second run gets a new directory; latest moves
run_xl pass2.out run -j 1 --reports "$reports" "$scn/pass/http-small.scn"
check "second run: exit 0" test "$rc" -eq 0
check "latest moved" test "$(readlink "$reports/latest")" != "$first"
check "first run kept" test -s "$reports/$first/results.json"
check "no temporary link left" bash -c "! ls -A '$reports' | grep -q '^\.latest'"

# --- a failure: exit 1, file:line: expected ..., got ..., state history, requests
run_xl fail.out run --reports "$reports" "$scn/fail"
check "failure: exit 1" test "$rc" -eq 1
check "failure: file:line: expected, got" \
    grep -q 'scenarios/fail/wrong-state.scn:8: expected d1 state TRANSFERRED within 10s, got' "$tmp/fail.out"
check "failure: state history" grep -q 'CONNECTING *-> ERROR' "$tmp/fail.out"
check "failure: requests" grep -q '#1 files.test GET /missing.bin' "$tmp/fail.out"
check "failure: junit failure with file:line" \
    grep -q '<failure type="expectation" message="[^"]*scenarios/fail/wrong-state.scn:8: expected' \
    "$reports/latest/junit.xml"

# --- a script error: exit 2, file:line:col and caret
run_xl bad.out run --reports "$reports" "$scn/bad" "$scn/pass/http-small.scn"
check "script error: exit 2" test "$rc" -eq 2
check "script error: file:line:col" \
    grep -q "scenarios/bad/typo.scn:8:18: unknown state 'TRANSFERING'; did you mean 'TRANSFERRING'?" \
    "$tmp/bad.out"
check "script error: the others still ran" grep -q 'pass/http-small *passed' "$tmp/bad.out"
check "script error: junit error" grep -q '<error type="script-error"' "$reports/latest/junit.xml"

# --- its own wall limit (exit 3 of scenario-exec) and the runner's kill: timeouts, exit 1
run_xl slow.out run --reports "$reports" "$scn/slow"
check "own time limit: exit 1" test "$rc" -eq 1
check "own time limit: timeout" grep -q 'slow/long-transfer *timeout' "$tmp/slow.out"
run_xl kill.out run --reports "$reports" --keep --wall-limit 500ms --time-limit 30s "$scn/slow"
check "wall limit: exit 1" test "$rc" -eq 1
check "wall limit: killed, timeout" grep -q 'killed by the runner at its wall limit' \
    "$reports/latest/results.json"
killed=$(sed -n 's/^  kept: //p' "$tmp/kill.out")
check "wall limit: directory kept" test -d "$killed"
# The bracket keeps pgrep from matching this check's own command line.
check "wall limit: nothing left running in it" \
    bash -c "! pgrep -f 'xfer[d] .*$killed' >/dev/null"
[[ "$killed" == /tmp/xferlab-run-* ]] && rm -rf "$killed"

# --- --filter: substring and glob; no match is misuse
run_xl filter.out run --reports "$reports" --filter http "$scn"
check "filter substring: exit 0" test "$rc" -eq 0
check "filter substring: the two http ones" \
    test "$(names "$reports/latest/results.json" | tr '\n' ' ')" = "pass/http-404 pass/http-small "
run_xl glob.out run --reports "$reports" --filter 'p*/t*' "$scn"
check "filter glob" test "$(names "$reports/latest/results.json" | tr '\n' ' ')" = \
    "pass/two-files "
check "filter recorded" grep -q '"filter": "p\*/t\*"' "$reports/latest/results.json"
run_xl nomatch.out run --reports "$reports" --filter nothing-like-this "$scn"
check "filter no match: exit 2" test "$rc" -eq 2

# --- --shard K/N: every scenario exactly once across the shards
run_xl all.out list "$scn/pass" "$scn/fail" "$scn/slow"
for n in 2 3; do
    : >"$tmp/shards"
    for k in $(seq 1 $n); do
        run_xl shard.out run --reports "$reports" --wall-limit 20s --time-limit 1s \
            --shard "$k/$n" "$scn/pass" "$scn/fail" "$scn/slow"
        names "$reports/latest/results.json" >>"$tmp/shards"
        grep -q "\"shard\": \"$k/$n\"" "$reports/latest/results.json" ||
            echo "shard $k/$n not recorded" >>"$tmp/shards.err"
    done
    check "shards of $n: each scenario once" \
        test "$(sort "$tmp/shards" | tr '\n' ' ')" = \
        "fail/wrong-state pass/http-404 pass/http-small pass/two-files slow/long-transfer "
    check "shards of $n: no duplicates" test -z "$(sort "$tmp/shards" | uniq -d)"
done
check "shards recorded" test ! -e "$tmp/shards.err"
run_xl badshard.out run --reports "$reports" --shard 3/2 "$scn/pass"
check "--shard 3/2: exit 2" test "$rc" -eq 2

# --- --repeat N: N attempts each, numbered
run_xl repeat.out run --reports "$reports" -j 2 --repeat 3 "$scn/pass/http-small.scn"
check "repeat: exit 0" test "$rc" -eq 0
check "repeat: three results" test "$(names "$reports/latest/results.json" | wc -l)" -eq 3
check "repeat: attempts 1..3" \
    test "$(grep -o '"attempt": [0-9]*' "$reports/latest/results.json" | sort | tr '\n' ' ')" = \
    '"attempt": 1 "attempt": 2 "attempt": 3 '
check "repeat: table of passes" grep -q 'pass/http-small *3/3' "$tmp/repeat.out"
check "repeat: junit names attempts" grep -q 'name="http-small #3"' "$reports/latest/junit.xml"

# --- --keep: the failing scenario's directory stays (with its result), passing ones go
run_xl keep.out run --reports "$reports" --keep "$scn/fail" "$scn/pass/http-small.scn"
kept=$(sed -n 's/^  kept: //p' "$tmp/keep.out")
check "keep: one directory printed" test "$(echo "$kept" | grep -c .)" -eq 1
check "keep: it holds result.json" test -s "$kept/result.json"
check "keep: recorded" grep -q '"kept_dir"' "$reports/latest/results.json"
[ -n "$kept" ] && [[ "$kept" == /tmp/xferlab-run-* ]] && rm -rf "$kept"

# --- misuse
for args in "-j 0" "--repeat x" "--seed -3" "--bogus" "--time-limit soon" "/nonexistent/dir"; do
    # shellcheck disable=SC2086
    run_xl usage.out run --reports "$reports" $args "$scn/pass"
    check "misuse '$args': exit 2" test "$rc" -eq 2
done

# --- xferlab report re-renders a run
rm -f "$reports/latest/junit.xml" "$reports/latest/index.html"
run_xl report.out report "$reports/latest"
check "report: exit 0" test "$rc" -eq 0
check "report: junit.xml again" "$xmlcheck" "$reports/latest/junit.xml"
check "report: index.html again" "$xmlcheck" --html "$reports/latest/index.html"
run_xl report2.out report "$tmp"
check "report without results.json: exit 1" test "$rc" -eq 1

# --- list, explain, repro over the test scenarios
run_xl list.out list "$scn/pass"
check "list: exit 0" test "$rc" -eq 0
check "list: title" grep -q 'pass/http-404 .*A 404 ends the job in ERROR' "$tmp/list.out"
check "list: covers" grep -q 'codes: BG_E_HTTP_ERROR_404' "$tmp/list.out"
run_xl listbad.out list "$scn/bad"
check "list of a bad script: exit 2" test "$rc" -eq 2
run_xl explain.out explain --scenarios "$scn/pass" BG_E_HTTP_ERROR_404
check "explain: produced by" grep -q 'produced by scenarios: pass/http-404' "$tmp/explain.out"
run_xl explain2.out explain --scenarios "$scn/pass" BG_E_NETWORK_DISCONNECTED
check "explain: quiet when none" bash -c "! grep -q 'produced by' '$tmp/explain2.out'"
run_xl repro.out repro --scenarios "$scn/pass" 0x80190194
check "repro: exit 0" test "$rc" -eq 0
check "repro: names the scenario" grep -q 'pass/http-404' "$tmp/repro.out"
check "repro: requests" grep -q '#1 files.test GET /missing.bin' "$tmp/repro.out"
check "repro: state changes" grep -q 'CONNECTING *-> ERROR' "$tmp/repro.out"
check "repro: the error object" grep -q 'error object (job d1, 0x80190194)' "$tmp/repro.out"
run_xl repro2.out repro --scenarios "$scn/pass" BG_E_NETWORK_DISCONNECTED
check "repro of an uncovered code: exit 1" test "$rc" -eq 1
run_xl repro3.out repro --scenarios "$scn/pass" NoSuchThing
check "repro of an unknown code: exit 1" test "$rc" -eq 1

check "no scenario directories left" bash -c "! ls -d /tmp/xferlab-run-* 2>/dev/null | xargs -r grep -l '$scn' 2>/dev/null | grep -q ."

echo "$((checks - failures))/$checks checks passed"
[ "$failures" -eq 0 ]
