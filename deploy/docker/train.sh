#!/bin/sh
# One-shot trainer (the compose `trainer` service, the Kubernetes Job): migrate the metrics
# database, put the data sets in place and verify them, then train and evaluate every model
# that is missing. Idempotent: a re-run finds everything in place and exits 0 quickly.
# LAYERLENS_TRAIN_PROFILE=quick selects the tiny test profile; arguments are passed on to
# `layerlens-train train` (none: every model in the catalogue).
set -eu
log() { printf '[trainer] %s\n' "$*"; }

# The image carries the data set files (fetched at build time, so running needs no network).
# Seed the data directory from them - a volume, a bind mount or a PVC alike - never
# overwriting a file that is there: `layerlens-train fetch` verifies every one next.
baked=${LAYERLENS_BAKED_DATA_DIR:-/opt/layerlens/datasets}
data=${LAYERLENS_DATA_DIR:-data}
if [ -d "$baked" ] && [ "$baked" != "$data" ]; then
  log "seeding $data from $baked"
  (cd "$baked" && find . -type f) | while read -r file; do
    if [ ! -e "$data/$file" ]; then
      mkdir -p "$(dirname "$data/$file")"
      cp "$baked/$file" "$data/$file"
    fi
  done
fi

log "migrating the metrics database"
python -m core.db upgrade
log "verifying the data sets in $data"
layerlens-train fetch
log "training what is missing (profile ${LAYERLENS_TRAIN_PROFILE:-full})"
exec layerlens-train train "$@"
