#!/usr/bin/env bash
# Measures what a body study at the arm limit (MAX_ARM_CLASSES = 1000
# arm × class systems) needs: a mouse study of 1000 arms, one class each,
# 48 h at a 1-minute output interval (2881 rows: 46 million numbers in the
# output table, just under MAX_OUTPUT_CELLS), run with `--report`.
#
#   scripts/arm-limit.sh [EXOSIM_BINARY]
#
# Prints the wall time, the peak resident memory (GNU time) and the size of
# every file written. docs/study-format.md ("Limits") quotes its figures.
set -euo pipefail
exosim=${1:-target/release/exosim}
work=$(mktemp -d)
study="$work/arm_limit.toml"
cat >"$study" <<'TOML'
[study]
name = "arm_limit"
seed = 1
duration = "48 h"
output_interval = "1 min"

[body]
species = "mouse"

[[vesicles]]
name = "sEV"
diameter = "100 nm"
TOML
for i in $(seq 0 999); do
    printf '\n[[arms]]\nname = "a%d"\n[[arms.doses]]\nvesicles = "sEV"\nroute = "iv_bolus"\namount = %d00000000\n' "$i" $((i + 1)) >>"$study"
done
/usr/bin/time -f "wall %e s, peak resident memory %M KiB" \
    "$exosim" run "$study" -o "$work/out" --report --quiet >/dev/null
du -b "$work"/out/* | sort -n
du -sh "$work/out"
rm -rf "$work"
