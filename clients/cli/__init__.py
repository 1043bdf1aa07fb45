"""The `layerlens` command line: a thin layer over the SDK (``clients.Client``)."""

from clients.cli.app import app, main

__all__ = ["app", "main"]
