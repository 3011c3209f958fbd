#!/usr/bin/env bash
# The job scripts, the demo and these tests pass shellcheck; skipped (77)
# when shellcheck is not installed.
#
# usage: shellcheck.sh SOURCE_DIR
set -u
top=$1
command -v shellcheck > /dev/null || { echo "shellcheck is not installed: skipped"; exit 77; }
cd "$top" || exit 1
files=(jobs/local/run.sh jobs/slurm/*.sh jobs/slurm/*.sbatch scripts/demo.sh scripts/launcher.sh tests/apps/*.sh tests/scripts/*.sh)
shellcheck -x "${files[@]}" && echo "shellcheck.sh: ${#files[@]} files clean"
