"""Bring your own model: ``layerlens-train import`` (see ``importing.import_model``)."""

from training.importer.contract_options import ImportOptions
from training.importer.errors import ImportRefused
from training.importer.importing import import_model

__all__ = ["ImportOptions", "ImportRefused", "import_model"]
