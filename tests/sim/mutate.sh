#!/bin/sh
# Proves that the expectations of a scenario file are real: for every
# 'expect' line, each expected value is changed in turn (a number
# incremented, done <-> notdone, a phase swapped, an empty channel given a
# message, a variable dropped from a state), and the simulator must reject
# every mutated file.
# usage: mutate.sh MPISNAP_SIM SCENARIO
set -u
sim=$1
scenario=$2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

"$sim" "$scenario" >/dev/null || { echo "mutate.sh: $scenario fails unmutated"; exit 1; }

# Emit one mutated copy per (line, field) into $tmp/mut.N, using awk.
awk -v dir="$tmp" '
function emit(newline,   i, f) {
  n++
  f = dir "/mut." n
  for (i = 1; i <= NR_LINES; i++)
    print (i == target ? newline : lines[i]) > f
  close(f)
  printf "%d\t%d\t%s\n", n, target, newline > (dir "/index")
}
{ lines[NR] = $0 }
END {
  NR_LINES = NR
  for (target = 1; target <= NR; target++) {
    line = lines[target]
    sub(/#.*/, "", line)
    if (line !~ /^[ \t]*expect[ \t]/) continue
    nf = split(line, t, /[ \t]+/)
    # Re-split without leading empty field.
    if (t[1] == "") { for (i = 1; i < nf; i++) t[i] = t[i + 1]; nf-- }
    for (k = 2; k <= nf; k++) {
      v = t[k]; m = ""
      if (v ~ /^-?[0-9]+;?$/) { s = v; sub(/;$/, "", s); m = (s + 1) (v ~ /;$/ ? ";" : "") }
      else if (v ~ /=-?[0-9]+$/) { split(v, kv, "="); m = kv[1] "=" (kv[2] + 1) }
      else if (v == "done") m = "notdone"
      else if (v == "notdone") m = "done"
      else if (k == 4 && t[2] == "phase") m = (v == "pending" ? "recorded" : "pending")
      else if (v == "-") m = "set d 1"
      if (m == "") continue
      out = ""
      for (i = 1; i <= nf; i++) out = out (i > 1 ? " " : "") (i == k ? m : t[i])
      emit(out)
      if (t[2] == "state" && v ~ /=/) {
        out = ""
        for (i = 1; i <= nf; i++) if (i != k) out = out (i > 1 ? " " : "") t[i]
        emit(out)
      }
    }
  }
}' "$scenario"

total=0
missed=0
while IFS="$(printf '\t')" read -r n line text; do
  total=$((total + 1))
  if "$sim" "$tmp/mut.$n" >/dev/null 2>&1; then
    echo "mutate.sh: NOT detected: line $line changed to: $text"
    missed=$((missed + 1))
  fi
done < "$tmp/index"

if [ "$total" -eq 0 ]; then
  echo "mutate.sh: no expectations found in $scenario"
  exit 1
fi
echo "mutate.sh: $total mutations of $scenario, $((total - missed)) detected"
[ "$missed" -eq 0 ]
