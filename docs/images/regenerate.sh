#!/usr/bin/env sh
# Regenerates the figures in docs/clients.md from a running service (LAYERLENS_URL,
# default http://127.0.0.1:8000): every image here is the output of one `layerlens` command.
set -eu
# Without the console script installed: LAYERLENS="python -m clients.cli" (from the repo root).
layerlens() { ${LAYERLENS:-command layerlens} "$@"; }
out="$(dirname "$0")"
layerlens interpolate mnist-test:1 mnist-test:2 --plot "$out/interpolate-pixel.png"
layerlens interpolate mnist-test:1 mnist-test:2 --space embedding --start -1 --stop 2 --num 50 \
  --plot "$out/interpolate-embedding.png"
layerlens metrics digits --kind test --plot "$out/metrics-test.png"
layerlens metrics digits --kind history --plot "$out/metrics-history.png"
layerlens metrics digits --kind cross-dataset --plot "$out/cross-digits-on-fashion.png"
layerlens metrics fashion --kind cross-dataset --plot "$out/cross-fashion-on-digits.png"
layerlens weights digits --units 64 --plot "$out/weights-digits.png"
layerlens boundary xor --plot "$out/boundary-xor.png"
