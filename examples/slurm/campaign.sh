#!/bin/bash
# One shard of an exosim campaign, as a task of a Slurm job array; or,
# with EXOSIM_MERGE=1, the merge of every shard. Submit both with
# examples/slurm/submit.sh, which makes the merge wait for the array.
#
# A task runs `exosim run CAMPAIGN --shard I/N -o OUT/parts/I` with
# I = SLURM_ARRAY_TASK_ID and N = SLURM_ARRAY_TASK_COUNT. A task that was
# killed (time limit, node failure) resumes from its journal when it runs
# again (`scontrol requeue`, or the same sbatch line with --array=I).
#
#SBATCH --job-name=exosim-campaign
#SBATCH --cpus-per-task=4
#SBATCH --time=01:00:00
#SBATCH --output=exosim-%A_%a.log
set -euo pipefail

CAMPAIGN=${1:?usage: campaign.sh CAMPAIGN OUT}
OUT=${2:?usage: campaign.sh CAMPAIGN OUT}
EXOSIM=${EXOSIM:-exosim}

if [[ "${EXOSIM_MERGE:-0}" == 1 ]]; then
    exec "$EXOSIM" merge "$OUT"/parts/* -o "$OUT"/merged
fi
I=${SLURM_ARRAY_TASK_ID:?submit with sbatch --array=1-N}
N=${SLURM_ARRAY_TASK_COUNT:?submit with sbatch --array=1-N}
exec "$EXOSIM" run "$CAMPAIGN" --shard "$I/$N" -o "$OUT/parts/$I" \
    --threads "${SLURM_CPUS_PER_TASK:-1}"
