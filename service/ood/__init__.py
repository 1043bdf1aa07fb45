"""The out-of-distribution verdict at the tensor level: the version's calibration in
memory (``shelf``) and the verdict of a run's outputs (``verdict``). Front doors ask the
run for ``needed_outputs`` and hand the result to ``verdicts_of``."""

from service.ood.shelf import CorruptCalibration, OodShelf
from service.ood.verdict import METHODS, choose_method, needed_outputs, score, verdicts, verdicts_of

__all__ = [
    "METHODS",
    "CorruptCalibration",
    "OodShelf",
    "choose_method",
    "needed_outputs",
    "score",
    "verdicts",
    "verdicts_of",
]
