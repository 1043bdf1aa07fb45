"""The one error an import raises: the file is refused, with the reason in words."""

from __future__ import annotations


class ImportRefused(ValueError):
    """The model file cannot become a version; the message names why (and the repository is
    left as it was)."""
