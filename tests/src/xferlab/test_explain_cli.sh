#!/bin/bash
# xferlab explain as a user meets it: names, HRESULTs, interrupt reasons, JSON,
# unknown codes (exit 1) and misuse (exit 2). Argument: the xferlab binary.
set -u
XL=$1
fails=0
check() { # description, expected exit, command...
    local what=$1 want=$2
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $what: exit $rc, want $want"; echo "$out"; fails=$((fails + 1))
    else
        echo "ok: $what"
    fi
}
expect_text() { # description, text, command...
    local what=$1 text=$2
    shift 2
    if "$@" 2>&1 | grep -qF -- "$text"; then echo "ok: $what"; else
        echo "FAIL: $what: no '$text'"; fails=$((fails + 1)); fi
}
check "by name" 0 "$XL" explain BG_E_NETWORK_DISCONNECTED
expect_text "name shows the interrupt reason" "NetworkDisconnected (14)" "$XL" explain bg_e_network_disconnected
expect_text "hex finds the row" "BG_E_MISSING_FILE_SIZE" "$XL" explain 0x80200011
expect_text "an undefined HTTP status names its class" "HTTP status 422" "$XL" explain 0x801901A6
expect_text "interrupt reason lists every producer" "BG_E_HTTP_ERROR_404" "$XL" explain ServerBadContent
expect_text "json" '"interrupt_reason"' "$XL" explain --json FileTooShort
check "unknown code" 1 "$XL" explain NoSuchThing
check "unknown hresult" 1 "$XL" explain 0x12345678
check "no argument" 2 "$XL" explain
check "two arguments" 2 "$XL" explain a b
check "bad option" 2 "$XL" explain --colour x
check "help" 0 "$XL" explain --help
[ "$fails" = 0 ] && echo "all explain checks passed" || { echo "$fails failed"; exit 1; }
