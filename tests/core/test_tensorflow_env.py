"""The trainer and the service run TensorFlow with oneDNN's kernels unless told not to."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: What a fresh process reports: is oneDNN on once the package has been imported?
PROBE = """
import {package}
if "{package}" == "service":
    from core.settings import Settings
    from service.runtime.tf_config import configure_tensorflow
    configure_tensorflow(Settings())
from tensorflow.python.util import _pywrap_util_port
print(_pywrap_util_port.IsMklEnabled())
"""


def _onednn_on(package: str, **env: str) -> bool:
    environment = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    environment.update(env, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(package=package)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize("package", ["training", "service"])
def test_onednn_kernels_are_on_by_default(package: str) -> None:
    assert _onednn_on(package)


def test_the_environment_can_turn_onednn_off() -> None:
    assert not _onednn_on("training", TF_ENABLE_ONEDNN_OPTS="0")
