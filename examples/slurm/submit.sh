#!/bin/bash
# Submit an exosim campaign to Slurm: N array tasks (one shard each), then
# a merge job that starts when all of them have succeeded.
#
#     examples/slurm/submit.sh campaigns/virtual_mice.toml results/virtual_mice 16
#
# The merged files, in OUT/merged, are the same bytes as
# `exosim run CAMPAIGN -o OUT/merged` on one machine. Set EXOSIM to the
# binary's path if `exosim` is not on the nodes' PATH.
set -euo pipefail

CAMPAIGN=${1:?usage: submit.sh CAMPAIGN OUT SHARDS}
OUT=${2:?usage: submit.sh CAMPAIGN OUT SHARDS}
SHARDS=${3:?usage: submit.sh CAMPAIGN OUT SHARDS}
HERE=$(cd "$(dirname "$0")" && pwd)

exosim validate "$CAMPAIGN"
ARRAY=$(sbatch --parsable --array=1-"$SHARDS" "$HERE/campaign.sh" "$CAMPAIGN" "$OUT")
sbatch --dependency=afterok:"$ARRAY" --cpus-per-task=1 --job-name=exosim-merge \
    --export=ALL,EXOSIM_MERGE=1 "$HERE/campaign.sh" "$CAMPAIGN" "$OUT"
echo "array job $ARRAY: $SHARDS shards into $OUT/parts; merge into $OUT/merged when all succeed"
