#!/usr/bin/env bash
# Runs every shipped study (studies/*.toml) with two exosim binaries and
# compares every file they write, byte for byte.
#
#   scripts/compare-runs.sh OLD_BINARY NEW_BINARY [STUDY...]
#
# Prints one line per study: "same" or the files that differ. Exits 1 when
# any output differs. The outputs stay in a temporary directory (printed)
# for inspection. A run takes the study's own time: the tissue studies
# (dish_uptake, tumour_nk) take minutes.
set -euo pipefail
old=$1 new=$2
shift 2
cd "$(dirname "$0")/.."
studies=("$@")
if [ ${#studies[@]} -eq 0 ]; then studies=(studies/*.toml); fi
work=$(mktemp -d)
echo "outputs in $work"
status=0
for study in "${studies[@]}"; do
    name=$(basename "$study" .toml)
    "$old" run "$study" -o "$work/old/$name" --quiet >/dev/null
    "$new" run "$study" -o "$work/new/$name" --quiet >/dev/null
    if diff -r -q "$work/old/$name" "$work/new/$name" >"$work/$name.diff"; then
        echo "$name: same ($(find "$work/new/$name" -type f | wc -l) files)"
    else
        echo "$name: DIFFERENT"
        sed 's/^/    /' "$work/$name.diff"
        status=1
    fi
done
exit $status
