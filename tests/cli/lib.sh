# Shared by the tests/cli/*_test.sh scripts. Set NAME (the script's name in
# messages), resolve paths given as arguments, then source this file: it makes
# a scratch directory $T (kept when KEEP is set), enters it, and defines
#   fail MSG            print "NAME: FAILED: MSG" and exit 1
#   step MSG            print "NAME: MSG"
#   expect_fail NEEDLE CMD...   CMD must fail cleanly (exit 1..127) with a line
#                       "lnn: error: ..." on stderr that contains NEEDLE
#   python_with MODULES print a python3 that imports MODULES ("h5py, numpy"):
#                       the first on PATH, else Debian's /usr/bin/python3 (where
#                       scripts/setup.sh installs them; pyenv's may lack them)
T=$(mktemp -d "${TMPDIR:-/tmp}/lnn_${NAME}.XXXXXX")
trap '[[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT
cd "$T"

fail() { echo "$NAME: FAILED: $*" >&2; exit 1; }
step() { echo "$NAME: $*"; }

expect_fail() {
  local needle=$1; shift
  local rc=0
  "$@" >"$T/fail.out" 2>"$T/fail.err" || rc=$?
  [[ $rc -ne 0 ]] || fail "expected failure: $*"
  [[ $rc -lt 128 ]] || fail "crashed (exit $rc): $*"
  grep -q '^lnn: error: ' "$T/fail.err" || fail "no 'lnn: error:' line: $* => $(cat "$T/fail.err")"
  grep -qF -- "$needle" "$T/fail.err" ||
    fail "message lacks '$needle': $* => $(cat "$T/fail.err")"
}

python_with() {
  local p
  for p in python3 /usr/bin/python3; do
    if "$p" -c "import $1" 2>/dev/null; then echo "$p"; return 0; fi
  done
  fail "no Python with $1 (run scripts/setup.sh)"
}
