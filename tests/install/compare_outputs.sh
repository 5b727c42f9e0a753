#!/usr/bin/env bash
# Compares an example's output with the reference's, line by line:
#   compare_outputs.sh <reference> <output> <name>
# Lines are "<key …> <value>" ('#' lines skipped); the keys must match in
# order and each value agree to 1e-12 relative (|a − b| <= 1e-12·max(|a|, |b|)).
# Integers (status lines) must be equal. The reference must be all finite.
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: $0 <reference> <output> <name>" >&2; exit 2; }
awk -v name="$3" '
  function abs(x) { return x < 0 ? -x : x }
  FNR == NR { if ($0 !~ /^#/ && NF) ref[++nref] = $0; next }
  $0 ~ /^#/ || !NF { next }
  {
    ++nout
    if (nout > nref) { printf "%s: extra line %d: %s\n", name, nout, $0; bad = 1; exit }
    nr = split(ref[nout], r, " ")
    key = $1; rkey = r[1]
    for (i = 2; i < NF; ++i) key = key " " $i
    for (i = 2; i < nr; ++i) rkey = rkey " " r[i]
    if (key != rkey) { printf "%s: line %d is \"%s\", reference \"%s\"\n", name, nout, $0, ref[nout]; bad = 1; exit }
    rv = r[nr]; v = $NF
    if (tolower(rv) ~ /nan|inf/) { printf "%s: reference value not finite: %s\n", name, ref[nout]; bad = 1; exit }
    if (tolower(v) ~ /nan|inf/) { printf "%s: %s (reference %s)\n", name, $0, rv; bad = 1; next }
    a = v + 0; b = rv + 0
    m = abs(a) > abs(b) ? abs(a) : abs(b)
    if (abs(a - b) > 1e-12 * m) { printf "%s: %s differs from the reference %s\n", name, $0, rv; bad = 1 }
    if (abs(a - b) > maxdiff) maxdiff = abs(a - b)
  }
  END {
    if (bad) exit 1
    if (nout != nref) { printf "%s: %d values, the reference has %d\n", name, nout, nref; exit 1 }
    if (nref == 0) { printf "%s: no values\n", name; exit 1 }
    printf "%s: %d values agree with the reference (max |difference| %g)\n", name, nout, maxdiff
  }' "$1" "$2"
