#!/usr/bin/env bash
# End-to-end test of the `lnn` program (ctest: cli.end_to_end).
# Usage: bash tests/cli/cli_test.sh path/to/lnn
#
# Needs only bash and python3 (json, struct, math: no NumPy). A model file is
# also written by hand here, and its acceleration and energy are checked
# against a value computed independently in Python. KEEP=1 keeps the scratch
# directory for inspection.
set -euo pipefail

LNN=${1:?usage: cli_test.sh path/to/lnn}
LNN=$(cd "$(dirname "$LNN")" && pwd)/$(basename "$LNN")
[[ -x $LNN ]] || { echo "cli_test: $LNN is not an executable" >&2; exit 1; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
NAME=cli_test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- info and help ----------------------------------------------------------
step "info"
"$LNN" info >info.txt
grep -q '^lnn ' info.txt || fail "lnn info: no version line"
grep -q 'cpu' info.txt || fail "lnn info: no cpu backend"
grep -q 'cuda' info.txt || fail "lnn info: no cuda line"
"$LNN" info --json >info.json
python3 -c 'import json,sys; json.load(sys.stdin)' <info.json || fail "lnn info --json: invalid JSON"
python3 - info.json <<'EOF' || fail "lnn info --json: missing keys"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] and d["blas"]
assert d["backends"]["cpu"]["usable"] is True
cuda = d["backends"]["cuda"]
assert isinstance(cuda["compiled"], bool) and isinstance(cuda["usable"], bool)
assert cuda["usable"] or cuda["reason"]
assert d["cpu_threads"] >= 1 and d["hardware_concurrency"] >= 0
EOF

step "help"
"$LNN" --help | grep -q 'eval' || fail "lnn --help does not list eval"
"$LNN" --version | grep -q '[0-9]' || fail "lnn --version"
for cmd in info init predict eval throughput; do
  "$LNN" "$cmd" --help >help.txt || fail "lnn $cmd --help exited non-zero"
  grep -q -- '--' help.txt || fail "lnn $cmd --help printed no options"
done
rc=0; "$LNN" >/dev/null 2>nocmd.err || rc=$?
[[ $rc -eq 1 ]] || fail "lnn without a command: exit $rc, expected 1"
grep -q 'Usage' nocmd.err || fail "lnn without a command prints no help"
rc=0; "$LNN" predict --model x --states y --out z --no-such-flag 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "unknown flag: exit $rc, expected 2"

# ---- init + eval on a hand-written CSV --------------------------------------
step "init and eval"
"$LNN" init --out small.safetensors --hidden 16,16 --seed 1 >/dev/null
[[ -s small.safetensors ]] || fail "lnn init wrote nothing"
cat >states.csv <<'EOF'
q1,q2,qd1,qd2
# five states of a 2-DOF system
0.1, 0.2, 0.3, 0.4
1,2,3,4

0,0,0,0
3.14159,-1,2,-2
0.5,0.5,-0.5,1e-3
EOF
# LU, not Cholesky: the mass matrix of a random network need not be positive
# definite, but it is nonsingular.
"$LNN" eval --model small.safetensors --states states.csv --out out.csv --solver lu 2>eval.err
[[ $(wc -l <out.csv) -eq 6 ]] || fail "eval: expected 6 lines, got $(wc -l <out.csv)"
[[ $(head -1 out.csv) == "qdd_1,qdd_2,energy,status,min_pivot" ]] || fail "eval: header $(head -1 out.csv)"
awk -F, 'NR > 1 && (NF != 5 || $4 != "ok") { exit 1 }' out.csv || fail "eval: bad rows: $(cat out.csv)"
grep -q '5 samples, 0 failed' eval.err || fail "eval: summary: $(cat eval.err)"
ls | grep -q '\.tmp\.' && fail "eval left a temporary file"
"$LNN" predict -m small.safetensors --states states.csv -o - --solver lu --precision f64 2>/dev/null >stdout.csv
[[ $(wc -l <stdout.csv) -eq 6 ]] || fail "eval --out -: expected 6 lines"
# Output through a symbolic link replaces its target and keeps the link; a
# FIFO is written into, never renamed over.
ln -s target.csv link.csv
"$LNN" predict -m small.safetensors --states states.csv -o link.csv --solver lu 2>/dev/null
[[ -L link.csv && $(wc -l <target.csv) -eq 6 ]] || fail "eval --out through a symbolic link"
mkfifo out.fifo
timeout 60 cat out.fifo >fifo.csv &
"$LNN" predict -m small.safetensors --states states.csv -o out.fifo --solver lu 2>/dev/null
wait $! || fail "eval --out FIFO: the reader failed"
[[ -p out.fifo && $(wc -l <fifo.csv) -eq 6 ]] || fail "eval --out FIFO"
"$LNN" predict -m small.safetensors --states states.csv -o /dev/stdout --solver lu 2>/dev/null >devout.csv
[[ $(wc -l <devout.csv) -eq 6 ]] || fail "eval --out /dev/stdout"
expect_fail "not a regular file" "$LNN" init --out out.fifo --hidden 4
"$LNN" throughput --hidden 8 --batch 64 --repeat 2 >tp.txt
grep -q 'median' tp.txt || fail "throughput: no median: $(cat tp.txt)"
"$LNN" throughput --model small.safetensors --batch 32 --repeat 1 --what grad --precision f64 \
  --solver lu >tp.txt
grep -q 'median' tp.txt || fail "throughput --what grad: $(cat tp.txt)"

# ---- a model written by hand, checked against an independent computation ----
step "hand-written model"
python3 - <<'EOF'
import json, math, struct

# n = 1, plain embedding, hidden 3, softplus: z0 = [q, qdot].
W = [[0.5, 0.7], [-0.3, 1.1], [0.8, -0.6]]    # layers.0.weight [3, 2]
b = [0.1, -0.2, 0.05]                          # layers.0.bias   [3]
w = [0.9, 1.3, 0.4]                            # output.weight   [1, 3]
c = 0.25                                       # output.bias     [1]
tensors = {
    "layers.0.weight": ([3, 2], [x for row in W for x in row]),
    "layers.0.bias": ([3], b),
    "output.weight": ([1, 3], w),
    "output.bias": ([1], [c]),
}
header = {"__metadata__": {"lnn.format": "lnn-model", "lnn.format_version": "1", "lnn.n": "1",
                           "lnn.hidden": "3", "lnn.activation": "softplus",
                           "lnn.embedding": "plain"}}
data = b""
for name, (shape, values) in tensors.items():
    blob = struct.pack("<%dd" % len(values), *values)
    header[name] = {"dtype": "F64", "shape": shape,
                    "data_offsets": [len(data), len(data) + len(blob)]}
    data += blob
text = json.dumps(header).encode()
text += b" " * (-(8 + len(text)) % 8)
with open("hand.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)

sig = lambda a: 1.0 / (1.0 + math.exp(-a))
softplus = lambda a: math.log1p(math.exp(a))
rows = []
for q, v, tau in [(0.3, -0.7, 0.0), (-1.2, 2.5, 0.75)]:
    a = [W[i][0] * q + W[i][1] * v + b[i] for i in range(3)]
    s1 = [sig(x) for x in a]
    s2 = [sig(x) * (1.0 - sig(x)) for x in a]
    M = sum(w[i] * s2[i] * W[i][1] ** 2 for i in range(3))
    Cv = sum(w[i] * s2[i] * W[i][1] * W[i][0] * v for i in range(3))
    f = sum(w[i] * s1[i] * W[i][0] for i in range(3))
    L = sum(w[i] * softplus(a[i]) for i in range(3)) + c
    dL_dv = sum(w[i] * s1[i] * W[i][1] for i in range(3))
    rows.append({"q": q, "v": v, "tau": tau, "qdd": (f - Cv + tau) / M, "E": v * dL_dv - L})
json.dump(rows, open("expected.json", "w"))
with open("hand_states.csv", "w") as f:
    f.write("".join("%r,%r\n" % (r["q"], r["v"]) for r in rows))
with open("hand_tau.csv", "w") as f:
    f.write("".join("%r\n" % r["tau"] for r in rows))
EOF
"$LNN" predict --model hand.safetensors --states hand_states.csv --tau hand_tau.csv --out hand.csv 2>/dev/null
"$LNN" predict --model hand.safetensors --states hand_states.csv --tau hand_tau.csv --out hand32.csv \
  --precision f32 2>/dev/null
python3 - <<'EOF' || fail "hand-written model: wrong result"
import csv, json
expected = json.load(open("expected.json"))
for path, tol in [("hand.csv", 1e-10), ("hand32.csv", 1e-4)]:
    got = list(csv.DictReader(open(path)))
    assert len(got) == len(expected), (path, got)
    for g, e in zip(got, expected):
        assert g["status"] == "ok", (path, g)
        for key, ref in [("qdd_1", e["qdd"]), ("energy", e["E"])]:
            val = float(g[key])
            err = abs(val - ref) / max(abs(ref), 1e-300)
            assert err <= tol, "%s %s: got %r expected %r (rel err %.3g)" % (path, key, val, ref, err)
EOF

# ---- error paths --------------------------------------------------------------
step "error paths"
expect_fail "missing.safetensors" "$LNN" predict --model missing.safetensors --states states.csv --out o.csv
printf 'q1,q2,qd1,qd2\n0,0,0,0\n1,2,oops,4\n' >bad_row.csv
expect_fail "line 3" "$LNN" predict --model small.safetensors --states bad_row.csv --out o.csv
expect_fail "bad_row.csv" "$LNN" predict --model small.safetensors --states bad_row.csv --out o.csv
printf '0,0,0,0\n1,2,3\n' >short_row.csv
expect_fail "short_row.csv: line 2" "$LNN" predict -m small.safetensors --states short_row.csv -o o.csv
: >empty.csv
expect_fail "empty.csv" "$LNN" predict --model small.safetensors --states empty.csv --out o.csv
printf '0.5\n' >tau_short.csv
expect_fail "tau_short.csv" "$LNN" predict -m small.safetensors --states states.csv --tau tau_short.csv -o o.csv
expect_fail "nope" "$LNN" predict --model small.safetensors --states states.csv --out o.csv --solver nope
expect_fail "second derivative" "$LNN" init --out relu.safetensors --activation relu
[[ ! -e relu.safetensors ]] || fail "init --activation relu wrote a file"
expect_fail "states.csv" "$LNN" predict --model states.csv --states states.csv --out o.csv
[[ ! -e o.csv ]] || fail "a failed eval wrote its output"

echo "cli_test: all checks passed"
