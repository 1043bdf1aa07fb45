#!/usr/bin/env bash
# `make run`'s last step: serve now, and train the models still missing beside the service.
#
# The trainer runs in the background at a lower CPU priority (requests come first), its
# output in $TRAIN_LOG; while it runs, MODELS_DIR/.training.json lists what it will still
# train, which GET /v1/models and `layerlens models` report. The service loads each new
# model by its own periodic reload (LAYERLENS_RELOAD_INTERVAL_S), without a restart.
# Ctrl-C (or the service stopping for any reason) stops the trainer too.
#
# Environment: BIN (the virtualenv's bin folder), TRAIN_LOG; the service's own settings.
set -uo pipefail

BIN=${BIN:-.venv/bin}
TRAIN_LOG=${TRAIN_LOG:-var/train.log}
mkdir -p "$(dirname "$TRAIN_LOG")"

# A background job of a non-interactive shell ignores SIGINT, so Ctrl-C alone would leave
# the trainer running: stop it (SIGTERM, which it turns into a clean stop) on the way out.
nice -n 10 "$BIN/layerlens-train" train >"$TRAIN_LOG" 2>&1 &
trainer=$!
stop_trainer() {
    if kill -0 "$trainer" 2>/dev/null; then
        kill -TERM "$trainer" 2>/dev/null
        wait "$trainer" 2>/dev/null
        echo "background training stopped; the next \`make run\` carries on where it left off"
    fi
}
trap stop_trainer EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "serving now; any model still missing trains in the background (log: $TRAIN_LOG)"
echo "and is served as it lands: GET /v1/models (or \`layerlens models\`) lists those still training"
"$BIN/layerlens-serve"
