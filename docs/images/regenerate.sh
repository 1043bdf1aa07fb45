#!/usr/bin/env sh
# Regenerates the figures in docs/clients.md from a running service (LAYERLENS_URL,
# default http://127.0.0.1:8000): every image here is the output of one `layerlens` command,
# except the two digit PNGs, which are MNIST test examples 1 and 2 exactly as stored.
# Usage: docs/images/regenerate.sh [OUT_DIR]   (default: this folder)
set -eu
# Without the console script installed: LAYERLENS="python -m clients.cli" (from the repo root).
layerlens() { ${LAYERLENS:-command layerlens} "$@"; }
out="${1:-$(dirname "$0")}"
mkdir -p "$out"
${PYTHON:-python} - "$out" <<'PY'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from clients import Client

with Client() as client:  # the README's curl examples upload these
    for index, name in ((1, "digit-2.png"), (2, "digit-1.png")):
        pixels = client.dataset_example("mnist-test", index).instance.astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(Path(sys.argv[1]) / name, optimize=True)
PY
layerlens interpolate mnist-test:1 mnist-test:2 --plot "$out/interpolate-pixel.png"
layerlens interpolate mnist-test:1 mnist-test:2 --space embedding --start -1 --stop 2 --num 50 \
  --plot "$out/interpolate-embedding.png"
layerlens metrics digits --kind test --plot "$out/metrics-test.png"
layerlens metrics digits --kind history --plot "$out/metrics-history.png"
layerlens metrics digits --kind cross-dataset --plot "$out/cross-digits-on-fashion.png"
layerlens metrics fashion --kind cross-dataset --plot "$out/cross-fashion-on-digits.png"
layerlens weights digits --units 64 --plot "$out/weights-digits.png"
layerlens map digits --num 2000 --plot "$out/map-digits.png"
layerlens boundary xor --plot "$out/boundary-xor.png"
