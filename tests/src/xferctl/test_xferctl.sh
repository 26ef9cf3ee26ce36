#!/usr/bin/env bash
# xferctl end to end, as a user meets it: a real xferd on a private socket and
# a fault server (xferlab serve) on loopback, both started here and stopped at
# the end. Every verb runs at least once with its output checked; --json output
# is parsed (jsonget, on jansson); misuse exits 2 for each verb; refusals exit 1
# with the engine's reason; transfer downloads (SHA-256 checked) and fails on a
# 404 with the job cancelled; monitor prints progress and state lines when its
# output is not a terminal.
# Usage: test_xferctl.sh XFERCTL XFERD XFERLAB JSONGET
set -u
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
ctl_bin=$(abs "$1")
xferd_bin=$(abs "$2")
xl_bin=$(abs "$3")
jsonget=$(abs "$4")
tmp=$(mktemp -d /tmp/xferctl-test-XXXXXX)
xd_pid=
srv_pid=
mon_pid=
monj_pid=
tb_pid=
cleanup() {
    for p in $mon_pid $monj_pid $tb_pid $xd_pid $srv_pid; do kill "$p" 2>/dev/null; done
    for p in $mon_pid $monj_pid $tb_pid $xd_pid $srv_pid; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0
check() { # name, condition result
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi
}
sock=$tmp/run/xferd.sock
ctl() { "$ctl_bin" --socket "$sock" "$@"; }
# expect NAME CODE PATTERN ARGS...: xferctl ARGS exits CODE and its output (stdout+stderr) matches PATTERN.
expect() {
    local name=$1 code=$2 pat=$3
    shift 3
    ctl "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$code" ] && grep -qE -- "$pat" "$tmp/out" "$tmp/err"
    local ok=$?
    [ "$ok" -ne 0 ] && { echo "  xferctl $*: exit $rc, want $code and /$pat/; output:"; cat "$tmp/out" "$tmp/err" | head -8; }
    check "$name" "$ok"
}
# json NAME PATH WANT ARGS...: xferctl --json ARGS prints JSON whose PATH is WANT.
json() {
    local name=$1 path=$2 want=$3
    shift 3
    local got
    got=$(ctl --json "$@" 2>"$tmp/err" | "$jsonget" "$path")
    [ "$got" = "$want" ]
    local ok=$?
    [ "$ok" -ne 0 ] && { echo "  xferctl --json $*: $path is '$got', want '$want'"; head -3 "$tmp/err"; }
    check "$name" "$ok"
}
# wait_state JOB STATE: poll getstate (a safety bound of 60 s, not a timing check).
wait_state() {
    local s
    for _ in $(seq 600); do
        s=$(ctl getstate "$1" 2>/dev/null)
        [ "$s" = "$2" ] && return 0
        sleep 0.1
    done
    echo "  job $1 is '$s', never '$2'"
    return 1
}
wait_line() { # FILE PATTERN: wait for a line (safety bound 10 s)
    for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

# ------------------------------------------------------------------ no xferd needed
expect "no verb is misuse" 2 "usage: xferctl" 
expect "help lists the verbs" 0 "setnotifycmdline" help
expect "unknown verb suggests" 2 "unknown verb 'lsit' \(did you mean 'list'\?\)" lsit
expect "unknown global option" 2 "unknown option '--colour'" --colour list
for v in $("$ctl_bin" help | awk '/^verbs:/{on=1; next} /^$/{on=0} on{print $1}'); do
    expect "$v --help" 0 "usage: xferctl $v" "$v" --help
    expect "$v: unknown flag is misuse" 2 "xferctl $v: unknown option '--bogus'" "$v" --bogus
done
n=$("$ctl_bin" help | awk '/^verbs:/{on=1; next} /^$/{on=0} on' | wc -l)
[ "$n" -ge 24 ]; check "help lists $n verbs" $?
# Missing and extra arguments, for every verb that takes them.
for v in create addfile addfilewithranges resume suspend cancel complete info getstate geterror \
         setpriority setnoprogresstimeout setminretrydelay setcostpolicy setnotifyflags setheader \
         setcredentials setproxy setnotifycmdline set get transfer explain; do
    expect "$v: missing arguments" 2 "xferctl $v: missing arguments" "$v"
done
for v in list monitor reset; do expect "$v: extra argument" 2 "extra argument 'x'" "$v" x; done
expect "create: extra argument" 2 "extra argument 'b'" create a b
expect "info: extra argument" 2 "extra argument 'b'" info a b
expect "addfile: extra argument" 2 "extra argument 'd'" addfile a b c d
expect "setpriority: extra argument" 2 "extra argument 'c'" setpriority a b c
expect "setcredentials: extra argument" 2 "extra argument 'f'" setcredentials a b c d e f
expect "setproxy: extra argument" 2 "extra argument 'd'" setproxy a OVERRIDE c d
expect "explain: extra argument" 2 "extra argument 'b'" explain a b
# Bad numbers and the verbs' own syntax.
expect "setnoprogresstimeout: bad number" 2 "'abc' is not a whole number" setnoprogresstimeout j abc
expect "setminretrydelay: negative" 2 "'-5' is not a whole number" setminretrydelay j -5
expect "setnotifyflags: bad number" 2 "'both' is not a whole number" setnotifyflags j both
expect "monitor: bad refresh" 2 "--refresh: 'soon' is not a whole number" monitor --refresh soon
expect "monitor: refresh 0" 2 "not from 1 to 86400" monitor --refresh 0
expect "addfilewithranges: bad range" 2 "range '0-10' is not OFFSET:LENGTH" addfilewithranges j http://h/ /tmp/x 0-10
expect "addfilewithranges: bad length" 2 "range length 'lots'" addfilewithranges j http://h/ /tmp/x 0:lots
expect "transfer: unpaired URL" 2 "URL and PATH come in pairs" transfer t http://h/a /tmp/a http://h/b
expect "create: both types" 2 "exclude each other" create --upload --download n
expect "setcredentials: bad target" 2 "target 'web' is not server or proxy" setcredentials j web basic u p
expect "setproxy: bad usage" 2 "'SOMETIMES' is not PRECONFIG or OVERRIDE" setproxy j SOMETIMES
expect "setproxy: OVERRIDE without URL" 2 "OVERRIDE needs the proxy's URL" setproxy j OVERRIDE
expect "setheader: not a header" 2 "is not \"Name: value\"" setheader j nocolon
expect "--socket without a path" 2 "--socket needs a PATH" --socket
# explain works without xferd and prints the rows as xferlab explain does (which
# may add harness facts, such as the scenarios that produce a code, between them).
for code in BG_E_NETWORK_DISCONNECTED 0x80190194 NetworkDisconnected 0x801901A6 -2145386495; do
    "$ctl_bin" --socket /nonexistent explain "$code" >"$tmp/a" 2>&1; rc=$?
    "$xl_bin" explain "$code" >"$tmp/b" 2>&1
    rows_a=$(grep -cE '^[A-Z][A-Za-z0-9_]+  0x[0-9A-F]{8}$' "$tmp/a")
    rows_b=$(grep -cE '^[A-Z][A-Za-z0-9_]+  0x[0-9A-F]{8}$' "$tmp/b")
    [ "$rc" -eq 0 ] && [ "$rows_a" -ge 1 ] && [ "$rows_a" = "$rows_b" ] &&
        [ -z "$(grep -vxFf "$tmp/b" "$tmp/a" | grep -v '^$')" ]
    check "explain $code: the rows xferlab explain prints ($rows_a)" $?
done
"$ctl_bin" explain --json NetworkDisconnected >"$tmp/a"; "$xl_bin" explain --json NetworkDisconnected >"$tmp/b"
ok=0
for path in '#' 0.name 0.hresult 0.message 0.context 0.winrt_status.name 1.name 1.interrupt_reason.value; do
    [ "$("$jsonget" "$path" <"$tmp/a")" = "$("$jsonget" "$path" <"$tmp/b")" ] || { ok=1; echo "  explain --json: $path differs"; }
done
check "explain --json: the rows of xferlab explain --json" $ok
[ "$("$jsonget" 0.interrupt_reason.name <"$tmp/a")" = NetworkDisconnected ]; check "explain --json parses" $?
expect "explain: unknown code" 1 "'NoSuchThing' is not a known code" explain NoSuchThing
expect "unreachable xferd" 1 "cannot reach xferd at $tmp/run/xferd.sock" list

# ------------------------------------------------------------------ servers
"$xl_bin" serve --http 0 --file /a.bin=3MiB:7 --file /b.bin=1MiB:8 --file /slow.bin=3MiB:9 \
    --file /stuck.bin=8MiB:10 --file /busy.bin=256KiB:11 --file /busy-ref.bin=256KiB:11 \
    --rule 'throttle 1MiB/s path=/slow.bin' --rule 'throttle 64KiB/s path=/stuck.bin' \
    --rule 'status 503 path=/busy.bin first=4' >"$tmp/serve.out" 2>"$tmp/serve.err" &
srv_pid=$!
wait_line "$tmp/serve.out" 'listening http'
port=$(awk '/listening http /{sub(/.*:/,"",$3); print $3}' "$tmp/serve.out")
[ -n "$port" ]; check "fault server listening (port $port)" $?
url=http://127.0.0.1:$port
for f in a b slow; do curl -s "$url/$f.bin" | sha256sum | cut -d' ' -f1 >"$tmp/$f.sha"; done
# (busy.bin's first requests are 503s, for xferd: its twin gives the content.)
curl -s "$url/busy-ref.bin" | sha256sum | cut -d' ' -f1 >"$tmp/busy.sha"
"$xferd_bin" --state-dir "$tmp/state" --socket "$tmp/run/xferd.sock" --access private \
    >"$tmp/xferd.out" 2>"$tmp/xferd.err" &
xd_pid=$!
wait_line "$tmp/xferd.out" '^listening '
check "xferd listening" $?
mkdir -p "$tmp/dl"

# ------------------------------------------------------------------ create, add, read
expect "create" 0 "^created job \{[0-9A-F-]{36}\}$" create j1
g1=$(grep -oE '\{[0-9A-F-]{36}\}' "$tmp/out")
g1re=$(printf '%s' "$g1" | sed 's/[{}]/\\&/g') # the GUID as a regular expression
ctl --json create j1-json | "$jsonget" job | grep -qE '^\{[0-9A-F-]{36}\}$'; check "create --json" $?
expect "cancel the --json one" 0 "^Job canceled\.$" cancel j1-json
expect "addfile" 0 "^added $url/a.bin -> $tmp/dl/a.bin to job j1\.$" addfile j1 "$url/a.bin" "$tmp/dl/a.bin"
(cd "$tmp/dl" && "$ctl_bin" --socket "$tmp/run/xferd.sock" addfile "$g1" "$url/b.bin" b.bin >"$tmp/out" 2>&1)
grep -q -- "-> $tmp/dl/b.bin to job" "$tmp/out"; check "addfile: a relative path is made absolute" $?
expect "info" 0 "^GUID: $g1re DISPLAY: 'j1'$" info j1
grep -q "^TYPE: DOWNLOAD STATE: SUSPENDED OWNER: " "$tmp/out"; check "info: type, state, owner" $?
grep -q "^PRIORITY: NORMAL FILES: 0 / 2 BYTES: " "$tmp/out"; check "info: priority and files" $?
grep -q "^RETRY DELAY: 600 NO PROGRESS TIMEOUT: 1209600 ERROR COUNT: 0$" "$tmp/out"; check "info: retry delay, timeout, errors" $?
grep -q "^NOTIFICATION FLAGS: 3$" "$tmp/out"; check "info: notification flags" $?
expect "info --verbose lists files" 0 "$url/a.bin -> $tmp/dl/a.bin" info j1 --verbose
grep -q "^JOB FILES:$" "$tmp/out" && grep -q "^PROXY USAGE: PRECONFIG PROXY LIST: NULL$" "$tmp/out" &&
    grep -q "^COST FLAGS: 0x80000067 (STANDARD)$" "$tmp/out"
check "info --verbose: files, proxy, cost" $?
json "info --json: state" state SUSPENDED info j1
json "info --json: file url" files.0.url "$url/a.bin" info j1
json "info --json: files" "files#" 2 info "$g1"
expect "list" 0 "^$g1re 'j1' SUSPENDED 0 / 2 " list
grep -qE "^Listed [0-9]+ job\(s\)\.$" "$tmp/out"; check "list: count line" $?
json "list --json" 0.job "$g1" list
expect "list --verbose" 0 "^JOB FILES:$" list --verbose
expect "getstate" 0 "^Suspended$" getstate j1
json "getstate --json" state SUSPENDED getstate j1
expect "geterror without an error" 1 "BG_E_ERROR_INFORMATION_UNAVAILABLE \(0x8020000F\)" geterror j1
expect "refusal: unknown job" 1 "^xferctl: info: BG_E_NOT_FOUND \(0x80200001\): .+ — .+" info nosuchjob
expect "refusal: resume an empty job" 1 "^xferctl: resume: BG_E_EMPTY \(0x80200003\): " \
    resume "$(ctl create empty | grep -oE '\{[0-9A-F-]{36}\}')"
ctl cancel empty >/dev/null 2>&1
ctl create dup >/dev/null; ctl create dup >/dev/null
expect "ambiguous name" 1 "^xferctl: info: .*ambiguous" info dup
for g in $(ctl list | awk '$2 == "'"'dup'"'" {print $1}'); do ctl cancel "$g" >/dev/null; done

# ------------------------------------------------------------------ properties
expect "setpriority" 0 "^priority of job j1 set\.$" setpriority j1 HIGH
expect "info shows the priority" 0 "^PRIORITY: HIGH " info j1
expect "setpriority: engine refuses" 1 "^xferctl: setpriority: E_INVALIDARG \(0x80070057\): .* — priority: 'URGENT' is not FOREGROUND" setpriority j1 URGENT
expect "setnoprogresstimeout" 0 "set\.$" setnoprogresstimeout j1 100
expect "setminretrydelay" 0 "set\.$" setminretrydelay j1 30
expect "info shows both" 0 "^RETRY DELAY: 30 NO PROGRESS TIMEOUT: 100 " info j1
expect "setcostpolicy WinRT name" 0 "set\.$" setcostpolicy j1 UnrestrictedOnly
json "cost flags" cost_flags 0x80000021 info j1
expect "setcostpolicy hex" 0 "set\.$" setcostpolicy j1 0x80000067
json "cost flags hex" cost_flags 0x80000067 info j1
expect "setcostpolicy: engine refuses" 1 "E_INVALIDARG .* — cost_policy: 'Sometimes' is not" setcostpolicy j1 Sometimes
expect "setnotifyflags" 0 "set\.$" setnotifyflags j1 1
expect "info shows notify flags" 0 "^NOTIFICATION FLAGS: 1$" info j1
expect "setnotifyflags: engine refuses" 1 "— notify_flags: '255' is not" setnotifyflags j1 255
expect "setnotifycmdline" 0 "set\.$" setnotifycmdline j1 /bin/echo "hello there"
expect "info shows the command line" 0 "^NOTIFICATION COMMAND LINE: /bin/echo hello there$" info j1
expect "setnotifycmdline: bitsadmin form" 0 "set\.$" setnotifycmdline j1 /bin/echo "/bin/echo hi"
expect "the program is not doubled" 0 "^NOTIFICATION COMMAND LINE: /bin/echo hi$" info j1
expect "setnotifycmdline NULL" 0 "set\.$" setnotifycmdline j1 NULL
expect "command line removed" 0 "^NOTIFICATION COMMAND LINE: none$" info j1
expect "setnotifycmdline: engine refuses" 1 "— notify_cmdline: 'echo hi' must start with" setnotifycmdline j1 echo hi
expect "setheader" 0 "^headers of job j1 set\.$" setheader j1 "X-One: 1"
ctl setheader j1 "X-Two: 2" >/dev/null
ctl setheader j1 "x-one: uno" >/dev/null
[ "$(ctl get j1 headers)" = "$(printf 'X-Two: 2\nx-one: uno')" ]; check "setheader adds and replaces by name" $?
ctl setheader j1 "X-Two:" >/dev/null
[ "$(ctl get j1 headers)" = "x-one: uno" ]; check "setheader 'Name:' removes it" $?
ctl setheader j1 NULL >/dev/null
[ -z "$(ctl get j1 headers)" ]; check "setheader NULL clears" $?
expect "setheader: engine refuses" 1 "— headers: bad character" setheader j1 "Bad Name: x"
expect "setcredentials" 0 "^server_credentials of job j1 set\.$" setcredentials j1 server basic alice s3cret
expect "get shows them without the password" 0 "^basic alice:\*+$" get j1 server_credentials
expect "setcredentials proxy" 0 "^proxy_credentials of job j1 set\.$" setcredentials j1 proxy digest bob pw
expect "setcredentials: engine refuses" 1 "— server_credentials: scheme 'ntlm' is not basic or digest" setcredentials j1 server ntlm a b
expect "setproxy OVERRIDE" 0 "^proxy of job j1 set\.$" setproxy j1 OVERRIDE http://127.0.0.1:9
expect "info --verbose shows it" 0 "^PROXY USAGE: OVERRIDE PROXY LIST: http://127.0.0.1:9$" info j1 --verbose
expect "setproxy: engine refuses" 1 "— proxy: 'ftp://x' is not an http" setproxy j1 OVERRIDE ftp://x
expect "setproxy PRECONFIG" 0 "set\.$" setproxy j1 PRECONFIG
[ -z "$(ctl get j1 proxy)" ]; check "PRECONFIG clears the proxy" $?
expect "set (any property)" 0 "^description of job j1 set\.$" set j1 description "first job"
expect "get (any property)" 0 "^first job$" get j1 description
json "get --json" value "first job" get j1 description
expect "get: unknown property" 1 "^xferctl: get: [A-Z_]+ \(0x[0-9A-F]{8}\): " get j1 colour
ctl setpriority j1 NORMAL >/dev/null

# ------------------------------------------------------------------ resume, complete, ranges
expect "resume" 0 "^Job resumed\.$" resume j1
wait_state j1 Transferred; check "j1 transferred" $?
expect "complete" 0 "^Job completed\.$" complete j1
[ "$(sha256sum <"$tmp/dl/a.bin" | cut -d' ' -f1)" = "$(cat "$tmp/a.sha")" ] &&
    [ "$(sha256sum <"$tmp/dl/b.bin" | cut -d' ' -f1)" = "$(cat "$tmp/b.sha")" ]
check "complete: both files with the right SHA-256" $?
expect "refusal: complete twice" 1 "^xferctl: complete: BG_E_[A-Z_]+ \(0x8020[0-9A-F]{4}\): " complete "$g1"

ctl create ranged >/dev/null
expect "addfilewithranges" 0 "\(2 ranges\) to job ranged\.$" addfilewithranges ranged "$url/a.bin" "$tmp/dl/r.bin" 0:1KiB,2048:eof
json "ranges reach xferd" files.0.ranges 2 info ranged
expect "addfilewithranges: engine refuses" 1 "^xferctl: addfilewithranges: E_INVALIDARG .* — range 1: length 0" addfilewithranges ranged "$url/a.bin" "$tmp/dl/r2.bin" 5:0
ctl cancel ranged >/dev/null

# ------------------------------------------------------------------ a job in ERROR
ctl create e404 >/dev/null
ctl addfile e404 "$url/none.bin" "$tmp/dl/e404.bin" >/dev/null
ctl resume e404 >/dev/null
wait_state e404 Error; check "a 404 puts the job in ERROR" $?
expect "geterror" 0 "^ERROR CODE: +0x80190194 - BG_E_HTTP_ERROR_404: " geterror e404
grep -qE "^ERROR FILE: +$url/none.bin -> $tmp/dl/e404.bin$" "$tmp/out" &&
    grep -qE "^ERROR CONTEXT: 0x00000005 - REMOTE_FILE$" "$tmp/out" &&
    grep -qE "^CLASS: +fatal" "$tmp/out" && grep -qE "^WEB ERROR: +NotFound$" "$tmp/out" &&
    grep -qE "^INTERRUPT: +ServerBadContent$" "$tmp/out"
check "geterror: file, context, class and the three vocabularies" $?
json "geterror --json" error.hr_name BG_E_HTTP_ERROR_404 geterror e404
json "geterror --json: interrupt reason" error.interrupt_reason ServerBadContent geterror e404
expect "info shows the error" 0 "^ERROR CODE: +0x80190194 - BG_E_HTTP_ERROR_404" info e404
grep -q "^TYPE: DOWNLOAD STATE: ERROR " "$tmp/out" && grep -q "ERROR COUNT: 1$" "$tmp/out"
check "info: state ERROR, one error" $?
expect "info --verbose: the WinRT view" 0 "^WINRT STATUS: Error$" info e404 --verbose
expect "getstate: Error" 0 "^Error$" getstate e404
if [ "$(id -u)" = 0 ]; then
    expect "list --all-users (root)" 0 "'e404' ERROR 0 / 1" list --all-users
else
    expect "list --all-users (not root): refused" 1 "^xferctl: list: .*all_users" list --all-users
fi
ctl cancel e404 >/dev/null

# ------------------------------------------------------------------ suspend, cancel, partial complete
expect "create j2" 0 "created job" create j2
ctl addfile j2 "$url/stuck.bin" "$tmp/dl/stuck.bin" >/dev/null
ctl resume j2 >/dev/null
wait_state j2 Transferring; check "j2 transferring" $?
expect "suspend" 0 "^Job suspended\.$" suspend j2
expect "getstate after suspend" 0 "^Suspended$" getstate j2
expect "complete unfinished: partial" 0 "^Job partially completed \(BG_S_PARTIAL_COMPLETE" complete j2
[ ! -e "$tmp/dl/stuck.bin" ]; check "partial complete keeps no unfinished file" $?
ctl create j3 >/dev/null
ctl addfile j3 "$url/stuck.bin" "$tmp/dl/stuck3.bin" >/dev/null
ctl resume j3 >/dev/null
expect "cancel" 0 "^Job canceled\.$" cancel j3
expect "refusal: cancel twice" 1 "^xferctl: cancel: BG_E_[A-Z_]+ \(0x8020[0-9A-F]{4}\): .+ — " cancel j3
[ "$(ls -A "$tmp/dl" | grep -c '^\.BIT')" -eq 0 ]; check "cancel and partial complete leave no temporary file" $?

# ------------------------------------------------------------------ transfer
expect "transfer" 0 "^Transfer complete\.$" transfer t1 --priority FOREGROUND "$url/a.bin" "$tmp/dl/t1.bin" "$url/b.bin" "$tmp/dl/t1b.bin"
grep -qE "^created job \{[0-9A-F-]{36}\}$" "$tmp/out"; check "transfer: says its job" $?
grep -qE "'t1' TRANSFERRED .*100%" "$tmp/out"; check "transfer: plain progress line at 100%" $?
[ "$(sha256sum <"$tmp/dl/t1.bin" | cut -d' ' -f1)" = "$(cat "$tmp/a.sha")" ] &&
    [ "$(sha256sum <"$tmp/dl/t1b.bin" | cut -d' ' -f1)" = "$(cat "$tmp/b.sha")" ]
check "transfer: files with the right SHA-256" $?
expect "transfer of a 404" 1 "ERROR CODE: +0x80190194 - BG_E_HTTP_ERROR_404" transfer t404 "$url/none.bin" "$tmp/dl/none.bin"
grep -q "canceled" "$tmp/err"; check "transfer of a 404: says it canceled the job" $?
g404=$(grep -oE '\{[0-9A-F-]{36}\}' "$tmp/out" | head -1)
! ctl list | grep -q "'t404'"; check "transfer of a 404: the job is gone from the list" $?
expect "transfer of a 404: job no longer usable" 1 "xferctl: resume: " resume "$g404"
# The first 4 requests get 503: the automatic retries run out, the job waits in
# TRANSIENT_ERROR for its retry delay; another client's Resume retries at once.
"$ctl_bin" --socket "$sock" transfer tbusy "$url/busy.bin" "$tmp/dl/busy.bin" >"$tmp/tb.out" 2>"$tmp/tb.err" &
tb_pid=$!
wait_state tbusy Transient_Error; check "transfer: the job meets a transient error" $?
ctl resume tbusy >/dev/null
wait "$tb_pid"; rc=$?
tb_pid=
[ "$rc" -eq 0 ] && grep -q "^Transfer complete\.$" "$tmp/tb.out"; check "transfer: survives the transient error (exit $rc)" $?
grep -q "transient error BG_E_HTTP_ERROR_503 (0x801901F7)" "$tmp/tb.err"; check "transfer: reports the transient error" $?
[ "$(sha256sum <"$tmp/dl/busy.bin" | cut -d' ' -f1)" = "$(cat "$tmp/busy.sha")" ]; check "transfer after 503s: right SHA-256" $?
expect "transfer: engine refuses the priority" 1 "— priority: 'SOON' is not" transfer tp --priority SOON "$url/a.bin" "$tmp/dl/tp.bin"
! ctl list | grep -q "'tp'"; check "transfer refused: its job is cancelled" $?
json "transfer --json: the job as transferred" job.state TRANSFERRED transfer tj "$url/b.bin" "$tmp/dl/tj.bin"
json "transfer --json: what complete said" complete.hr_name S_OK transfer tj2 "$url/b.bin" "$tmp/dl/tj2.bin"

# ------------------------------------------------------------------ monitor (not a terminal)
ctl create tm >/dev/null
ctl addfile tm "$url/slow.bin" "$tmp/dl/slow.bin" >/dev/null
"$ctl_bin" --socket "$sock" --json monitor >"$tmp/monj.out" 2>&1 &
monj_pid=$!
"$ctl_bin" --socket "$sock" monitor --refresh 1 >"$tmp/mon.out" 2>"$tmp/mon.err" &
mon_pid=$!
# The plain monitor lists the jobs once it has subscribed; then the job moves.
wait_line "$tmp/mon.out" "'tm' SUSPENDED"; check "monitor: lists the jobs first" $?
ctl resume tm >/dev/null
wait_state tm Transferred; check "the throttled job is transferred" $?
ctl complete tm >/dev/null
[ "$(sha256sum <"$tmp/dl/slow.bin" | cut -d' ' -f1)" = "$(cat "$tmp/slow.sha")" ]; check "the throttled file's SHA-256" $?
wait_line "$tmp/mon.out" "-> ACKNOWLEDGED"
kill -INT "$mon_pid" "$monj_pid"
wait "$mon_pid"; rc=$?
wait "$monj_pid"; rcj=$?
mon_pid=
monj_pid=
[ "$rc" -eq 0 ] && [ "$rcj" -eq 0 ]; check "monitor: Ctrl-C ends it with exit 0 ($rc, $rcj)" $?
grep -qE "'tm' state SUSPENDED -> QUEUED" "$tmp/mon.out"; check "monitor: state lines" $?
grep -qE "'tm' state TRANSFERRING -> TRANSFERRED" "$tmp/mon.out"; check "monitor: TRANSFERRED line" $?
grep -qE "'tm' progress file 0: [0-9]+ / 3145728 \([0-9]+%\)" "$tmp/mon.out"; check "monitor: progress lines" $?
grep -qE "'tm' file 0 transferred: 3145728 bytes" "$tmp/mon.out"; check "monitor: file line" $?
ok=0; lines=0
while IFS= read -r line; do
    lines=$((lines + 1))
    printf '%s' "$line" | "$jsonget" type >/dev/null 2>&1 || ok=1
done <"$tmp/monj.out"
[ "$ok" -eq 0 ] && [ "$lines" -gt 2 ]; check "monitor --json: $lines event lines, each JSON" $?
if command -v script >/dev/null; then
    # On a terminal: the table, redrawn in place.
    timeout -s INT 3 script -qfec "$ctl_bin --socket $sock monitor --refresh 1" /dev/null >"$tmp/tty.out" 2>&1
    grep -q "MONITORING BACKGROUND COPY MANAGER (1 second refresh)" "$tmp/tty.out" &&
        [ "$(grep -c $'\033\\[H' "$tmp/tty.out")" -ge 2 ]
    check "monitor on a terminal redraws its table" $?
fi

# ------------------------------------------------------------------ reset
ctl create r1 >/dev/null; ctl create r2 >/dev/null
m=$(ctl list | grep -cE '^\{')
expect "reset" 0 "^$m out of $m jobs canceled\.$" reset
[ "$(grep -cE '^\{[0-9A-F-]{36}\} canceled\.$' "$tmp/out")" -eq "$m" ]; check "reset: one line per job" $?
expect "nothing left" 0 "^Listed 0 job\(s\)\.$" list

# ------------------------------------------------------------------ xferd gone
kill -TERM "$xd_pid"; wait "$xd_pid"; xd_pid=
expect "xferd stopped: failure, not misuse" 1 "cannot reach xferd" getstate j1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
